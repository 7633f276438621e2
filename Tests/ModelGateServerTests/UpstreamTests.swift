import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateTestSupport
import Testing

/// A gateway whose `fake-*` models reach a real fake upstream over HTTP through libcurl.
private struct UpstreamSetup {
    let upstream: FakeUpstreamProcess
    let gateway: GatewayProcess

    /// - Parameter models: model name → upstream scenario (the upstream model id).
    init(models: [String: String], timeouts: String = "", extra: String = "") throws {
        upstream = try FakeUpstreamProcess()
        let providers = """
              fake:
                kind: openai
                base_url: \(upstream.baseURL)
            \(timeouts.isEmpty ? "" : "    timeouts:\n" + timeouts)
            """
        let modelsYAML = models.sorted { $0.key < $1.key }.map { name, scenario in
            "  \(name):\n    provider: fake\n    upstream_model: \"\(scenario)\"\n    pricing: { input: 2.5, output: 10 }\n"
        }.joined()
        gateway = try GatewayProcess(providers: providers, models: modelsYAML, extra: extra)
    }

    func stop() {
        gateway.stop()
        upstream.stop()
    }
}

@Suite("Gateway → libcurl → fake upstream, end to end", .serialized)
struct UpstreamTests {
    @Test("a replayed OpenAI stream comes out with the fixture's text, usage and finish reason")
    func replayedTextStream() async throws {
        let setup = try UpstreamSetup(models: ["fake-text": "replay=openai_chat_stream.sse;chunk=13"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("weather?", model: "fake-text")))
        #expect(error == nil)
        #expect(
            chunks.map(\.text).joined()
                == "I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app."
        )
        #expect(chunks.map(\.sequence) == Array(0..<UInt64(chunks.count)))
        #expect(chunks.first?.id == "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL")
        #expect(chunks.first?.model == "gpt-4o-2024-08-06" && chunks.first?.provider == "fake")
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .stop && final.providerFinishReason == "stop")
        let usage = try #require(final.usage)
        #expect(usage.inputTokens == 14 && usage.outputTokens == 30 && usage.totalTokens == 44)
        #expect(usage.reasoningTokens == 0 && usage.source == .provider)
        let expectedCost: Double = (14.0 * 2.5 + 30.0 * 10.0) / 1_000_000
        #expect(usage.costUSD == expectedCost)
        #expect(usage.deliveredChunks == UInt32(chunks.count - 1))
        await client.close()
    }

    @Test("streamed tool calls are relayed as deltas and assembled whole")
    func replayedToolCalls() async throws {
        let setup = try UpstreamSetup(models: ["fake-tools": "replay=openai_chat_stream_tool_calls.sse;chunk=5"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("weather?", model: "fake-tools")))
        #expect(error == nil)
        let deltas = chunks.flatMap(\.toolCallDeltas)
        #expect(deltas.first?.id == "call_4XzlGBLtUe9dy3GVNV4jhq7h" && deltas.first?.name == "get_weather")
        #expect(deltas.map(\.argumentsFragment).joined() == #"{"city":"New York City"}"#)
        let final = try #require(chunks.last)
        #expect(final.finishReason == .toolCalls)
        #expect(
            final.toolCalls
                == [ToolCall(id: "call_4XzlGBLtUe9dy3GVNV4jhq7h", name: "get_weather", argumentsJSON: #"{"city":"New York City"}"#)])
        #expect(final.usage?.inputTokens == 44 && final.usage?.outputTokens == 16)
        await client.close()
    }

    @Test("unary chat through the upstream, and the request the upstream received")
    func unaryChat() async throws {
        let setup = try UpstreamSetup(models: ["fake-unary": "tokens=4"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let response = try await client.chat(
            ChatRequest(
                model: "fake-unary", messages: [ChatMessage(role: .system, text: "be brief"), ChatMessage(role: .user, text: "hi")],
                temperature: 0, maxTokens: 8),
            options: CallOptions(requestID: "unary-1"))
        #expect(response.text == "tok1 tok2 tok3 tok4 ")
        #expect(response.finishReason == .stop && response.provider == "fake")
        #expect(response.usage.source == .provider && response.usage.outputTokens == 4)
        let event = try #require(try setup.upstream.events(requestID: "unary-1").first)
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.path == "/v1/chat/completions")
        #expect(sent.body.contains(#""model":"tokens=4""#))
        #expect(sent.body.contains(#""temperature":0"#))
        #expect(sent.body.contains(#""stream":false"#))
        #expect(sent.header("x-request-id") == "unary-1")
        await client.close()
    }

    @Test("CANCEL and client disconnect each drop the upstream connection")
    func cancellationReachesUpstream() async throws {
        let setup = try UpstreamSetup(models: ["fake-slow": "tokens=1000;pace_ms=10", "fake-stall": "stall_headers"])
        defer { setup.stop() }

        // CANCEL mid-stream.
        let client = try await setup.gateway.connect()
        let stream = try await client.chatStream(
            userMessage("long", model: "fake-slow"), options: CallOptions(requestID: "cancel-mid"))
        var received = 0
        var thrown: GatewayError?
        do {
            for try await _ in stream {
                received += 1
                if received == 5 { stream.call.cancel() }
            }
        } catch let error as GatewayError {
            thrown = error
        }
        #expect(thrown?.code == .cancelled)
        #expect(try setup.upstream.waitForOutcome(requestID: "cancel-mid", "client_closed")?.outcome == "client_closed")

        // The client's connection goes away mid-stream.
        let doomed = try await setup.gateway.connect()
        let doomedStream = try await doomed.chatStream(
            userMessage("long", model: "fake-slow"), options: CallOptions(requestID: "disconnect-mid"))
        var iterator = doomedStream.makeAsyncIterator()
        _ = try await iterator.next()
        await doomed.close()
        #expect(try setup.upstream.waitForOutcome(requestID: "disconnect-mid", "client_closed")?.outcome == "client_closed")

        // Before the first byte: the upstream has not even sent headers.
        let stalled = try await client.chatStream(
            userMessage("x", model: "fake-stall"), options: CallOptions(requestID: "cancel-early"))
        try await Task.sleep(for: .milliseconds(50))
        stalled.call.cancel()
        _ = await collect(stalled)
        #expect(try setup.upstream.waitForOutcome(requestID: "cancel-early", "client_closed")?.outcome == "client_closed")
        await client.close()
    }

    @Test("a deadline before the first token ends with DEADLINE_EXCEEDED and drops the upstream")
    func deadlineBeforeFirstToken() async throws {
        let setup = try UpstreamSetup(models: ["fake-stall": "stall_headers"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let started = Date()
        let (chunks, error) = await collect(
            try await client.chatStream(
                userMessage("x", model: "fake-stall"),
                options: CallOptions(timeout: .milliseconds(300), requestID: "deadline-1")))
        #expect(error?.code == .deadlineExceeded)
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(chunks.isEmpty || chunks.last?.finishReason == .cancelled)
        #expect(try setup.upstream.waitForOutcome(requestID: "deadline-1", "client_closed")?.outcome == "client_closed")
        await client.close()
    }

    @Test(
        "upstream failures map to the documented status; none is OK after partial output",
        arguments: [
            ("status=429;retry_after=2", StatusCode.resourceExhausted, ErrorKind.rateLimited, false),
            ("status=500", .unavailable, .upstreamUnavailable, false),
            ("status=401", .failedPrecondition, .upstreamAuth, false),
            ("tokens=20;reset_after=3", .unavailable, .upstreamTruncated, true),
            ("tokens=20;stall_after=3", .unavailable, .upstreamTimeout, true),
            ("tokens=20;no_done", .unavailable, .upstreamTruncated, true),
            ("tokens=20;malformed_after=3", .internal, .upstreamMalformed, true),
            ("tokens=20;error_event_after=3", .unavailable, .upstreamUnavailable, true),
        ])
    func upstreamFailures(scenario: String, code: StatusCode, kind: ErrorKind, partial: Bool) async throws {
        let setup = try UpstreamSetup(models: ["fake": scenario], timeouts: "      idle_ms: 400\n")
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let failure = try expectFailedStream(
            await collect(try await client.chatStream(userMessage("x", model: "fake"))), scenario, code: code, kind: kind,
            provider: "fake", partial: partial)
        if scenario.hasPrefix("status=429") {
            #expect(failure.detail.retryAfterMilliseconds == 2000 && failure.detail.upstreamStatus == 429)
            #expect(failure.detail.retryable)
        }
        // The unary call maps the same failure the same way.
        if !partial {
            let unary = await #expect(throws: GatewayError.self) { _ = try await client.chat(userMessage("x", model: "fake")) }
            #expect(unary?.code == code)
        }
        await client.close()
    }

    @Test("SIGTERM lets an upstream stream in flight finish before the upstream client stops")
    func drainWithUpstreamStream() async throws {
        let setup = try UpstreamSetup(models: ["fake-paced": "tokens=40;pace_ms=10"])
        defer { setup.upstream.stop() }
        let client = try await setup.gateway.connect()
        let stream = try await client.chatStream(userMessage("x", model: "fake-paced"))
        try await Task.sleep(for: .milliseconds(100))
        setup.gateway.process.signal(SIGTERM)
        let (chunks, error) = await collect(stream)
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == (1...40).map { "tok\($0) " }.joined())
        #expect(setup.gateway.process.waitForExit(timeout: 10) == 0)
    }

    @Test("embeddings through the upstream come back as packed float vectors")
    func embeddings() async throws {
        let upstream = try FakeUpstreamProcess()
        defer { upstream.stop() }
        let gateway = try GatewayProcess(
            providers: "  fake:\n    kind: openai\n    base_url: \(upstream.baseURL)\n",
            models: "  embedder:\n    provider: fake\n    kind: embedding\n    upstream_model: text-embedding-3-small\n")
        defer { gateway.stop() }
        let client = try await gateway.connect()
        let response = try await client.embed(EmbedRequest(model: "embedder", inputs: ["a b", "c"], dimensions: 3))
        #expect(response.embeddings.map(\.index) == [0, 1])
        #expect(response.embeddings[1].values == [0.002, 0.004, 0.006])
        #expect(response.usage.inputTokens == 3)
        let wrongKind = await #expect(throws: GatewayError.self) { _ = try await client.chat(userMessage("x", model: "embedder")) }
        #expect(wrongKind?.code == .invalidArgument)
        await client.close()
    }
}
