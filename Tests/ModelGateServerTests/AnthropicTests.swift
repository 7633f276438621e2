import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateJSON
import ModelGateTestSupport
import Testing

/// The Anthropic adapter end to end: the real gateway, libcurl and the real fake upstream
/// speaking Anthropic's Messages API on `/v1/messages`.
@Suite("Anthropic end to end", .serialized)
struct AnthropicTests {
    static let apiKey = "sk-ant-api03-e2e-test-key-0123456789"
    static let keyVariable = "MODELGATE_TEST_ANTHROPIC_KEY"

    private func setup(
        _ models: [String: String], embeddingModels: [String: String] = [:], options: String = "",
        idleTimeoutMilliseconds: Int? = nil, fixturesDirectory: String = TestPaths.fixtures.path
    ) throws -> ProviderSetup {
        setenv(Self.keyVariable, Self.apiKey, 1)
        return try ProviderSetup(
            kind: "anthropic", models: models, embeddingModels: embeddingModels,
            providerOptions: "    api_key_env: \(Self.keyVariable)\n" + options, idleTimeoutMilliseconds: idleTimeoutMilliseconds,
            fixturesDirectory: fixturesDirectory)
    }

    /// A fixtures directory holding the two recorded streams with the blank line that
    /// terminates their last event, as Anthropic's servers send it (`terminated_*.sse`).
    private static func terminatedFixtures() throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("modelgate-anthropic-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["anthropic_messages_stream.sse", "anthropic_messages_stream_tool_use.sse"] {
            var bytes = try Data(contentsOf: TestPaths.fixtures.appendingPathComponent(name))
            bytes.append(contentsOf: Array("\n\n".utf8))
            try bytes.write(to: directory.appendingPathComponent("terminated_" + name))
        }
        return directory.path
    }

    // MARK: Recorded streams, replayed byte for byte

    @Test("the text stream as published: all output and usage delivered, then UPSTREAM_TRUNCATED; the request as sent")
    func replayedPublishedTextStream() async throws {
        let setup = try setup(["claude": "replay=anthropic_messages_stream.sse;chunk=9"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(
            try await client.chatStream(userMessage("Hello?", model: "claude"), options: CallOptions(requestID: "a-text")))
        let failure = try #require(error, "message_stop is never terminated: never OK")
        #expect(failure.code == .unavailable)
        #expect(failure.detail.kind == .upstreamTruncated)
        #expect(failure.detail.provider == "up")
        #expect(failure.detail.retryable == false, "output was delivered")
        #expect(chunks.map(\.text).joined() == "Hello there!")
        #expect(chunks.map(\.sequence) == Array(0..<UInt64(chunks.count)))
        #expect(chunks.first?.id == "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK")
        #expect(chunks.first?.model == "claude-3-opus-latest" && chunks.first?.provider == "up")
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .error && final.providerFinishReason == "end_turn")
        let usage = try #require(final.usage)
        #expect(usage.inputTokens == 11 && usage.outputTokens == 6 && usage.totalTokens == 17 && usage.source == .provider)
        #expect(usage.deliveredChunks == 3)
        #expect(usage.costUSD == (11.0 * 1 + 6.0 * 4) / 1_000_000)

        let event = try #require(try setup.upstream.events(requestID: "a-text").first)
        #expect(event.path == "/v1/messages")
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.method == "POST")
        #expect(sent.header("x-api-key") == Self.apiKey)
        #expect(sent.header("authorization") == nil)
        #expect(sent.header("anthropic-version") == "2023-06-01")
        #expect(sent.header("anthropic-beta") == nil)
        #expect(sent.header("content-type") == "application/json")
        #expect(sent.header("accept") == "text/event-stream")
        #expect(sent.header("x-request-id") == "a-text")
        #expect(
            sent.body
                == #"{"model":"replay=anthropic_messages_stream.sse;chunk=9","max_tokens":4096,"messages":[{"role":"user","content":"Hello?"}],"stream":true}"#
        )
        await client.close()
    }

    @Test("the recorded streams with their terminating blank line: OK, text and a streamed tool call")
    func replayedTerminatedStreams() async throws {
        let directory = try Self.terminatedFixtures()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let setup = try setup(
            [
                "text": "replay=terminated_anthropic_messages_stream.sse;chunk=7",
                "tool": "replay=terminated_anthropic_messages_stream_tool_use.sse;chunk=50",
            ], fixturesDirectory: directory)
        defer { setup.stop() }
        let client = try await setup.gateway.connect()

        let (textChunks, textError) = await collect(try await client.chatStream(userMessage("Hello?", model: "text")))
        #expect(textError == nil)
        #expect(textChunks.map(\.text).joined() == "Hello there!")
        let textFinal = try #require(textChunks.last)
        #expect(textFinal.finishReason == .stop && textFinal.providerFinishReason == "end_turn")
        #expect(textFinal.usage?.inputTokens == 11 && textFinal.usage?.outputTokens == 6)

        let (chunks, error) = await collect(try await client.chatStream(userMessage("Weather in Paris?", model: "tool")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "I'll check the current weather in Paris for you.")
        #expect(chunks.first?.model == "claude-sonnet-4-20250514")
        let deltas = chunks.flatMap(\.toolCallDeltas)
        #expect(deltas.first == ToolCallDelta(index: 0, id: "toolu_01NRLabsLyVHZPKxbKvkfSMn", name: "get_weather"))
        #expect(deltas.dropFirst().map(\.argumentsFragment) == [#"{"locati"#, #"on": "P"#, "ar", #"is"}"#])
        let final = try #require(chunks.last)
        #expect(final.finishReason == .toolCalls && final.providerFinishReason == "tool_use")
        let call = try #require(final.toolCalls.first)
        #expect(final.toolCalls.count == 1)
        #expect(call.id == "toolu_01NRLabsLyVHZPKxbKvkfSMn" && call.name == "get_weather")
        let arguments = try JSONDocument(parsing: call.argumentsJSON).root
        #expect(arguments.count == 1 && arguments["location"].string == "Paris")
        let usage = try #require(final.usage)
        #expect(usage.inputTokens == 377 && usage.outputTokens == 65 && usage.cachedInputTokens == 0)
        #expect(usage.cacheWriteInputTokens == 0 && usage.totalTokens == 442)
        await client.close()
    }

    @Test("the in-band overloaded error event: UNAVAILABLE, retryable (nothing was delivered)")
    func replayedErrorEvent() async throws {
        let setup = try setup(["claude": "replay=anthropic_error_event.sse"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("x", model: "claude")))
        let failure = try #require(error)
        #expect(failure.code == .unavailable)
        #expect(failure.detail.kind == .upstreamUnavailable)
        #expect(failure.detail.retryable)
        #expect(failure.detail.upstreamStatus == 200)
        #expect(failure.detail.upstreamCode == "overloaded_error")
        #expect(failure.detail.upstreamMessage == "Overloaded")
        #expect(chunks.count == 1 && chunks.last?.isFinal == true && chunks.last?.finishReason == .error)
        #expect(chunks.last?.usage?.source == .notReported)
        await client.close()
    }

    @Test("unary: the recorded message")
    func replayedUnaryMessage() async throws {
        let setup = try setup(["claude": "replay=anthropic_message.json"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let response = try await client.chat(userMessage("Extract the order.", model: "claude"), options: CallOptions(requestID: "a-unary"))
        #expect(
            response.text
                == #"{"items":[{"product_name":"Green Tea","price":5.50,"quantity":2},{"product_name":"Coffee","price":3.00,"quantity":1}],"total":14.0}"#)
        #expect(response.id == "msg_01T4jd6NyD9xGGtTPDC4ogy5" && response.model == "claude-sonnet-4-5-20250929")
        #expect(response.finishReason == .stop && response.providerFinishReason == "end_turn")
        #expect(response.usage.inputTokens == 406 && response.usage.outputTokens == 50 && response.usage.totalTokens == 456)
        let event = try #require(try setup.upstream.events(requestID: "a-unary").first)
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.header("accept") == "application/json")
        #expect(!sent.body.contains("\"stream\""))
        await client.close()
    }

    // MARK: Generated answers through the fake's Anthropic wire

    @Test("a full request through the binary: the exact JSON and headers Anthropic receives")
    func fullRequestAsSent() async throws {
        let setup = try setup(
            ["claude": "tokens=2;tool_call"],
            options: "    anthropic_version: 2023-01-01\n    anthropic_beta: [prompt-caching-2024-07-31, token-efficient-tools-2025-02-19]\n")
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let request = ChatRequest(
            model: "claude",
            messages: [
                ChatMessage(role: .system, text: "You are terse."),
                ChatMessage(
                    role: .user,
                    parts: [.text("Weather where this photo was taken?"), .imageData(bytes: [0x89, 0x50, 0x4E, 0x47], mimeType: "image/png")]),
                ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "toolu_1", name: "get_weather", argumentsJSON: #"{"city":"Oslo"}"#))]),
                ChatMessage(role: .tool, parts: [.text("-3C, snow")], toolCallID: "toolu_1"),
            ],
            tools: [ToolDefinition(name: "get_weather", description: "Weather now", parametersJSON: #"{"type":"object","properties":{"city":{"type":"string"}}}"#)],
            toolChoice: .auto, temperature: 0.5, topP: 0.9, maxTokens: 300, topK: 5, stop: ["~~~"], user: "u-42")
        let (chunks, error) = await collect(try await client.chatStream(request, options: CallOptions(requestID: "a-full")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "tok1 tok2 ")
        let final = try #require(chunks.last)
        #expect(final.toolCalls == [ToolCall(id: "toolu_fake", name: "get_weather", argumentsJSON: #"{"city": "Paris"}"#)])
        #expect(final.finishReason == .toolCalls && final.providerFinishReason == "tool_use")
        // Prompt words: "You are terse." (3) + the question (6) + "-3C, snow" is a tool result, not counted.
        #expect(final.usage?.inputTokens == 9 && final.usage?.outputTokens == 2)

        let event = try #require(try setup.upstream.events(requestID: "a-full").first)
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.header("anthropic-version") == "2023-01-01")
        #expect(sent.header("anthropic-beta") == "prompt-caching-2024-07-31,token-efficient-tools-2025-02-19")
        #expect(sent.header("x-api-key") == Self.apiKey)
        #expect(
            sent.body
                == #"{"model":"tokens=2;tool_call","max_tokens":300,"system":"You are terse.","messages":["#
                + #"{"role":"user","content":[{"type":"text","text":"Weather where this photo was taken?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw=="}}]},"#
                + #"{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}}]},"#
                + #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"-3C, snow"}]}],"#
                + #""tools":[{"name":"get_weather","description":"Weather now","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],"#
                + #""tool_choice":{"type":"auto"},"temperature":0.5,"top_p":0.9,"top_k":5,"stop_sequences":["~~~"],"metadata":{"user_id":"u-42"},"stream":true}"#
        )
        await client.close()
    }

    @Test("a generated stream and a unary answer; cumulative output_tokens are not summed")
    func generated() async throws {
        let setup = try setup(["claude": "tokens=5"], options: "    default_max_tokens: 333\n")
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let request = ChatRequest(
            model: "claude", messages: [ChatMessage(role: .system, text: "be brief"), ChatMessage(role: .user, text: "count to five")])
        let (chunks, error) = await collect(try await client.chatStream(request))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "tok1 tok2 tok3 tok4 tok5 ")
        #expect(chunks.first?.id.hasPrefix("msg_fake_") == true)
        #expect(chunks.last?.usage?.inputTokens == 5 && chunks.last?.usage?.outputTokens == 5)
        #expect(chunks.last?.finishReason == .stop && chunks.last?.providerFinishReason == "end_turn")
        let response = try await client.chat(request, options: CallOptions(requestID: "a-gen"))
        #expect(response.text == "tok1 tok2 tok3 tok4 tok5 ")
        #expect(response.finishReason == .stop && response.usage.totalTokens == 10)
        let event = try #require(try setup.upstream.events(requestID: "a-gen").first)
        #expect(
            try setup.upstream.request(event.seq).body
                == #"{"model":"tokens=5","max_tokens":333,"system":"be brief","messages":[{"role":"user","content":"count to five"}]}"#)
        await client.close()
    }

    @Test(
        "upstream failures map to the documented status; none is OK",
        arguments: ProviderSetup.streamFaults + [
            ("status=401", .failedPrecondition, .upstreamAuth, false),
            ("status=429;retry_after=3", .resourceExhausted, .rateLimited, false),
            ("status=529;retry_after_ms=1500", .unavailable, .upstreamUnavailable, false),
            ("status=500", .unavailable, .upstreamUnavailable, false),
            ("status=400;error_message=prompt%20is%20too%20long%3A%20208310%20tokens%20%3E%20200000%20maximum", .invalidArgument, .contextLengthExceeded, false),
            ("tokens=20;error_event_after=3", .unavailable, .upstreamUnavailable, true),
            ("tokens=20;error_event_after=3;error_type=rate_limit_error", .resourceExhausted, .rateLimited, true),
        ] as [(String, StatusCode, ErrorKind, Bool)])
    func upstreamFailures(scenario: String, code: StatusCode, kind: ErrorKind, partial: Bool) async throws {
        let setup = try setup(["claude": scenario], idleTimeoutMilliseconds: 400)
        defer { setup.stop() }
        let failure = try await setup.streamFailure(model: "claude", scenario: scenario, code: code, kind: kind, partial: partial)
        if scenario.hasPrefix("status=") {
            #expect(failure.detail.upstreamStatus == UInt32(scenario.dropFirst(7).prefix(3))!)
        }
        if scenario.hasPrefix("status=429") {
            #expect(failure.detail.retryAfterMilliseconds == 3000 && failure.detail.retryable)
            #expect(failure.detail.upstreamCode == "rate_limit_error")
        }
        if scenario.hasPrefix("status=529") {
            #expect(failure.detail.retryAfterMilliseconds == 1500 && failure.detail.retryable)
            #expect(failure.detail.upstreamCode == "overloaded_error" && failure.detail.upstreamMessage == "Overloaded")
        }
        if scenario == "status=401" {
            #expect(failure.detail.upstreamMessage == "invalid x-api-key" && !failure.detail.retryable)
            #expect(!failure.message.contains(Self.apiKey))
        }
    }

    @Test("a truncated stream reports what was delivered in its final usage")
    func truncatedStreamUsage() async throws {
        let setup = try setup(["claude": "tokens=4;no_done"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("one two three", model: "claude")))
        #expect(error?.detail.kind == .upstreamTruncated)
        #expect(chunks.map(\.text).joined() == "tok1 tok2 tok3 tok4 ")
        let final = try #require(chunks.last)
        #expect(final.finishReason == .error && final.providerFinishReason == "end_turn")
        #expect(final.usage?.inputTokens == 3 && final.usage?.outputTokens == 4 && final.usage?.deliveredChunks == 4)
        await client.close()
    }

    @Test("CANCEL mid-stream drops the upstream connection")
    func cancellation() async throws {
        let setup = try setup(["claude-slow": "tokens=1000;pace_ms=10"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let stream = try await client.chatStream(userMessage("long", model: "claude-slow"), options: CallOptions(requestID: "a-cancel"))
        var chunks = stream.makeAsyncIterator()
        for _ in 0..<5 { _ = try await chunks.next() }
        stream.call.cancel()
        let error = await #expect(throws: GatewayError.self) { while try await chunks.next() != nil {} }
        #expect(error?.code == .cancelled)
        #expect(try setup.upstream.waitForOutcome(requestID: "a-cancel", "client_closed")?.outcome == "client_closed")
        await client.close()
    }

    @Test("embeddings are UNSUPPORTED_FEATURE and never reach Anthropic")
    func embeddingsAreUnsupported() async throws {
        let setup = try setup([:], embeddingModels: ["claude-embed": "claude-sonnet-4-5"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let error = await #expect(throws: GatewayError.self) {
            _ = try await client.embed(EmbedRequest(model: "claude-embed", inputs: ["x"]))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.detail.kind == .unsupportedFeature)
        #expect(error?.detail.provider == "up")
        #expect(try setup.upstream.events().isEmpty)
        await client.close()
    }
}
