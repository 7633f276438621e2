import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateJSON
import ModelGateTestSupport
import Testing

/// The Gemini adapter end to end: the real gateway, libcurl and the real fake upstream
/// speaking Gemini on `/v1beta/models/{model}:{method}`.
@Suite("Gemini end to end", .serialized)
struct GeminiTests {
    static let apiKey = "AIzaSyE2E-test-key-0123456789abcdef"
    static let keyVariable = "MODELGATE_TEST_GEMINI_KEY"

    private func setup(
        _ models: [String: String], embeddingModels: [String: String] = [:], idleTimeoutMilliseconds: Int? = nil
    ) throws -> ProviderSetup {
        setenv(Self.keyVariable, Self.apiKey, 1)
        return try ProviderSetup(
            kind: "gemini", models: models, embeddingModels: embeddingModels,
            providerOptions: "    api_key_env: \(Self.keyVariable)\n", idleTimeoutMilliseconds: idleTimeoutMilliseconds)
    }

    // MARK: Recorded streams, replayed byte for byte

    @Test("the text stream: text, usage, finish reason; the request as sent")
    func replayedTextStream() async throws {
        let setup = try setup(["gem": "replay=gemini_stream.sse;chunk=9"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(
            try await client.chatStream(userMessage("capital of Wyoming?", model: "gem"), options: CallOptions(requestID: "g-text")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "The capital of Wyoming is **Cheyenne**.\n")
        #expect(chunks.map(\.sequence) == Array(0..<UInt64(chunks.count)))
        #expect(chunks.first?.model == "gemini-2.0-flash" && chunks.first?.provider == "up")
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .stop && final.providerFinishReason == "STOP")
        let usage = try #require(final.usage)
        #expect(usage.inputTokens == 7 && usage.outputTokens == 10 && usage.totalTokens == 17)
        #expect(usage.reasoningTokens == 0 && usage.cachedInputTokens == 0 && usage.source == .provider)
        #expect(usage.costUSD == (7.0 * 1 + 10.0 * 4) / 1_000_000)

        let event = try #require(try setup.upstream.events(requestID: "g-text").first)
        #expect(event.path == "/v1beta/models/replay%3Dgemini_stream.sse%3Bchunk%3D9:streamGenerateContent?alt=sse")
        #expect(event.scenario == "replay=gemini_stream.sse;chunk=9")
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.header("x-goog-api-key") == Self.apiKey)
        #expect(sent.header("authorization") == nil)
        #expect(sent.header("accept") == "text/event-stream")
        #expect(sent.header("x-request-id") == "g-text")
        #expect(sent.body == #"{"contents":[{"role":"user","parts":[{"text":"capital of Wyoming?"}]}]}"#)
        await client.close()
    }

    @Test("thoughts become reasoning; the whole function call is one delta and the final call")
    func replayedThinkingFunctionCall() async throws {
        let setup = try setup(["gem": "replay=gemini_stream_thinking_function_call.sse;chunk=100"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("days to new year?", model: "gem")))
        #expect(error == nil)
        let reasoning = chunks.map(\.reasoning).joined()
        #expect(reasoning.hasPrefix("**Calculating the Days**\n\nI've determined the user's request"))
        #expect(reasoning.hasSuffix("I'll calculate this myself after getting today's date.\n\n\n"))
        #expect(reasoning.utf8.count == 765)
        #expect(chunks.map(\.text).joined() == "")
        #expect(chunks.first?.id == "48SHaPHpHKbG-8YPtZCawAk" && chunks.first?.model == "gemini-2.5-flash")
        #expect(
            chunks.flatMap(\.toolCallDeltas)
                == [ToolCallDelta(index: 0, id: "gemini_call_0", name: "now", argumentsFragment: "{}")])
        let final = try #require(chunks.last)
        #expect(final.toolCalls == [ToolCall(id: "gemini_call_0", name: "now", argumentsJSON: "{}")])
        #expect(final.finishReason == .toolCalls && final.providerFinishReason == "STOP")
        let usage = try #require(final.usage)
        #expect(usage.inputTokens == 38 && usage.outputTokens == 174 && usage.reasoningTokens == 168)
        #expect(usage.totalTokens == 212)
        await client.close()
    }

    @Test("a Vertex function call: arguments parsed field by field")
    func replayedVertexFunctionCall() async throws {
        let setup = try setup(["gem": "replay=gemini_vertex_stream_function_call.sse;chunk=7"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("temperature?", model: "gem")))
        #expect(error == nil)
        let final = try #require(chunks.last)
        let call = try #require(final.toolCalls.first)
        #expect(final.toolCalls.count == 1)
        #expect(call.id == "gemini_call_0" && call.name == "getTemperature")
        let arguments = try JSONDocument(parsing: call.argumentsJSON).root
        #expect(arguments.count == 1 && arguments["city"].string == "San Jose")
        #expect(final.finishReason == .toolCalls)
        #expect(final.usage?.source == .notReported)
        await client.close()
    }

    @Test("a bare JSON error after two events fails the stream after its output")
    func replayedMidStreamError() async throws {
        let setup = try setup(["gem": "replay=gemini_vertex_stream_error_mid_stream.txt;chunk=50"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("x", model: "gem")))
        let failure = try #require(error)
        #expect(failure.code == .unavailable)
        #expect(failure.detail.kind == .upstreamUnavailable)
        #expect(failure.detail.upstreamCode == "CANCELLED")
        #expect(failure.detail.upstreamMessage == "The operation was cancelled.")
        #expect(failure.detail.provider == "up")
        #expect(failure.detail.retryable == false, "output was delivered")
        #expect(chunks.map(\.text).joined() == "First Second ")
        #expect(chunks.last?.isFinal == true && chunks.last?.finishReason == .error)
        await client.close()
    }

    @Test("unary: the recorded answer, and the recorded invalid-key error")
    func replayedUnaryAnswerAndError() async throws {
        let setup = try setup([
            "gem": "replay=gemini_generate_content.json", "bad-key": "replay=gemini_error_api_key.json;status=400",
        ])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let response = try await client.chat(userMessage("Where is Google's headquarters?", model: "gem"))
        #expect(response.text == "Google's headquarters, also known as the Googleplex, is located in **Mountain View, California**.\n")
        #expect(response.model == "gemini-2.0-flash" && response.provider == "up")
        #expect(response.finishReason == .stop && response.providerFinishReason == "STOP")
        #expect(response.usage.inputTokens == 7 && response.usage.outputTokens == 22 && response.usage.totalTokens == 29)

        let error = await #expect(throws: GatewayError.self) { _ = try await client.chat(userMessage("x", model: "bad-key")) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.detail.kind == .upstreamAuth)
        #expect(error?.detail.upstreamStatus == 400)
        #expect(error?.detail.upstreamCode == "API_KEY_INVALID")
        #expect(error?.detail.upstreamMessage == "API key not valid. Please pass a valid API key.")
        #expect(error.map { !$0.message.contains(Self.apiKey) } == true)
        await client.close()
    }

    // MARK: Generated streams and faults

    @Test("a generated stream and a unary answer through the fake's Gemini wire format")
    func generated() async throws {
        let setup = try setup(["gem": "tokens=5"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let request = ChatRequest(
            model: "gem", messages: [ChatMessage(role: .system, text: "be brief"), ChatMessage(role: .user, text: "count to five")],
            temperature: 0, maxTokens: 16)
        let (chunks, error) = await collect(try await client.chatStream(request))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "tok1 tok2 tok3 tok4 tok5 ")
        #expect(chunks.last?.usage?.inputTokens == 5 && chunks.last?.usage?.outputTokens == 5)
        let response = try await client.chat(request, options: CallOptions(requestID: "g-unary"))
        #expect(response.text == "tok1 tok2 tok3 tok4 tok5 ")
        #expect(response.finishReason == .stop && response.usage.totalTokens == 10)
        let event = try #require(try setup.upstream.events(requestID: "g-unary").first)
        #expect(event.path == "/v1beta/models/tokens%3D5:generateContent")
        #expect(
            try setup.upstream.request(event.seq).body
                == #"{"contents":[{"role":"user","parts":[{"text":"count to five"}]}],"systemInstruction":{"parts":[{"text":"be brief"}]},"generationConfig":{"temperature":0.0,"maxOutputTokens":16}}"#
        )
        await client.close()
    }

    @Test(
        "upstream failures map to the documented status; none is OK",
        arguments: ProviderSetup.streamFaults + [
            ("status=429;retry_after=3", .resourceExhausted, .rateLimited, false),
            ("status=503", .unavailable, .upstreamUnavailable, false),
            ("status=403", .permissionDenied, .upstreamPermission, false),
            ("tokens=20;error_event_after=3;error_type=RESOURCE_EXHAUSTED", .resourceExhausted, .rateLimited, true),
        ])
    func upstreamFailures(scenario: String, code: StatusCode, kind: ErrorKind, partial: Bool) async throws {
        let setup = try setup(["gem": scenario], idleTimeoutMilliseconds: 400)
        defer { setup.stop() }
        let failure = try await setup.streamFailure(model: "gem", scenario: scenario, code: code, kind: kind, partial: partial)
        if scenario.hasPrefix("status=429") {
            // Google names the delay in the body's RetryInfo.
            #expect(failure.detail.retryAfterMilliseconds == 3000 && failure.detail.retryable)
        }
    }

    @Test("CANCEL mid-stream drops the upstream connection")
    func cancellation() async throws {
        let setup = try setup(["gem-slow": "tokens=1000;pace_ms=10"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let stream = try await client.chatStream(userMessage("long", model: "gem-slow"), options: CallOptions(requestID: "g-cancel"))
        var chunks = stream.makeAsyncIterator()
        for _ in 0..<5 { _ = try await chunks.next() }
        stream.call.cancel()
        let error = await #expect(throws: GatewayError.self) { while try await chunks.next() != nil {} }
        #expect(error?.code == .cancelled)
        #expect(try setup.upstream.waitForOutcome(requestID: "g-cancel", "client_closed")?.outcome == "client_closed")
        await client.close()
    }

    @Test("embeddings: one input via embedContent, several via batchEmbedContents")
    func embeddings() async throws {
        let setup = try setup([:], embeddingModels: ["emb": "gemini-embedding-001"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let batch = try await client.embed(
            EmbedRequest(model: "emb", inputs: ["a b", "c"], dimensions: 3), options: CallOptions(requestID: "g-batch"))
        #expect(batch.embeddings.map(\.index) == [0, 1])
        #expect(batch.embeddings[1].values == [0.002, 0.004, 0.006])
        #expect(batch.usage.source == .notReported)
        let one = try await client.embed(EmbedRequest(model: "emb", inputs: ["x"]), options: CallOptions(requestID: "g-one"))
        #expect(one.embeddings.first?.values.count == 8)
        #expect(try setup.upstream.events(requestID: "g-batch").first?.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents")
        #expect(try setup.upstream.events(requestID: "g-one").first?.path == "/v1beta/models/gemini-embedding-001:embedContent")
        await client.close()
    }
}
