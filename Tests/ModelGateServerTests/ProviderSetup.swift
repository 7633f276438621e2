import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateTestSupport
import Testing

/// A real gateway with one provider of `kind` pointed at a real fake upstream, for the
/// end-to-end tests of the adapters beyond OpenAI. Each chat model's upstream model is a
/// fake-upstream scenario.
struct ProviderSetup {
    static let providerName = "up"

    let upstream: FakeUpstreamProcess
    let gateway: GatewayProcess

    /// - Parameters:
    ///   - kind: the provider kind (`gemini`, `ollama`, …).
    ///   - models: model name → scenario (the upstream model id).
    ///   - embeddingModels: model name → upstream model, served as `kind: embedding`.
    ///   - providerOptions: more YAML lines of the provider (indented by four spaces).
    ///   - fixturesDirectory: where the fake upstream reads `replay=` files.
    ///   - basePath: appended to the fake's address in `base_url` (`/v1` for OpenAI).
    init(
        kind: String, models: [String: String], embeddingModels: [String: String] = [:], providerOptions: String = "",
        idleTimeoutMilliseconds: Int? = nil, fixturesDirectory: String = TestPaths.fixtures.path, basePath: String = ""
    ) throws {
        upstream = try FakeUpstreamProcess(fixturesDirectory: fixturesDirectory)
        var providers = "  \(Self.providerName):\n    kind: \(kind)\n    base_url: http://127.0.0.1:\(upstream.port)\(basePath)\n"
        providers += providerOptions
        if let idle = idleTimeoutMilliseconds { providers += "    timeouts:\n      idle_ms: \(idle)\n" }
        var modelsYAML = models.sorted { $0.key < $1.key }.map { name, scenario in
            "  \(name):\n    provider: \(Self.providerName)\n    upstream_model: \"\(scenario)\"\n    pricing: { input: 1, output: 4 }\n"
        }.joined()
        modelsYAML += embeddingModels.sorted { $0.key < $1.key }.map { name, model in
            "  \(name):\n    provider: \(Self.providerName)\n    kind: embedding\n    upstream_model: \"\(model)\"\n"
        }.joined()
        gateway = try GatewayProcess(providers: providers, models: modelsYAML)
    }

    func stop() {
        gateway.stop()
        upstream.stop()
    }
}

extension ProviderSetup {
    /// Stream faults every fake wire format injects the same way (`idle_ms: 400` makes the
    /// stall a timeout), and what each must become: none is OK, and output came first.
    static let streamFaults: [(String, StatusCode, ErrorKind, Bool)] = [
        ("tokens=20;reset_after=3", .unavailable, .upstreamTruncated, true),
        ("tokens=20;stall_after=3", .unavailable, .upstreamTimeout, true),
        ("tokens=20;no_done", .unavailable, .upstreamTruncated, true),
        ("tokens=20;malformed_after=3", .internal, .upstreamMalformed, true),
    ]

    /// Streams from `model` (scenario `scenario`) and checks the call fails with `code` and
    /// `kind`, from this provider, ending with a final chunk whose finish reason is error;
    /// when output was relayed first (`partial`), the error must not be retryable. Returns
    /// the error for further checks.
    func streamFailure(
        model: String, scenario: String, code: StatusCode, kind: ErrorKind, partial: Bool,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> GatewayError {
        let client = try await gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("x", model: model)))
        await client.close()
        let failure = try #require(error, "\(scenario) must not end OK", sourceLocation: sourceLocation)
        #expect(failure.code == code, "\(scenario): \(failure)", sourceLocation: sourceLocation)
        #expect(failure.detail.kind == kind, "\(scenario): \(failure.detail)", sourceLocation: sourceLocation)
        #expect(failure.detail.provider == Self.providerName, sourceLocation: sourceLocation)
        #expect(chunks.last?.isFinal == true && chunks.last?.finishReason == .error, sourceLocation: sourceLocation)
        if partial {
            #expect(chunks.count > 1, "\(scenario): output was relayed before the failure", sourceLocation: sourceLocation)
            #expect(failure.detail.retryable == false, "retrying would repeat delivered output", sourceLocation: sourceLocation)
        }
        return failure
    }
}

extension ProviderSetup {
    /// Streams a long answer from `model`, cancels after five chunks, and checks the call ends
    /// CANCELLED and the fake upstream saw the gateway drop the connection.
    func expectCancellationReachesTheUpstream(model: String, requestID: String, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let client = try await gateway.connect()
        let stream = try await client.chatStream(userMessage("long", model: model), options: CallOptions(requestID: requestID))
        var chunks = stream.makeAsyncIterator()
        for _ in 0..<5 { _ = try await chunks.next() }
        stream.call.cancel()
        let error = await #expect(throws: GatewayError.self, sourceLocation: sourceLocation) { while try await chunks.next() != nil {} }
        #expect(error?.code == .cancelled, sourceLocation: sourceLocation)
        #expect(
            try upstream.waitForOutcome(requestID: requestID, "client_closed")?.outcome == "client_closed",
            sourceLocation: sourceLocation)
        await client.close()
    }
}
