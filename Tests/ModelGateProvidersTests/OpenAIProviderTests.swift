import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import ModelGateUpstream
import Testing

@Suite("OpenAI provider")
struct OpenAIProviderTests {
    static let apiKey = "sk-test-0123456789abcdefghijklmnop"

    private func provider(
        _ client: FakeUpstreamClient, baseURL: String = "http://127.0.0.1:9/v1/", maxUnaryResponseBytes: Int = 1 << 20
    ) -> OpenAIProvider {
        OpenAIProvider(
            configuration: OpenAIProviderConfiguration(
                name: "openai", baseURL: baseURL, apiKey: Self.apiKey, organization: "org-1", project: "proj-1",
                extraHeaders: [HTTPHeader("X-Extra", "1")], maxUnaryResponseBytes: maxUnaryResponseBytes),
            client: client)
    }

    private func deployment(_ provider: OpenAIProvider) -> Deployment {
        Deployment(modelName: "gpt", upstreamModel: "gpt-4o-2024-08-06", provider: provider)
    }

    private let request = ChatRequest(model: "gpt", messages: [ChatMessage(role: .user, text: "What's the weather like in SF?")])
    private let context = CallContext(requestID: "req-42")

    private func header(_ name: String, in request: UpstreamRequest) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    // MARK: Unary chat

    @Test func unaryChatSendsTheRequestAndParsesTheCompletion() async throws {
        let client = FakeUpstreamClient(
            json: #"""
                {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-5.4",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I assist you today?","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],
                 "usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},
                          "completion_tokens_details":{"reasoning_tokens":3,"audio_tokens":0}},"service_tier":"default"}
                """#)
        let provider = provider(client)
        let response = try await provider.chat(request, deployment: deployment(provider), context: context)
        #expect(
            response
                == ChatResponse(
                    id: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", model: "gpt-5.4", provider: "openai",
                    text: "Hello! How can I assist you today?", finishReason: .stop, providerFinishReason: "stop",
                    usage: Usage(
                        inputTokens: 19, outputTokens: 10, cachedInputTokens: 4, reasoningTokens: 3, totalTokens: 29,
                        source: .provider)))

        let sent = try #require(client.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.url == "http://127.0.0.1:9/v1/chat/completions")
        #expect(header("Authorization", in: sent) == "Bearer \(Self.apiKey)")
        #expect(header("Content-Type", in: sent) == "application/json")
        #expect(header("Accept", in: sent) == "application/json")
        #expect(header("X-Request-Id", in: sent) == "req-42")
        #expect(header("OpenAI-Organization", in: sent) == "org-1")
        #expect(header("OpenAI-Project", in: sent) == "proj-1")
        #expect(header("X-Extra", in: sent) == "1")
        #expect(sent.secretHeaderNames.contains("authorization"))
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"model":"gpt-4o-2024-08-06","messages":[{"role":"user","content":"What's the weather like in SF?"}],"stream":false}"#
        )
    }

    @Test func unaryToolCallsReasoningAndMissingUsage() async throws {
        let client = FakeUpstreamClient(
            json: #"""
                {"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,"reasoning_content":"Need weather.",
                  "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"SF\"}"}},
                                {"id":"call_2","type":"function","function":{"name":"get_time","arguments":{"tz":"PST"}}}]},
                  "finish_reason":"tool_calls"}]}
                """#)
        let provider = provider(client)
        let response = try await provider.chat(request, deployment: deployment(provider), context: context)
        #expect(response.model == "gpt-4o-2024-08-06")  // the server named none
        #expect(response.text == "")
        #expect(response.reasoning == "Need weather.")
        #expect(
            response.toolCalls == [
                ToolCall(id: "call_1", name: "get_weather", argumentsJSON: #"{"city":"SF"}"#),
                ToolCall(id: "call_2", name: "get_time", argumentsJSON: #"{"tz":"PST"}"#),
            ])
        #expect(response.finishReason == .toolCalls)
        #expect(response.usage == .notReported)
    }

    @Test func unaryMalformedAndOversizedBodies() async {
        for body in ["not json", #"{"choices":[]}"#, "[1]"] {
            let provider = provider(FakeUpstreamClient(json: body))
            let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
            #expect(error?.code == .internal, "\(body)")
            #expect(error?.detail.kind == .upstreamMalformed, "\(body)")
            #expect(error?.detail.requestID == "req-42")
        }
        let big = provider(FakeUpstreamClient(json: String(repeating: " ", count: 2048) + "{}"), maxUnaryResponseBytes: 1024)
        let error = await thrownGatewayError { _ = try await big.chat(request, deployment: deployment(big), context: context) }
        #expect(error?.code == .internal)
        #expect(error?.detail.kind == .upstreamMalformed)
    }

    @Test func unaryErrorObjectWithStatus200IsMapped() async {
        let provider = provider(
            FakeUpstreamClient(json: #"{"error":{"message":"quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#))
        let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
        #expect(error?.detail.kind == .quotaExceeded)
    }

    // MARK: HTTP and transport errors

    @Test func httpErrorsAreMappedWithRetryAfterAndRedaction() async {
        let body = #"{"error":{"message":"Rate limit reached for key \#(Self.apiKey)","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#
        let client = FakeUpstreamClient(status: 429, headers: [HTTPHeader("retry-after", "2")], json: body)
        let provider = provider(client)
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: RecordingSink())
        }
        #expect(error?.code == .resourceExhausted)
        #expect(error?.detail.kind == .rateLimited)
        #expect(error?.detail.retryable == true)
        #expect(error?.detail.retryAfterMilliseconds == 2000)
        #expect(error?.detail.upstreamStatus == 429)
        #expect(error?.detail.provider == "openai")
        #expect(error?.detail.requestID == "req-42")
        #expect(error?.detail.upstreamCode == "rate_limit_exceeded")
        #expect(error?.detail.upstreamMessage == "Rate limit reached for key [REDACTED]")
        #expect(error.map { !$0.message.contains(Self.apiKey) } == true)
    }

    @Test func transportErrorsAreMapped() async {
        let table: [(any Error & Sendable, StatusCode, ErrorKind)] = [
            (UpstreamError(.connect, "connection refused"), .unavailable, .upstreamUnavailable),
            (UpstreamError(.firstByteTimeout, "no headers"), .unavailable, .upstreamTimeout),
            (UpstreamError(.cancelled, "cancelled"), .cancelled, .cancelled),
            (CancellationError(), .cancelled, .cancelled),
        ]
        for (failure, code, kind) in table {
            let provider = provider(FakeUpstreamClient(.failure(failure)))
            let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
            #expect(error?.code == code)
            #expect(error?.detail.kind == kind)
        }
    }

    @Test func theCallersDeadlineCapsTheTransfer() async throws {
        let client = FakeUpstreamClient(.failure(UpstreamError(.totalTimeout, "total timeout")))
        let provider = provider(client)
        let soon = CallContext(requestID: "r", deadline: .now + .seconds(30))
        _ = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: soon) }
        let total = try #require(client.requests.first?.timeouts.total)
        #expect(total <= .seconds(30) && total > .seconds(25))

        let expired = CallContext(requestID: "r", deadline: .now - .milliseconds(1))
        let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: expired) }
        #expect(error?.code == .deadlineExceeded)

        let none = FakeUpstreamClient(json: "{}")
        let unbounded = self.provider(none)
        _ = await thrownGatewayError { _ = try await unbounded.chat(request, deployment: deployment(unbounded), context: context) }
        #expect(none.requests.first?.timeouts.total == nil)
    }

    // MARK: Streaming

    @Test func streamsTheChatFixture() async throws {
        let client = FakeUpstreamClient(body: try Fixtures.bytes("openai_chat_stream.sse"), chunkSize: 97)
        let provider = provider(client)
        let sink = RecordingSink()
        try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)

        var assembler = ChatStreamAssembler(provider: "openai", model: "gpt", accumulatesText: true)
        for event in sink.events { _ = assembler.consume(event) }
        let response = assembler.response()
        #expect(response.text == OpenAIStreamDecoderTests.chatText)
        #expect(response.id == "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL")
        #expect(response.model == "gpt-4o-2024-08-06")
        #expect(response.finishReason == .stop)
        #expect(response.usage.inputTokens == 14)
        #expect(response.usage.outputTokens == 30)
        #expect(response.usage.totalTokens == 44)

        let sent = try #require(client.requests.first)
        #expect(header("Accept", in: sent) == "text/event-stream")
        let body = try JSONDocument(parsing: sent.body).root
        #expect(body["stream"].bool == true)
        #expect(body["stream_options"]["include_usage"].bool == true)
    }

    @Test func streamWithoutDoneIsTruncated() async throws {
        let bytes = try Fixtures.bytes("openai_chat_stream.sse")
        let cut = try #require(bytes.end(of: "data: [DONE]")) - "data: [DONE]".utf8.count
        let provider = provider(FakeUpstreamClient(body: Array(bytes[..<cut]), chunkSize: 500))
        let sink = RecordingSink()
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.kind == .upstreamTruncated)
        #expect(error?.detail.requestID == "req-42")
        #expect(!sink.events.isEmpty)  // the output before the cut was delivered
    }

    @Test func streamIgnoresWhatFollowsDone() async throws {
        let body = Array("data: {\"id\":\"a\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\ndata: junk\n\n".utf8)
        let provider = provider(FakeUpstreamClient(body: body, chunkSize: 3))
        let sink = RecordingSink()
        try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)
        #expect(sink.events == [.started(id: "a", model: ""), .delta(ChatDelta(text: "x"))])
    }

    @Test func sinkCancellationStopsTheStream() async throws {
        let provider = provider(FakeUpstreamClient(body: try Fixtures.bytes("openai_chat_stream.sse"), chunkSize: 64))
        let sink = RecordingSink(failAfter: 3)
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)
        }
        #expect(error?.code == .cancelled)
        #expect(sink.events.count == 3)
    }

    @Test func streamErrorStatusBeforeTheBody() async {
        let provider = provider(FakeUpstreamClient(status: 503, json: "upstream overloaded"))
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: RecordingSink())
        }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.kind == .upstreamUnavailable)
        #expect(error?.detail.upstreamMessage == "upstream overloaded")
    }

    @Test func unsupportedFeaturesFailBeforeAnyRequest() async {
        let client = FakeUpstreamClient(json: "{}")
        let provider = provider(client)
        var topK = request
        topK.topK = 5
        let error = await thrownGatewayError { _ = try await provider.chat(topK, deployment: deployment(provider), context: context) }
        #expect(error?.detail.kind == .unsupportedFeature)
        #expect(error?.detail.provider == "openai")
        #expect(client.requests.isEmpty)
    }

    // MARK: Embeddings

    @Test func embeddingsAreOrderedByIndex() async throws {
        let client = FakeUpstreamClient(
            json: #"""
                {"object":"list","data":[
                  {"object":"embedding","embedding":[0.5,-0.25],"index":1},
                  {"object":"embedding","embedding":[0.0023064255,-0.009327292],"index":0}],
                 "model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}
                """#)
        let provider = provider(client)
        let response = try await provider.embed(
            EmbedRequest(model: "e", inputs: ["first", "second"], dimensions: 2), deployment: deployment(provider),
            context: context)
        #expect(
            response
                == EmbedResponse(
                    embeddings: [
                        Embedding(index: 0, values: [0.0023064255, -0.009327292]), Embedding(index: 1, values: [0.5, -0.25]),
                    ],
                    model: "text-embedding-3-small", provider: "openai",
                    usage: Usage(inputTokens: 8, totalTokens: 8, source: .provider)))
        let sent = try #require(client.requests.first)
        #expect(sent.url == "http://127.0.0.1:9/v1/embeddings")
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"model":"gpt-4o-2024-08-06","input":["first","second"],"encoding_format":"float","dimensions":2}"#)
    }

    @Test(arguments: [
        #"{"data":[{"embedding":[1],"index":0}]}"#,  // one vector for two inputs
        #"{"data":[{"embedding":[1],"index":0},{"embedding":[2],"index":0}]}"#,  // repeated index
        #"{"data":[{"embedding":[1],"index":0},{"embedding":[2],"index":5}]}"#,  // out of range
        #"{"data":[{"embedding":"AAAAAA==","index":0},{"embedding":[2],"index":1}]}"#,  // base64
        #"{"data":[{"embedding":[1,"x"],"index":0},{"embedding":[2],"index":1}]}"#,
    ])
    func malformedEmbeddings(_ body: String) async {
        let provider = provider(FakeUpstreamClient(json: body))
        let error = await thrownGatewayError {
            _ = try await provider.embed(EmbedRequest(model: "e", inputs: ["a", "b"]), deployment: deployment(provider), context: context)
        }
        #expect(error?.detail.kind == .upstreamMalformed)
    }
}
