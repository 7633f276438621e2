import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import ModelGateUpstream
import Testing

@Suite("Cohere provider")
struct CohereProviderTests {
    static let apiKey = "co-test-key-0123456789abcdef"

    private func provider(_ client: FakeUpstreamClient) -> CohereProvider {
        CohereProvider(
            configuration: CohereProviderConfiguration(
                endpoint: ProviderEndpoint(
                    name: "cohere", baseURL: "http://127.0.0.1:9/", apiKey: Self.apiKey,
                    extraHeaders: [HTTPHeader("X-Client-Name", "modelgate-tests")])),
            client: client)
    }

    private func deployment(_ provider: CohereProvider, model: String = "command-a-03-2025") -> Deployment {
        Deployment(modelName: "co", upstreamModel: model, provider: provider)
    }

    private let request = ChatRequest(model: "co", messages: [ChatMessage(role: .user, text: "Tell me about LLMs")])
    private let context = CallContext(requestID: "req-9")

    private func header(_ name: String, in request: UpstreamRequest) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    // MARK: Chat

    @Test("unary: text, thinking, plan and a tool call; the request as sent")
    func unaryChat() async throws {
        let answer = #"""
            {"id":"c14c80c3-18eb-4519-9460-6c92edd8cfb4","finish_reason":"TOOL_CALL","message":{"role":"assistant",
             "content":[{"type":"thinking","thinking":"The user wants sales."},{"type":"text","text":"Checking."}],
             "tool_plan":" I will call the report.",
             "tool_calls":[{"id":"query_daily_sales_report_1","type":"function","function":{"name":"query_daily_sales_report","arguments":"{\"day\": \"2023-09-29\"}"}}],
             "citations":[]},
             "usage":{"billed_units":{"input_tokens":13,"output_tokens":20},"tokens":{"input_tokens":514,"output_tokens":58},"cached_tokens":256}}
            """#
        let client = FakeUpstreamClient(json: answer)
        let provider = provider(client)
        let response = try await provider.chat(request, deployment: deployment(provider), context: context)
        #expect(
            response
                == ChatResponse(
                    id: "c14c80c3-18eb-4519-9460-6c92edd8cfb4", model: "command-a-03-2025", provider: "cohere",
                    text: "Checking.", reasoning: "The user wants sales. I will call the report.",
                    toolCalls: [
                        ToolCall(id: "query_daily_sales_report_1", name: "query_daily_sales_report", argumentsJSON: #"{"day": "2023-09-29"}"#)
                    ],
                    finishReason: .toolCalls, providerFinishReason: "TOOL_CALL",
                    usage: Usage(inputTokens: 514, outputTokens: 58, cachedInputTokens: 256, source: .provider)))

        let sent = try #require(client.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.url == "http://127.0.0.1:9/v2/chat")
        #expect(header("Authorization", in: sent) == "Bearer " + Self.apiKey)
        #expect(header("Content-Type", in: sent) == "application/json")
        #expect(header("Accept", in: sent) == "application/json")
        #expect(header("X-Request-Id", in: sent) == "req-9")
        #expect(header("X-Client-Name", in: sent) == "modelgate-tests")
        #expect(sent.secretHeaderNames.contains("authorization"))
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"model":"command-a-03-2025","messages":[{"role":"user","content":"Tell me about LLMs"}],"stream":false}"#)
    }

    @Test func unaryFailedGenerationIsNotOK() async {
        let provider = provider(
            FakeUpstreamClient(json: #"{"id":"x","finish_reason":"ERROR","message":{"role":"assistant","content":[]}}"#))
        let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
        #expect(error?.code == .unavailable && error?.detail.kind == .upstreamUnavailable)
        #expect(error?.detail.upstreamCode == "ERROR")
        #expect(error?.detail.requestID == "req-9")
    }

    @Test("the streamed fixture through the transport, in 7-byte pieces; headers of a stream")
    func streamedFixture() async throws {
        let client = FakeUpstreamClient(body: try cohereFixtureStream(CohereStreamDecoderTests.textStream) + Array("data: [DONE]\n\n".utf8), chunkSize: 7)
        let provider = provider(client)
        let sink = RecordingSink()
        try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)
        let response = assembledResponse(sink.events, provider: "cohere")
        #expect(response.text.hasPrefix("LLMs stand for Large Language Models"))
        #expect(response.usage.inputTokens == 71 && response.usage.outputTokens == 26)
        let sent = try #require(client.requests.first)
        #expect(header("Accept", in: sent) == "text/event-stream")
        #expect(try JSONDocument(parsing: sent.body).root["stream"].bool == true)
    }

    // MARK: Errors

    @Test("HTTP errors: Cohere's statuses mapped to typed errors")
    func httpErrors() async {
        let table: [(Int, StatusCode, ErrorKind, Bool)] = [
            (400, .invalidArgument, .invalidRequest, false),
            (401, .failedPrecondition, .upstreamAuth, false),
            (403, .permissionDenied, .upstreamPermission, false),
            (404, .notFound, .upstreamNotFound, false),
            (422, .invalidArgument, .invalidRequest, false),
            (429, .resourceExhausted, .rateLimited, true),
            (498, .failedPrecondition, .upstreamAuth, false),
            (499, .unavailable, .upstreamUnavailable, true),
            (500, .unavailable, .upstreamUnavailable, true),
            (501, .unavailable, .upstreamUnavailable, true),
            (503, .unavailable, .upstreamUnavailable, true),
            (504, .unavailable, .upstreamUnavailable, true),
        ]
        for (status, code, kind, retryable) in table {
            let body = #"{"id":"0f5a7e2c","message":"status \#(status) with key \#(Self.apiKey)"}"#
            let provider = provider(FakeUpstreamClient(status: status, headers: [HTTPHeader("Retry-After", "2")], json: body))
            let error = await thrownGatewayError {
                try await provider.chatStream(request, deployment: deployment(provider), context: context, into: RecordingSink())
            }
            #expect(error?.code == code, "\(status)")
            #expect(error?.detail.kind == kind, "\(status)")
            #expect(error?.detail.retryable == retryable, "\(status)")
            #expect(error?.detail.retryAfterMilliseconds == (retryable ? 2000 : 0), "\(status)")
            #expect(error?.detail.provider == "cohere", "\(status)")
            #expect(error?.detail.upstreamStatus == UInt32(status), "\(status)")
            #expect(error?.detail.upstreamMessage == "status \(status) with key [REDACTED]", "\(status)")
        }
    }

    @Test func contextLengthMessagesAreRecognized() async {
        let body =
            #"{"id":"a","message":"too many tokens: total number of tokens in the prompt cannot exceed 128000 - received 130512. Try using a shorter prompt"}"#
        let provider = provider(FakeUpstreamClient(status: 400, json: body))
        let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.detail.kind == .contextLengthExceeded)
    }

    // MARK: Embeddings and predict

    @Test func embeddings() async throws {
        let answer =
            #"{"id":"e1","texts":["a","b c"],"embeddings":{"float":[[0.25,-1.5e-2],[1,2]]},"meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":3}},"response_type":"embeddings_by_type"}"#
        let client = FakeUpstreamClient(json: answer)
        let cohere = provider(client)
        let response = try await cohere.embed(
            EmbedRequest(model: "emb", inputs: ["a", "b c"], inputType: "query"), deployment: deployment(cohere, model: "embed-v4.0"),
            context: context)
        #expect(response.embeddings == [Embedding(index: 0, values: [0.25, -0.015]), Embedding(index: 1, values: [1, 2])])
        #expect(response.usage == Usage(inputTokens: 3, source: .provider))
        #expect(response.model == "embed-v4.0" && response.provider == "cohere")
        let sent = try #require(client.requests.first)
        #expect(sent.url == "http://127.0.0.1:9/v2/embed")
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"model":"embed-v4.0","texts":["a","b c"],"input_type":"search_query","embedding_types":["float"]}"#)

        let missing = provider(FakeUpstreamClient(json: #"{"id":"e2","embeddings":{"float":[[1]]},"meta":{}}"#))
        let error = await thrownGatewayError {
            _ = try await missing.embed(EmbedRequest(model: "emb", inputs: ["a", "b"]), deployment: deployment(missing), context: context)
        }
        #expect(error?.detail.kind == .upstreamMalformed)
        let unreported = try await missing.embed(EmbedRequest(model: "emb", inputs: ["a"]), deployment: deployment(missing), context: context)
        #expect(unreported.usage.source == .notReported)
    }

    @Test func predictIsUnsupportedAndNothingIsSent() async {
        let client = FakeUpstreamClient(json: "{}")
        let provider = provider(client)
        let error = await thrownGatewayError {
            _ = try await provider.predict(
                PredictRequest(model: "co", inputs: []), deployment: deployment(provider), context: context)
        }
        #expect(error?.detail.kind == .unsupportedFeature)
        #expect(client.requests.isEmpty)
    }
}
