import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateJSON
import ModelGateTestSupport
import Testing

/// The Cohere v2 adapter end to end: the real gateway, libcurl and the real fake upstream
/// speaking Cohere on `/v2/chat` and `/v2/embed`.
@Suite("Cohere end to end", .serialized)
struct CohereTests {
    static let apiKey = "co-e2e-test-key-0123456789abcdef"
    static let keyVariable = "MODELGATE_TEST_COHERE_KEY"

    private func setup(
        _ models: [String: String], embeddingModels: [String: String] = [:], idleTimeoutMilliseconds: Int? = nil
    ) throws -> ProviderSetup {
        setenv(Self.keyVariable, Self.apiKey, 1)
        return try ProviderSetup(
            kind: "cohere", models: models, embeddingModels: embeddingModels,
            providerOptions: "    api_key_env: \(Self.keyVariable)\n", idleTimeoutMilliseconds: idleTimeoutMilliseconds)
    }

    // MARK: The published examples, replayed as SSE

    @Test("the text example: text, id, finish reason, the model's token counts; the request as sent")
    func replayedTextStream() async throws {
        let scenario = "replay=cohere_v2_chat_stream.example.yaml;part=stream;chunk=9"
        let setup = try setup(["co": scenario])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(
            try await client.chatStream(userMessage("Tell me about LLMs", model: "co"), options: CallOptions(requestID: "co-text")))
        #expect(error == nil)
        #expect(
            chunks.map(\.text).joined()
                == "LLMs stand for Large Language Models, which are a type of neural network model specialized in processing and generating human language."
        )
        #expect(chunks.map(\.sequence) == Array(0..<UInt64(chunks.count)))
        #expect(chunks.first?.id == "29f14a5a-11de-4cae-9800-25e4747408ea" && chunks.first?.provider == "up")
        #expect(chunks.first?.model == scenario)
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .stop && final.providerFinishReason == "COMPLETE")
        let usage = try #require(final.usage)
        #expect(usage.inputTokens == 71 && usage.outputTokens == 26 && usage.totalTokens == 97)
        #expect(usage.source == .provider && usage.cachedInputTokens == 0)
        #expect(usage.costUSD == (71.0 * 1 + 26.0 * 4) / 1_000_000)

        let event = try #require(try setup.upstream.events(requestID: "co-text").first)
        #expect(event.path == "/v2/chat")
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.header("authorization") == "Bearer " + Self.apiKey)
        #expect(sent.header("accept") == "text/event-stream")
        #expect(sent.header("content-type") == "application/json")
        #expect(sent.header("x-request-id") == "co-text")
        #expect(
            sent.body
                == #"{"model":"replay=cohere_v2_chat_stream.example.yaml;part=stream;chunk=9","messages":[{"role":"user","content":"Tell me about LLMs"}],"stream":true}"#
        )
        await client.close()
    }

    @Test("the tool example: plan as reasoning, fragments relayed, both calls assembled with their arguments")
    func replayedToolStream() async throws {
        let setup = try setup(["co": "replay=cohere_v2_chat_stream_tools.example.yaml;part=stream;chunk=100"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(try await client.chatStream(userMessage("sales summary?", model: "co")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "")
        #expect(chunks.map(\.reasoning).joined().hasPrefix("I will use the query_daily_sales_report tool"))
        let deltas = chunks.flatMap(\.toolCallDeltas)
        #expect(deltas.count == 24)
        #expect(deltas.filter { $0.index == 0 }.map(\.argumentsFragment).joined() == #"{"day": "2023-09-29"}"#)
        let final = try #require(chunks.last)
        #expect(final.finishReason == .toolCalls && final.providerFinishReason == "TOOL_CALL")
        #expect(final.toolCalls.map(\.id) == ["query_daily_sales_report_j3f0adww9pmr", "query_product_catalog_c66nf11r6s8g"])
        #expect(final.toolCalls.map(\.name) == ["query_daily_sales_report", "query_product_catalog"])
        let catalog = try JSONDocument(parsing: final.toolCalls[1].argumentsJSON).root
        #expect(catalog.count == 1 && catalog["category"].string == "Electronics")
        #expect(final.usage?.inputTokens == 1589 && final.usage?.outputTokens == 135)
        await client.close()
    }

    // MARK: Generated answers

    @Test("a generated stream and a unary answer through the fake's Cohere wire format")
    func generated() async throws {
        let setup = try setup(["co": "tokens=5"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let request = ChatRequest(
            model: "co", messages: [ChatMessage(role: .system, text: "be brief"), ChatMessage(role: .user, text: "count to five")],
            temperature: 0, maxTokens: 16)
        let (chunks, error) = await collect(try await client.chatStream(request))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "tok1 tok2 tok3 tok4 tok5 ")
        // The fake bills 5 prompt words but counts 10 more template tokens: the counts win.
        #expect(chunks.last?.usage?.inputTokens == 15 && chunks.last?.usage?.outputTokens == 5)
        let response = try await client.chat(request, options: CallOptions(requestID: "co-unary"))
        #expect(response.text == "tok1 tok2 tok3 tok4 tok5 ")
        #expect(response.finishReason == .stop && response.providerFinishReason == "COMPLETE")
        #expect(response.usage.totalTokens == 20)
        let event = try #require(try setup.upstream.events(requestID: "co-unary").first)
        #expect(event.path == "/v2/chat")
        #expect(
            try setup.upstream.request(event.seq).body
                == #"{"model":"tokens=5","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"count to five"}],"stream":false,"max_tokens":16,"temperature":0.0}"#
        )
        await client.close()
    }

    @Test("embeddings: texts, input type, dimensions; usage from the billed units")
    func embeddings() async throws {
        let setup = try setup([:], embeddingModels: ["emb": "embed-v4.0"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let response = try await client.embed(
            EmbedRequest(model: "emb", inputs: ["a b", "c"], dimensions: 3, inputType: "query"),
            options: CallOptions(requestID: "co-embed"))
        #expect(response.embeddings.map(\.index) == [0, 1])
        #expect(response.embeddings[0].values == [0.001, 0.002, 0.003])
        #expect(response.embeddings[1].values == [0.002, 0.004, 0.006])
        #expect(response.usage.inputTokens == 3 && response.usage.source == .provider)
        let event = try #require(try setup.upstream.events(requestID: "co-embed").first)
        #expect(event.path == "/v2/embed")
        #expect(
            try setup.upstream.request(event.seq).body
                == #"{"model":"embed-v4.0","texts":["a b","c"],"input_type":"search_query","embedding_types":["float"],"output_dimension":3}"#
        )
        await client.close()
    }

    // MARK: Failures

    @Test(
        "upstream failures map to typed errors; none is OK",
        arguments: ProviderSetup.streamFaults + [
            ("status=401", .failedPrecondition, .upstreamAuth, false),
            ("status=429;retry_after=3", .resourceExhausted, .rateLimited, false),
            ("status=498", .failedPrecondition, .upstreamAuth, false),
            ("status=500", .unavailable, .upstreamUnavailable, false),
            ("status=503", .unavailable, .upstreamUnavailable, false),
            ("tokens=20;error_event_after=3", .unavailable, .upstreamUnavailable, true),
            ("tokens=20;error_event_after=3;error_type=TIMEOUT", .unavailable, .upstreamTimeout, true),
            ("replay=cohere_v2_chat_stream.example.yaml;part=stream;chunk=200;reset_after=3", .unavailable, .upstreamTruncated, true),
        ] as [(String, StatusCode, ErrorKind, Bool)])
    func upstreamFailures(scenario: String, code: StatusCode, kind: ErrorKind, partial: Bool) async throws {
        let setup = try setup(["co": scenario], idleTimeoutMilliseconds: 400)
        defer { setup.stop() }
        let failure = try await setup.streamFailure(model: "co", scenario: scenario, code: code, kind: kind, partial: partial)
        if scenario.hasPrefix("status=") {
            #expect(failure.detail.upstreamStatus == UInt32(scenario.dropFirst(7).prefix(3)))
            #expect(!failure.detail.upstreamMessage.isEmpty)
        }
        if scenario.hasPrefix("status=429") {
            #expect(failure.detail.retryAfterMilliseconds == 3000 && failure.detail.retryable)
        }
        if scenario.contains("error_event_after") {
            #expect(failure.detail.upstreamMessage == "internal server error, this has been reported to our developers")
        }
    }

    @Test("CANCEL mid-stream drops the upstream connection")
    func cancellation() async throws {
        let setup = try setup(["co-slow": "tokens=1000;pace_ms=10"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let stream = try await client.chatStream(userMessage("long", model: "co-slow"), options: CallOptions(requestID: "co-cancel"))
        var chunks = stream.makeAsyncIterator()
        for _ in 0..<5 { _ = try await chunks.next() }
        stream.call.cancel()
        let error = await #expect(throws: GatewayError.self) { while try await chunks.next() != nil {} }
        #expect(error?.code == .cancelled)
        #expect(try setup.upstream.waitForOutcome(requestID: "co-cancel", "client_closed")?.outcome == "client_closed")
        await client.close()
    }
}
