import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import ModelGateUpstream
import Testing

@Suite("Gemini provider")
struct GeminiProviderTests {
    static let apiKey = "AIzaSyTestKey-0123456789abcdefghijk"

    private func provider(_ client: FakeUpstreamClient, maxUnaryResponseBytes: Int = 1 << 20) -> GeminiProvider {
        GeminiProvider(
            configuration: GeminiProviderConfiguration(
                endpoint: ProviderEndpoint(
                    name: "gemini", baseURL: "http://127.0.0.1:9/", apiKey: Self.apiKey, extraHeaders: [HTTPHeader("X-Extra", "1")],
                    maxUnaryResponseBytes: maxUnaryResponseBytes)),
            client: client)
    }

    private func deployment(_ provider: GeminiProvider, model: String = "gemini-2.0-flash") -> Deployment {
        Deployment(modelName: "gem", upstreamModel: model, provider: provider)
    }

    private let request = ChatRequest(model: "gem", messages: [ChatMessage(role: .user, text: "Where is Google's headquarters?")])
    private let context = CallContext(requestID: "req-7")

    private func header(_ name: String, in request: UpstreamRequest) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    // MARK: Unary

    @Test func unaryFixtureAndTheRequestSent() async throws {
        let client = FakeUpstreamClient(body: try Fixtures.bytes("gemini_generate_content.json"))
        let provider = provider(client)
        let response = try await provider.chat(request, deployment: deployment(provider), context: context)
        #expect(
            response
                == ChatResponse(
                    id: "", model: "gemini-2.0-flash", provider: "gemini",
                    text: "Google's headquarters, also known as the Googleplex, is located in **Mountain View, California**.\n",
                    finishReason: .stop, providerFinishReason: "STOP",
                    usage: Usage(inputTokens: 7, outputTokens: 22, totalTokens: 29, source: .provider)))

        let sent = try #require(client.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.url == "http://127.0.0.1:9/v1beta/models/gemini-2.0-flash:generateContent")
        #expect(!sent.url.contains("key="))
        #expect(header("x-goog-api-key", in: sent) == Self.apiKey)
        #expect(header("Authorization", in: sent) == nil)
        #expect(header("Content-Type", in: sent) == "application/json")
        #expect(header("Accept", in: sent) == "application/json")
        #expect(header("X-Request-Id", in: sent) == "req-7")
        #expect(header("X-Extra", in: sent) == "1")
        #expect(sent.secretHeaderNames.contains("x-goog-api-key"))
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"contents":[{"role":"user","parts":[{"text":"Where is Google's headquarters?"}]}]}"#)
    }

    @Test func unaryMalformedBodiesAndErrorEnvelopes() async throws {
        for body in ["not json", "[1]"] {
            let provider = provider(FakeUpstreamClient(json: body))
            let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
            #expect(error?.detail.kind == .upstreamMalformed, "\(body)")
            #expect(error?.detail.requestID == "req-7")
        }
        let provider = provider(FakeUpstreamClient(json: #"{"error":{"code":500,"message":"boom","status":"INTERNAL"}}"#))
        let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.kind == .upstreamUnavailable)
        let big = self.provider(FakeUpstreamClient(body: try Fixtures.bytes("gemini_generate_content.json")), maxUnaryResponseBytes: 100)
        let tooBig = await thrownGatewayError { _ = try await big.chat(request, deployment: deployment(big), context: context) }
        #expect(tooBig?.detail.kind == .upstreamMalformed)
    }

    // MARK: Errors

    @Test func invalidAPIKeyFixtureIsAnAuthenticationFailure() async throws {
        let client = FakeUpstreamClient(status: 400, body: try Fixtures.bytes("gemini_error_api_key.json"))
        let provider = provider(client)
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: RecordingSink())
        }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.detail.kind == .upstreamAuth)
        #expect(error?.detail.retryable == false)
        #expect(error?.detail.upstreamStatus == 400)
        #expect(error?.detail.upstreamMessage == "API key not valid. Please pass a valid API key.")
        #expect(error?.detail.upstreamCode == "API_KEY_INVALID")
        #expect(error?.detail.provider == "gemini")
        #expect(error?.detail.requestID == "req-7")
        #expect(error?.message == "provider \"gemini\" answered HTTP 400: API key not valid. Please pass a valid API key.")
    }

    @Test func statusNamesMapNaturally() async {
        let table: [(Int, String, StatusCode, ErrorKind, Bool)] = [
            (400, "INVALID_ARGUMENT", .invalidArgument, .invalidRequest, false),
            (400, "FAILED_PRECONDITION", .invalidArgument, .invalidRequest, false),
            (401, "UNAUTHENTICATED", .failedPrecondition, .upstreamAuth, false),
            (403, "PERMISSION_DENIED", .permissionDenied, .upstreamPermission, false),
            (404, "NOT_FOUND", .notFound, .upstreamNotFound, false),
            (429, "RESOURCE_EXHAUSTED", .resourceExhausted, .rateLimited, true),
            (500, "INTERNAL", .unavailable, .upstreamUnavailable, true),
            (503, "UNAVAILABLE", .unavailable, .upstreamUnavailable, true),
            (504, "DEADLINE_EXCEEDED", .unavailable, .upstreamTimeout, true),
            (499, "CANCELLED", .unavailable, .upstreamUnavailable, true),
        ]
        for (status, name, code, kind, retryable) in table {
            let body = #"{"error":{"code":\#(status),"message":"m","status":"\#(name)"}}"#
            let provider = provider(FakeUpstreamClient(status: status, json: body))
            let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
            #expect(error?.code == code, "\(name)")
            #expect(error?.detail.kind == kind, "\(name)")
            #expect(error?.detail.retryable == retryable, "\(name)")
            #expect(error?.detail.upstreamStatus == UInt32(status), "\(name)")
            #expect(error?.detail.upstreamCode == name, "\(name)")
        }
    }

    @Test func contextWindowErrorsAreRecognized() async {
        let body =
            #"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#
        let provider = provider(FakeUpstreamClient(status: 400, json: body))
        let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
        #expect(error?.detail.kind == .contextLengthExceeded)
    }

    @Test func retryDelayFromTheBodyUnlessAHeaderSaysOtherwise() async {
        let body =
            #"{"error":{"code":429,"message":"You exceeded your current quota; key \#(Self.apiKey) is rate limited.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37.5s"}]}}"#
        let fromBody = provider(FakeUpstreamClient(status: 429, json: body))
        let error = await thrownGatewayError { _ = try await fromBody.chat(request, deployment: deployment(fromBody), context: context) }
        #expect(error?.code == .resourceExhausted)
        #expect(error?.detail.retryAfterMilliseconds == 37_500)
        #expect(error?.detail.upstreamMessage == "You exceeded your current quota; key [REDACTED] is rate limited.")
        #expect(error.map { !$0.message.contains(Self.apiKey) } == true)

        let fromHeader = provider(FakeUpstreamClient(status: 429, headers: [HTTPHeader("Retry-After", "2")], json: body))
        let headerError = await thrownGatewayError {
            _ = try await fromHeader.chat(request, deployment: deployment(fromHeader), context: context)
        }
        #expect(headerError?.detail.retryAfterMilliseconds == 2000)
    }

    @Test func errorStatusWithATextBody() async {
        let provider = provider(FakeUpstreamClient(status: 502, json: "<html>bad gateway</html>"))
        let error = await thrownGatewayError { _ = try await provider.chat(request, deployment: deployment(provider), context: context) }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.upstreamMessage == "<html>bad gateway</html>")
    }

    // MARK: Streaming

    @Test func streamsTheThinkingFixture() async throws {
        let client = FakeUpstreamClient(body: try Fixtures.bytes("gemini_stream_thinking_function_call.sse"), chunkSize: 61)
        let provider = provider(client)
        let sink = RecordingSink()
        try await provider.chatStream(
            request, deployment: deployment(provider, model: "gemini-2.5-flash"), context: context, into: sink)
        let response = assembledResponse(sink.events, provider: "gemini")
        #expect(response.model == "gemini-2.5-flash")
        #expect(response.reasoning == GeminiStreamDecoderTests.firstThought + GeminiStreamDecoderTests.secondThought)
        #expect(response.toolCalls == [ToolCall(id: "gemini_call_0", name: "now", argumentsJSON: "{}")])
        #expect(response.finishReason == .toolCalls)
        #expect(response.usage == Usage(inputTokens: 38, outputTokens: 174, reasoningTokens: 168, totalTokens: 212, source: .provider))

        let sent = try #require(client.requests.first)
        #expect(sent.url == "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        #expect(header("Accept", in: sent) == "text/event-stream")
    }

    @Test func midStreamErrorComesAfterTheOutputBeforeIt() async throws {
        // One piece: the events decoded before the error are still relayed.
        let provider = provider(FakeUpstreamClient(body: try Fixtures.bytes("gemini_vertex_stream_error_mid_stream.txt")))
        let sink = RecordingSink()
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.upstreamCode == "CANCELLED")
        #expect(error?.detail.requestID == "req-7")
        #expect(assembledResponse(sink.events, provider: "gemini").text == "First Second ")
    }

    @Test func streamWithoutAFinishReasonIsTruncated() async throws {
        let bytes = try Fixtures.bytes("gemini_stream.sse")
        let provider = provider(FakeUpstreamClient(body: Array(bytes.prefix(600)), chunkSize: 100))
        let sink = RecordingSink()
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.kind == .upstreamTruncated)
        #expect(!sink.events.isEmpty)
    }

    @Test func sinkCancellationStopsTheStream() async throws {
        let provider = provider(FakeUpstreamClient(body: try Fixtures.bytes("gemini_stream.sse"), chunkSize: 64))
        let error = await thrownGatewayError {
            try await provider.chatStream(request, deployment: deployment(provider), context: context, into: RecordingSink(failAfter: 2))
        }
        #expect(error?.code == .cancelled)
    }

    @Test func transportFailuresAndDeadlines() async throws {
        let failing = provider(FakeUpstreamClient(.failure(UpstreamError(.connect, "refused"))))
        let error = await thrownGatewayError { _ = try await failing.chat(request, deployment: deployment(failing), context: context) }
        #expect(error?.detail.kind == .upstreamUnavailable)

        let client = FakeUpstreamClient(.failure(UpstreamError(.totalTimeout, "total")))
        let timed = provider(client)
        let expired = CallContext(requestID: "r", deadline: .now + .seconds(20))
        _ = await thrownGatewayError { _ = try await timed.chat(request, deployment: deployment(timed), context: expired) }
        let total = try #require(client.requests.first?.timeouts.total)
        #expect(total <= .seconds(20) && total > .seconds(15))
    }

    @Test func unsupportedRequestsSendNothing() async {
        let client = FakeUpstreamClient(json: "{}")
        let provider = provider(client)
        var unsupported = request
        unsupported.parallelToolCalls = false
        let error = await thrownGatewayError { _ = try await provider.chat(unsupported, deployment: deployment(provider), context: context) }
        #expect(error?.detail.kind == .unsupportedFeature)
        #expect(error?.detail.provider == "gemini")
        #expect(client.requests.isEmpty)
    }

    // MARK: Embeddings

    @Test func oneInputUsesEmbedContent() async throws {
        let client = FakeUpstreamClient(json: #"{"embedding": {"values": [0.0023064255, -0.009327292, 0.5]}}"#)
        let provider = provider(client)
        let response = try await provider.embed(
            EmbedRequest(model: "e", inputs: ["hello"]), deployment: deployment(provider, model: "gemini-embedding-001"),
            context: context)
        #expect(
            response
                == EmbedResponse(
                    embeddings: [Embedding(index: 0, values: [0.0023064255, -0.009327292, 0.5])], model: "gemini-embedding-001",
                    provider: "gemini", usage: .notReported))
        #expect(client.requests.first?.url == "http://127.0.0.1:9/v1beta/models/gemini-embedding-001:embedContent")
    }

    @Test func severalInputsUseBatchEmbedContents() async throws {
        let client = FakeUpstreamClient(json: #"{"embeddings": [{"values": [1, 2]}, {"values": [3.5, -4]}]}"#)
        let provider = provider(client)
        let response = try await provider.embed(
            EmbedRequest(model: "e", inputs: ["a", "b"], dimensions: 2), deployment: deployment(provider, model: "text-embedding-004"),
            context: context)
        #expect(response.embeddings == [Embedding(index: 0, values: [1, 2]), Embedding(index: 1, values: [3.5, -4])])
        #expect(client.requests.first?.url == "http://127.0.0.1:9/v1beta/models/text-embedding-004:batchEmbedContents")
    }

    @Test(arguments: [
        #"{"embeddings": [{"values": [1]}]}"#, #"{"embeddings": [{"values": [1]}, {"values": "x"}]}"#,
        #"{"embeddings": [{"values": [1]}, {"values": [true]}]}"#, #"{"embeddings": [{"values": [1]}, {}]}"#,
    ])
    func malformedEmbeddings(_ body: String) async {
        let provider = provider(FakeUpstreamClient(json: body))
        let error = await thrownGatewayError {
            _ = try await provider.embed(EmbedRequest(model: "e", inputs: ["a", "b"]), deployment: deployment(provider), context: context)
        }
        #expect(error?.detail.kind == .upstreamMalformed)
    }
}
