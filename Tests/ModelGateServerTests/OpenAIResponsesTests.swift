import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateJSON
import ModelGateTestSupport
import Testing

/// `kind: openai` with `api: responses` end to end: the real gateway, libcurl and the real
/// fake upstream speaking the Responses API on `/v1/responses`.
@Suite("OpenAI Responses API end to end", .serialized)
struct OpenAIResponsesTests {
    static let apiKey = "sk-e2e-responses-0123456789abcdef"
    static let keyVariable = "MODELGATE_TEST_OPENAI_KEY"

    private func setup(_ models: [String: String], idleTimeoutMilliseconds: Int? = nil) throws -> ProviderSetup {
        setenv(Self.keyVariable, Self.apiKey, 1)
        return try ProviderSetup(
            kind: "openai", models: models, providerOptions: "    api_key_env: \(Self.keyVariable)\n    api: responses\n",
            idleTimeoutMilliseconds: idleTimeoutMilliseconds, basePath: "/v1")
    }

    @Test("the documented stream replayed: text, usage, finish; the request as sent")
    func replayedFixture() async throws {
        let setup = try setup(["resp": "replay=openai_responses_stream.sse;chunk=7"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(
            try await client.chatStream(userMessage("hi", model: "resp"), options: CallOptions(requestID: "r-fixture")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "Hi there! How can I assist you today?")
        #expect(chunks.map(\.sequence) == Array(0..<UInt64(chunks.count)))
        #expect(chunks.first?.id == "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654")
        #expect(chunks.first?.model == "gpt-5.4" && chunks.first?.provider == "up")
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .stop && final.providerFinishReason == "completed")
        let usage = try #require(final.usage)
        #expect(usage.inputTokens == 37 && usage.outputTokens == 11 && usage.totalTokens == 48)
        #expect(usage.reasoningTokens == 0 && usage.cachedInputTokens == 0 && usage.source == .provider)
        #expect(usage.costUSD == (37.0 * 1 + 11.0 * 4) / 1_000_000)

        let event = try #require(try setup.upstream.events(requestID: "r-fixture").first)
        #expect(event.path == "/v1/responses")
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.header("authorization") == "Bearer \(Self.apiKey)")
        #expect(sent.header("accept") == "text/event-stream")
        #expect(
            sent.body
                == #"{"model":"replay=openai_responses_stream.sse;chunk=7","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}],"store":false,"stream":true}"#
        )
        await client.close()
    }

    @Test("a tool call stream: fragments relayed as deltas and assembled; the request with tools")
    func toolCallStream() async throws {
        let setup = try setup(["resp": "tokens=2;tool_call"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let request = ChatRequest(
            model: "resp",
            messages: [ChatMessage(role: .system, text: "use tools"), ChatMessage(role: .user, text: "weather in Paris")],
            tools: [
                ToolDefinition(
                    name: "get_weather", parametersJSON: #"{"type":"object","properties":{"city":{"type":"string"}}}"#)
            ],
            toolChoice: .auto, temperature: 0.5, maxTokens: 50)
        let (chunks, error) = await collect(try await client.chatStream(request, options: CallOptions(requestID: "r-tool")))
        #expect(error == nil)
        let event = try #require(try setup.upstream.events(requestID: "r-tool").first)
        #expect(chunks.map(\.text).joined() == "tok1 tok2 ")
        #expect(
            chunks.flatMap(\.toolCallDeltas) == [
                ToolCallDelta(index: 0, id: "call_fake\(event.seq)", name: "get_weather"),
                ToolCallDelta(index: 0, argumentsFragment: #"{"city":"#),
                ToolCallDelta(index: 0, argumentsFragment: #""Paris"}"#),
            ])
        let final = try #require(chunks.last)
        let call = try #require(final.toolCalls.first)
        #expect(final.toolCalls.count == 1 && call.name == "get_weather" && call.id == "call_fake\(event.seq)")
        #expect(try JSONDocument(parsing: call.argumentsJSON).root["city"].string == "Paris")
        #expect(final.finishReason == .toolCalls && final.providerFinishReason == "completed")
        #expect(final.usage?.inputTokens == 5 && final.usage?.outputTokens == 7 && final.usage?.totalTokens == 12)
        #expect(
            try setup.upstream.request(event.seq).body
                == #"{"model":"tokens=2;tool_call","instructions":"use tools","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"weather in Paris"}]}],"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":false}],"tool_choice":"auto","temperature":0.5,"max_output_tokens":50,"store":false,"stream":true}"#
        )
        await client.close()
    }

    @Test("unary answers through the same assembly, and an incomplete response's finish")
    func unaryAndIncomplete() async throws {
        let setup = try setup(["resp": "tokens=4", "short": "tokens=3;finish_reason=max_output_tokens"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let response = try await client.chat(userMessage("say four", model: "resp"), options: CallOptions(requestID: "r-unary"))
        let event = try #require(try setup.upstream.events(requestID: "r-unary").first)
        #expect(response.text == "tok1 tok2 tok3 tok4 " && response.id == "resp_fake\(event.seq)")
        #expect(response.finishReason == .stop && response.providerFinishReason == "completed")
        #expect(response.usage.inputTokens == 2 && response.usage.outputTokens == 4 && response.usage.totalTokens == 6)
        #expect(try setup.upstream.request(event.seq).body.hasSuffix(#""store":false,"stream":false}"#))

        let (chunks, error) = await collect(try await client.chatStream(userMessage("x", model: "short")))
        #expect(error == nil, "an incomplete response is a finished one")
        #expect(chunks.map(\.text).joined() == "tok1 tok2 tok3 ")
        #expect(chunks.last?.finishReason == .length && chunks.last?.providerFinishReason == "max_output_tokens")
        let unary = try await client.chat(userMessage("x", model: "short"))
        #expect(unary.finishReason == .length && unary.text == "tok1 tok2 tok3 ")
        await client.close()
    }

    @Test(
        "upstream failures map to the documented status; a cut or failed stream is never OK",
        arguments: ProviderSetup.streamFaults + [
            ("status=429;retry_after=2", .resourceExhausted, .rateLimited, false),
            ("status=500", .unavailable, .upstreamUnavailable, false),
            ("tokens=20;error_event_after=3", .unavailable, .upstreamUnavailable, true),
            ("tokens=20;error_event_after=3;error_code=rate_limit_exceeded", .resourceExhausted, .rateLimited, true),
            ("replay=openai_responses_stream.sse;chunk=100;reset_after=25", .unavailable, .upstreamTruncated, true),
        ])
    func upstreamFailures(scenario: String, code: StatusCode, kind: ErrorKind, partial: Bool) async throws {
        let setup = try setup(["resp": scenario], idleTimeoutMilliseconds: 400)
        defer { setup.stop() }
        let failure = try await setup.streamFailure(model: "resp", scenario: scenario, code: code, kind: kind, partial: partial)
        if scenario.hasPrefix("status=429") {
            #expect(failure.detail.retryAfterMilliseconds == 2000 && failure.detail.retryable)
        }
        if scenario.contains("error_event_after") {
            #expect(failure.message.contains("mid-stream"))
        }
    }

    @Test("a cut stream ends UNAVAILABLE after its output, its final chunk counting what was delivered")
    func truncationReportsDeliveredChunks() async throws {
        let setup = try setup(["cut": "tokens=6;reset_after=4"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("x", model: "cut")))
        #expect(error?.code == .unavailable && error?.detail.kind == .upstreamTruncated)
        #expect(chunks.dropLast().map(\.text).joined() == "tok1 tok2 tok3 tok4 ")
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .error)
        #expect(final.usage?.deliveredChunks == 4 && final.usage?.source == .notReported)
        await client.close()
    }

    @Test("CANCEL mid-stream drops the upstream connection")
    func cancellation() async throws {
        let setup = try setup(["slow": "tokens=1000;pace_ms=10"])
        defer { setup.stop() }
        try await setup.expectCancellationReachesTheUpstream(model: "slow", requestID: "r-cancel")
    }
}
