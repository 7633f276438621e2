import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import ModelGateUpstream
import Testing

@Suite("Anthropic provider")
struct AnthropicProviderTests {
    static let apiKey = "sk-ant-api03-unit-test-key-0123456789"

    private func provider(
        _ client: FakeUpstreamClient, extraHeaders: [HTTPHeader] = [HTTPHeader("X-Extra", "1")], betas: [String] = [],
        defaultMaxTokens: UInt32 = AnthropicProviderConfiguration.defaultMaxTokens
    ) -> AnthropicProvider {
        AnthropicProvider(
            configuration: AnthropicProviderConfiguration(
                endpoint: ProviderEndpoint(name: "claude", baseURL: "http://127.0.0.1:9/", apiKey: Self.apiKey, extraHeaders: extraHeaders),
                betas: betas, defaultMaxTokens: defaultMaxTokens),
            client: client)
    }

    private func deployment(_ provider: AnthropicProvider, model: String = "claude-sonnet-4-5") -> Deployment {
        Deployment(modelName: "c", upstreamModel: model, provider: provider)
    }

    private let request = ChatRequest(model: "c", messages: [ChatMessage(role: .user, text: "Extract the order.")])
    private let context = CallContext(requestID: "req-9")

    private func header(_ name: String, in request: UpstreamRequest) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    // MARK: Unary

    @Test("the recorded message: text, finish reason, usage; the request and headers sent")
    func unaryFixtureAndTheRequestSent() async throws {
        let client = FakeUpstreamClient(body: try Fixtures.bytes("anthropic_message.json"))
        let provider = provider(client, betas: ["prompt-caching-2024-07-31", "output-128k-2025-02-19"], defaultMaxTokens: 2048)
        let response = try await provider.chat(request, deployment: deployment(provider), context: context)
        #expect(
            response
                == ChatResponse(
                    id: "msg_01T4jd6NyD9xGGtTPDC4ogy5", model: "claude-sonnet-4-5-20250929", provider: "claude",
                    text: #"{"items":[{"product_name":"Green Tea","price":5.50,"quantity":2},{"product_name":"Coffee","price":3.00,"quantity":1}],"total":14.0}"#,
                    finishReason: .stop, providerFinishReason: "end_turn",
                    usage: Usage(inputTokens: 406, outputTokens: 50, totalTokens: 456, source: .provider)))

        let sent = try #require(client.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.url == "http://127.0.0.1:9/v1/messages")
        #expect(header("x-api-key", in: sent) == Self.apiKey)
        #expect(header("Authorization", in: sent) == nil)
        #expect(header("anthropic-version", in: sent) == "2023-06-01")
        #expect(header("anthropic-beta", in: sent) == "prompt-caching-2024-07-31,output-128k-2025-02-19")
        #expect(header("Content-Type", in: sent) == "application/json")
        #expect(header("Accept", in: sent) == "application/json")
        #expect(header("X-Request-Id", in: sent) == "req-9")
        #expect(header("X-Extra", in: sent) == "1")
        #expect(sent.secretHeaderNames.contains("x-api-key"))
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"model":"claude-sonnet-4-5","max_tokens":2048,"messages":[{"role":"user","content":"Extract the order."}]}"#)
    }

    @Test("a configured header replaces the adapter's own of the same name")
    func configuredHeadersWin() async throws {
        let client = FakeUpstreamClient(body: try Fixtures.bytes("anthropic_message.json"))
        let provider = provider(client, extraHeaders: [HTTPHeader("Anthropic-Version", "2099-01-01")])
        _ = try await provider.chat(request, deployment: deployment(provider), context: context)
        let sent = try #require(client.requests.first)
        #expect(sent.headers.filter { $0.name.lowercased() == "anthropic-version" }.map(\.value) == ["2099-01-01"])
        #expect(header("anthropic-beta", in: sent) == nil)
    }

    @Test("a unary tool call, and a forced JSON answer read back as text")
    func unaryToolCallsAndJSONAnswers() async throws {
        let body =
            #"{"id":"msg_2","type":"message","role":"assistant","model":"claude-x","content":[{"type":"thinking","thinking":"Hmm.","signature":"c2ln"},{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_9","name":"get_weather","input":{"city": "Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":5,"cache_read_input_tokens":7,"output_tokens":12}}"#
        let provider = provider(FakeUpstreamClient(json: body))
        let response = try await provider.chat(request, deployment: deployment(provider), context: context)
        #expect(response.text == "Checking." && response.reasoning == "Hmm.")
        #expect(response.toolCalls == [ToolCall(id: "toolu_9", name: "get_weather", argumentsJSON: #"{"city": "Paris"}"#)])
        #expect(response.finishReason == .toolCalls && response.providerFinishReason == "tool_use")
        #expect(
            response.usage
                == Usage(inputTokens: 32, outputTokens: 12, cachedInputTokens: 7, cacheWriteInputTokens: 5, source: .provider))

        let json =
            #"{"id":"msg_3","type":"message","role":"assistant","model":"claude-x","content":[{"type":"tool_use","id":"toolu_j","name":"json_response","input":{"answer":"yes"}}],"stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4}}"#
        let jsonClient = FakeUpstreamClient(json: json)
        let jsonProvider = self.provider(jsonClient)
        var jsonRequest = request
        jsonRequest.responseFormat = .jsonSchema(name: "", schemaJSON: #"{"type":"object"}"#, strict: false)
        let answer = try await jsonProvider.chat(jsonRequest, deployment: deployment(jsonProvider), context: context)
        #expect(answer.text == #"{"answer":"yes"}"#)
        #expect(answer.toolCalls.isEmpty)
        #expect(answer.finishReason == .stop && answer.providerFinishReason == "tool_use")
        let sent = String(decoding: try #require(jsonClient.requests.first).body, as: UTF8.self)
        #expect(sent.contains(#""tool_choice":{"type":"tool","name":"json_response"}"#))
    }

    @Test func unaryMalformedBodiesAndErrorEnvelopes() async throws {
        for body in ["not json", "[1]"] {
            let provider = provider(FakeUpstreamClient(json: body))
            let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
            #expect(error?.detail.kind == .upstreamMalformed, "\(body)")
            #expect(error?.detail.requestID == "req-9")
        }
        let provider = provider(FakeUpstreamClient(json: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#))
        let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.kind == .upstreamUnavailable && error?.detail.retryable == true)
    }

    // MARK: HTTP errors

    @Test(
        "error statuses with Anthropic's envelope map to typed errors",
        arguments: [
            (400, "invalid_request_error", StatusCode.invalidArgument, ErrorKind.invalidRequest, false),
            (401, "authentication_error", .failedPrecondition, .upstreamAuth, false),
            (403, "permission_error", .permissionDenied, .upstreamPermission, false),
            (404, "not_found_error", .notFound, .upstreamNotFound, false),
            (413, "request_too_large", .invalidArgument, .invalidRequest, false),
            (429, "rate_limit_error", .resourceExhausted, .rateLimited, true),
            (500, "api_error", .unavailable, .upstreamUnavailable, true),
            (529, "overloaded_error", .unavailable, .upstreamUnavailable, true),
            (504, "timeout_error", .unavailable, .upstreamTimeout, true),
            (400, "billing_error", .resourceExhausted, .quotaExceeded, false),
        ])
    func httpErrors(status: Int, type: String, code: StatusCode, kind: ErrorKind, retryable: Bool) async {
        let body = #"{"type":"error","error":{"type":"\#(type)","message":"m \#(Self.apiKey)"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#
        let provider = provider(FakeUpstreamClient(status: status, json: body))
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: RecordingSink())
        }
        #expect(error?.code == code, "\(type)")
        #expect(error?.detail.kind == kind, "\(type)")
        #expect(error?.detail.retryable == retryable, "\(type)")
        #expect(error?.detail.upstreamStatus == UInt32(status), "\(type)")
        #expect(error?.detail.upstreamCode == type, "\(type)")
        #expect(error?.detail.upstreamMessage == "m [REDACTED]", "\(type)")
        #expect(error?.detail.provider == "claude" && error?.detail.requestID == "req-9")
        #expect(error?.message == "provider \"claude\" answered HTTP \(status): m [REDACTED]")
    }

    @Test("429 and 529 honour retry-after-ms over retry-after")
    func retryAfter() async {
        let body = #"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#
        let seconds = provider(FakeUpstreamClient(status: 429, headers: [HTTPHeader("retry-after", "3")], json: body))
        let error = await thrownGatewayError { _ = try await seconds.chat(request, deployment: deployment(seconds), context: context) }
        #expect(error?.detail.retryAfterMilliseconds == 3000)
        let overloadedBody = #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
        let both = provider(
            FakeUpstreamClient(
                status: 529, headers: [HTTPHeader("retry-after", "3"), HTTPHeader("retry-after-ms", "1250.5")], json: overloadedBody))
        let overloaded = await thrownGatewayError { _ = try await both.chat(request, deployment: deployment(both), context: context) }
        #expect(overloaded?.detail.retryAfterMilliseconds == 1251)
        #expect(overloaded?.code == .unavailable)
    }

    @Test("context-window errors are CONTEXT_LENGTH_EXCEEDED")
    func contextLength() async {
        for message in [
            "prompt is too long: 208310 tokens > 200000 maximum",
            "input length and `max_tokens` exceed context limit: 199000 + 21333 > 200000, decrease input length or `max_tokens` and try again",
        ] {
            let body = #"{"type":"error","error":{"type":"invalid_request_error","message":"\#(message)"}}"#
            let provider = provider(FakeUpstreamClient(status: 400, json: body))
            let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
            #expect(error?.code == .invalidArgument, "\(message)")
            #expect(error?.detail.kind == .contextLengthExceeded, "\(message)")
        }
    }

    @Test func errorStatusWithATextBody() async {
        let provider = provider(FakeUpstreamClient(status: 502, json: "<html>bad gateway</html>"))
        let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.upstreamMessage == "<html>bad gateway</html>")
    }

    // MARK: Streaming

    @Test("the tool-use fixture, terminated, streams through the transport in pieces")
    func streamsTheToolUseFixture() async throws {
        let client = FakeUpstreamClient(body: try AnthropicStreamDecoderTests.terminated("anthropic_messages_stream_tool_use.sse"), chunkSize: 61)
        let provider = provider(client)
        let sink = RecordingSink()
        try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)
        #expect(sink.events == AnthropicStreamDecoderTests.toolUseEvents)
        let sent = try #require(client.requests.first)
        #expect(header("Accept", in: sent) == "text/event-stream")
        #expect(String(decoding: sent.body, as: UTF8.self).hasSuffix(#","stream":true}"#))
    }

    @Test("the published fixture relays everything, then fails as truncated")
    func publishedFixtureIsTruncated() async throws {
        let provider = provider(FakeUpstreamClient(body: try Fixtures.bytes("anthropic_messages_stream.sse"), chunkSize: 50))
        let sink = RecordingSink()
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.kind == .upstreamTruncated)
        #expect(error?.detail.requestID == "req-9")
        #expect(sink.events == AnthropicStreamDecoderTests.basicEvents)
    }

    @Test func midStreamErrorComesAfterTheOutputBeforeIt() async throws {
        var body = try Fixtures.bytes("anthropic_messages_stream.sse")
        let cut = try #require(body.end(of: #""text":" there"}}"# + "\n\n"))
        body = Array(body[..<cut]) + (try Fixtures.bytes("anthropic_error_event.sse"))
        let provider = provider(FakeUpstreamClient(body: body))
        let sink = RecordingSink()
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)
        }
        #expect(error?.code == .unavailable && error?.detail.upstreamCode == "overloaded_error")
        #expect(assembledResponse(sink.events, provider: "claude").text == "Hello there")
    }

    @Test func sinkCancellationStopsTheStream() async throws {
        let provider = provider(FakeUpstreamClient(body: try AnthropicStreamDecoderTests.terminated("anthropic_messages_stream.sse"), chunkSize: 64))
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: RecordingSink(failAfter: 2))
        }
        #expect(error?.code == .cancelled)
    }

    // MARK: Unsupported

    @Test("embeddings, predict and inexpressible requests are refused before any request")
    func unsupportedCallsSendNothing() async {
        let client = FakeUpstreamClient(json: "{}")
        let provider = provider(client)
        let embed = await thrownGatewayError {
            _ = try await provider.embed(EmbedRequest(model: "c", inputs: ["x"]), deployment: deployment(provider), context: context)
        }
        #expect(embed?.code == .invalidArgument && embed?.detail.kind == .unsupportedFeature)
        #expect(embed?.message == "embeddings is not supported by provider \"claude\"")
        let predict = await thrownGatewayError {
            _ = try await provider.predict(PredictRequest(model: "c", inputs: []), deployment: deployment(provider), context: context)
        }
        #expect(predict?.detail.kind == .unsupportedFeature && predict?.detail.provider == "claude")
        var seeded = request
        seeded.seed = 7
        let seed = await thrownGatewayError {
            try await provider.chatStream(seeded, deployment: deployment(provider), context: context, into: RecordingSink())
        }
        #expect(seed?.detail.kind == .unsupportedFeature && seed?.message.contains("seed") == true)
        #expect(client.requests.isEmpty)
    }
}
