import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateJSON
import ModelGateTestSupport
import Testing

/// The Ollama adapter end to end: the real gateway, libcurl and the real fake upstream
/// speaking Ollama's NDJSON on `/api/chat` and `/api/embed`.
@Suite("Ollama end to end", .serialized)
struct OllamaTests {
    private func setup(_ models: [String: String], embeddingModels: [String: String] = [:], idle: Int? = nil) throws
        -> ProviderSetup
    {
        try ProviderSetup(
            kind: "ollama", models: models, embeddingModels: embeddingModels, providerOptions: "    keep_alive: 5m\n",
            idleTimeoutMilliseconds: idle)
    }

    // MARK: Recorded streams, replayed byte for byte

    @Test("Ollama's own test stream: text, the done line, no usage reported")
    func replayedChat() async throws {
        let setup = try setup(["llama": "replay=ollama_chat.ndjson;chunk=11"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(
            try await client.chatStream(userMessage("hi", model: "llama"), options: CallOptions(requestID: "o-chat")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "Hello")
        #expect(chunks.first?.model == "gpt-oss:120b" && chunks.first?.provider == "up")
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .stop && final.providerFinishReason == "")
        #expect(final.usage?.source == .notReported && final.usage?.inputTokens == 0 && final.usage?.costUSD == nil)

        let event = try #require(try setup.upstream.events(requestID: "o-chat").first)
        #expect(event.path == "/api/chat")
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.header("authorization") == nil)
        #expect(sent.header("accept") == "application/x-ndjson")
        #expect(
            sent.body
                == #"{"model":"replay=ollama_chat.ndjson;chunk=11","messages":[{"role":"user","content":"hi"}],"stream":true,"keep_alive":"5m"}"#
        )
        await client.close()
    }

    @Test("the documented stream: usage from prompt_eval_count and eval_count")
    func replayedDocumentedStream() async throws {
        let setup = try setup(["llama": "replay=ollama_chat_stream_docs.ndjson;chunk=40"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("why is the sky blue?", model: "llama")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "The")
        let usage = try #require(chunks.last?.usage)
        #expect(usage.inputTokens == 26 && usage.outputTokens == 282 && usage.totalTokens == 308 && usage.source == .provider)
        #expect(usage.costUSD == (26.0 * 1 + 282.0 * 4) / 1_000_000)
        await client.close()
    }

    @Test("a documented tool call: one whole delta and the final call, arguments parsed")
    func replayedToolCall() async throws {
        let setup = try setup(["llama": "replay=ollama_chat_stream_tools_docs.ndjson;chunk=5"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("weather in Tokyo?", model: "llama")))
        #expect(error == nil)
        #expect(
            chunks.flatMap(\.toolCallDeltas)
                == [ToolCallDelta(index: 0, id: "ollama_call_0", name: "get_weather", argumentsFragment: #"{"city":"Tokyo"}"#)])
        let final = try #require(chunks.last)
        let call = try #require(final.toolCalls.first)
        #expect(final.toolCalls.count == 1 && call.id == "ollama_call_0" && call.name == "get_weather")
        let arguments = try JSONDocument(parsing: call.argumentsJSON).root
        #expect(arguments.count == 1 && arguments["city"].string == "Tokyo")
        #expect(final.finishReason == .toolCalls && final.providerFinishReason == "stop")
        #expect(final.usage?.inputTokens == 169 && final.usage?.outputTokens == 15)
        await client.close()
    }

    @Test("the documented mid-stream error line fails the stream")
    func replayedErrorLine() async throws {
        let setup = try setup(["llama": "replay=ollama_generate_error_midstream.ndjson;chunk=64"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("x", model: "llama")))
        let failure = try #require(error)
        #expect(failure.code == .unavailable)
        #expect(failure.detail.kind == .upstreamUnavailable)
        #expect(failure.detail.upstreamMessage == "an error was encountered while running the model")
        #expect(failure.detail.upstreamStatus == 200)
        #expect(chunks.count == 1 && chunks.last?.finishReason == .error)
        await client.close()
    }

    /// `/api/generate` is not used by the adapter; its stream ends with a done line but its
    /// `response` text is not chat output.
    @Test("an /api/generate stream carries no chat text")
    func replayedGenerateStream() async throws {
        let setup = try setup(["llama": "replay=ollama_generate.ndjson"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("x", model: "llama")))
        #expect(error == nil)
        #expect(chunks.count == 1)
        #expect(chunks.last?.text == "" && chunks.last?.finishReason == .stop && chunks.last?.providerFinishReason == "stop")
        #expect(chunks.last?.model == "gemma4")
        await client.close()
    }

    // MARK: Generated streams and faults

    @Test("a generated stream and a unary answer through the fake's Ollama wire format")
    func generated() async throws {
        let setup = try setup(["llama": "tokens=4"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("say four words", model: "llama")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "tok1 tok2 tok3 tok4 ")
        #expect(chunks.last?.usage?.inputTokens == 3 && chunks.last?.usage?.outputTokens == 4)
        let response = try await client.chat(
            ChatRequest(model: "llama", messages: [ChatMessage(role: .user, text: "say four words")], temperature: 0.5, seed: 7),
            options: CallOptions(requestID: "o-unary"))
        #expect(response.text == "tok1 tok2 tok3 tok4 ")
        #expect(response.finishReason == .stop && response.usage.totalTokens == 7 && response.model == "tokens=4")
        let event = try #require(try setup.upstream.events(requestID: "o-unary").first)
        #expect(
            try setup.upstream.request(event.seq).body
                == #"{"model":"tokens=4","messages":[{"role":"user","content":"say four words"}],"options":{"temperature":0.5,"seed":7},"stream":false,"keep_alive":"5m"}"#
        )
        await client.close()
    }

    @Test(
        "upstream failures map to the documented status; none is OK",
        arguments: ProviderSetup.streamFaults + [
            ("status=404", .notFound, .upstreamNotFound, false),
            ("status=429;retry_after=2", .resourceExhausted, .rateLimited, false),
            ("status=500", .unavailable, .upstreamUnavailable, false),
            ("tokens=20;error_event_after=3", .unavailable, .upstreamUnavailable, true),
        ])
    func upstreamFailures(scenario: String, code: StatusCode, kind: ErrorKind, partial: Bool) async throws {
        let setup = try setup(["llama": scenario], idle: 400)
        defer { setup.stop() }
        let failure = try await setup.streamFailure(model: "llama", scenario: scenario, code: code, kind: kind, partial: partial)
        if !partial {
            // The unary call maps the same failure the same way.
            let client = try await setup.gateway.connect()
            let unary = await #expect(throws: GatewayError.self) { _ = try await client.chat(userMessage("x", model: "llama")) }
            #expect(unary?.code == code)
            await client.close()
        }
        if scenario.hasPrefix("status=429") {
            #expect(failure.detail.retryAfterMilliseconds == 2000)
        }
        if scenario == "status=404" {
            #expect(failure.detail.upstreamMessage == #"model "status=404" not found, try pulling it first"#)
        }
    }

    @Test("client disconnect mid-stream and a deadline before the first byte drop the upstream")
    func cancellation() async throws {
        let setup = try setup(["slow": "tokens=1000;pace_ms=10", "stall": "stall_headers"])
        defer { setup.stop() }
        let doomed = try await setup.gateway.connect()
        let stream = try await doomed.chatStream(userMessage("long", model: "slow"), options: CallOptions(requestID: "o-gone"))
        var iterator = stream.makeAsyncIterator()
        _ = try await iterator.next()
        await doomed.close()
        #expect(try setup.upstream.waitForOutcome(requestID: "o-gone", "client_closed")?.outcome == "client_closed")

        let client = try await setup.gateway.connect()
        let (_, error) = await collect(
            try await client.chatStream(
                userMessage("x", model: "stall"), options: CallOptions(timeout: .milliseconds(300), requestID: "o-deadline")))
        #expect(error?.code == .deadlineExceeded)
        #expect(try setup.upstream.waitForOutcome(requestID: "o-deadline", "client_closed")?.outcome == "client_closed")
        await client.close()
    }

    @Test("embeddings through /api/embed come back as packed float vectors")
    func embeddings() async throws {
        let setup = try setup([:], embeddingModels: ["emb": "embeddinggemma"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let response = try await client.embed(EmbedRequest(model: "emb", inputs: ["a b", "c"], dimensions: 3))
        #expect(response.embeddings.map(\.index) == [0, 1])
        #expect(response.embeddings[0].values == [0.001, 0.002, 0.003])
        #expect(response.embeddings[1].values == [0.002, 0.004, 0.006])
        #expect(response.model == "embeddinggemma")
        #expect(response.usage.inputTokens == 3 && response.usage.source == .provider)
        await client.close()
    }
}
