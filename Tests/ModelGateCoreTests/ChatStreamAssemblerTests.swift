import ModelGateCore
import Testing

@Suite("Assembling stream events into chunks")
struct ChatStreamAssemblerTests {
    @Test("chunks are numbered without gaps; the first names the response; the final carries the rest")
    func numberingAndFinal() {
        var assembler = ChatStreamAssembler(
            provider: "p", model: "configured", pricing: Pricing(inputPerMillion: 1, outputPerMillion: 2))
        #expect(assembler.consume(.started(id: "r1", model: "m-2024")) == nil)
        let first = assembler.consume(.delta(ChatDelta(text: "Hel")))
        #expect(first == ChatChunk(sequence: 0, text: "Hel", id: "r1", model: "m-2024", provider: "p"))
        #expect(assembler.consume(.delta(ChatDelta())) == nil, "empty deltas produce no chunk")
        #expect(assembler.consume(.delta(ChatDelta(text: "lo"))) == ChatChunk(sequence: 1, text: "lo"))
        #expect(assembler.consume(.finished(.stop, providerReason: "stop")) == nil)
        #expect(assembler.consume(.usage(Usage(inputTokens: 1, outputTokens: 9, source: .provider))) == nil)
        #expect(assembler.consume(.usage(Usage(inputTokens: 10, outputTokens: 2, source: .provider))) == nil)
        let final = assembler.finalChunk(error: nil)
        #expect(final.sequence == 2 && final.isFinal && final.finishReason == .stop)
        #expect(final.usage == Usage(inputTokens: 10, outputTokens: 2, source: .provider, costUSD: 14e-6, deliveredChunks: 2))
    }

    @Test("tool-call fragments are assembled by index, in order of first appearance")
    func toolCalls() {
        var assembler = ChatStreamAssembler(provider: "p", model: "m")
        _ = assembler.consume(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: 1, id: "b", name: "g", argumentsFragment: "{")])))
        _ = assembler.consume(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, id: "a", name: "f", argumentsFragment: "{}")])))
        _ = assembler.consume(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: 1, argumentsFragment: "\"x\":1}")])))
        #expect(
            assembler.finalChunk(error: nil).toolCalls == [
                ToolCall(id: "b", name: "g", argumentsJSON: "{\"x\":1}"), ToolCall(id: "a", name: "f", argumentsJSON: "{}"),
            ])
    }

    @Test("a failed stream reports no usage as not reported, never as an estimate")
    func failureWithoutUsage() {
        var assembler = ChatStreamAssembler(provider: "p", model: "m", pricing: Pricing(inputPerMillion: 1, outputPerMillion: 1))
        _ = assembler.consume(.delta(ChatDelta(text: "a")))
        let final = assembler.finalChunk(error: GatewayError(.unavailable, .upstreamTruncated, "cut"))
        #expect(final.finishReason == .error)
        #expect(final.usage == Usage(source: .notReported, deliveredChunks: 1))
        #expect(final.usage?.costUSD == nil)
        var cancelled = ChatStreamAssembler(provider: "p", model: "m")
        #expect(cancelled.finalChunk(error: .cancelled()).finishReason == .cancelled)
        #expect(cancelled.deliveredChunks == 1)
    }

    @Test func unaryResponse() {
        var assembler = ChatStreamAssembler(provider: "p", model: "m", accumulatesText: true)
        _ = assembler.consume(.delta(ChatDelta(text: "a", reasoning: "r")))
        _ = assembler.consume(.delta(ChatDelta(text: "b")))
        _ = assembler.consume(.finished(.length, providerReason: "length"))
        let response = assembler.response()
        #expect(response.text == "ab" && response.reasoning == "r" && response.finishReason == .length)
        #expect(response.usage == .notReported)
    }

    @Test func registryResolvesNamesAndAliases() throws {
        struct Dummy: ModelProvider {
            let name = "d"
            func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws -> ChatResponse {
                ChatResponse()
            }
            func chatStream(_ request: ChatRequest, deployment: Deployment, context: CallContext, into sink: any ChatEventSink)
                async throws
            {}
        }
        var registry = ModelRegistry()
        try registry.register(ServedModel(name: "m", aliases: ["alias"], deployments: [Deployment(modelName: "m", upstreamModel: "u", provider: Dummy())]))
        #expect(try registry.deployment(for: "alias", kind: .chat).upstreamModel == "u")
        #expect(throws: GatewayError.unknownModel("x")) { try registry.resolve("x") }
        #expect(throws: RegistryError.self) { try registry.register(ServedModel(name: "alias", deployments: [])) }
        let wrongKind = #expect(throws: GatewayError.self) { try registry.deployment(for: "m", kind: .embedding) }
        #expect(wrongKind?.code == .invalidArgument)
    }
}
