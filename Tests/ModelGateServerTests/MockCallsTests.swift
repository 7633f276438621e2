import ModelGateClient
import ModelGateCore
import ModelGateTestSupport
import Testing

/// The unary calls of the built-in mock provider, and the calls a provider does not offer,
/// against the real gateway.
@Suite("Mock embeddings and unsupported calls")
struct MockCallsTests {
    @Test("the mock model's embeddings are deterministic vectors, one per input, with the input words as usage")
    func mockEmbeddings() async throws {
        let gateway = try GatewayProcess(models: "  mock-embed:\n    provider: mock\n    kind: embedding\n")
        defer { gateway.stop() }
        let client = try await gateway.connect()
        let response = try await client.embed(
            EmbedRequest(model: "mock-embed", inputs: ["one two three", "four"], dimensions: 3))
        #expect(response.embeddings.map(\.index) == [0, 1])
        #expect(response.embeddings[0].values == [0.001, 0.002, 0.003])
        #expect(response.embeddings[1].values == [0.002, 0.004, 0.006])
        #expect(response.usage.inputTokens == 4)
        #expect(response.usage.source == .gateway)
        #expect(response.provider == "mock")

        let defaults = try await client.embed(EmbedRequest(model: "mock-embed", inputs: ["x"]))
        #expect(defaults.embeddings.first?.values.count == 8, "eight dimensions unless asked")
        await client.close()
    }

    @Test("a predict call to a provider without predictive models is INVALID_ARGUMENT / UNSUPPORTED_FEATURE")
    func predictUnsupported() async throws {
        let gateway = try GatewayProcess(models: "  mock-predict:\n    provider: mock\n    kind: predictive\n")
        defer { gateway.stop() }
        let client = try await gateway.connect()
        let request = PredictRequest(
            model: "mock-predict",
            inputs: [Tensor(name: "x", dataType: .fp32, shape: [1, 2], values: .fp32s([1, 2]))])
        do {
            _ = try await client.predict(request)
            Issue.record("predict succeeded on a provider without predictive models")
        } catch let error as GatewayError {
            #expect(error.code == .invalidArgument)
            #expect(error.detail.kind == .unsupportedFeature)
            #expect(error.detail.provider == "mock")
            #expect(error.message.contains("predict"))
        }

        // The same call on a chat model is refused before any provider sees it.
        do {
            _ = try await client.predict(PredictRequest(model: "mock", inputs: request.inputs))
            Issue.record("predict succeeded on a chat model")
        } catch let error as GatewayError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("is a chat model"))
        }
        await client.close()
    }
}
