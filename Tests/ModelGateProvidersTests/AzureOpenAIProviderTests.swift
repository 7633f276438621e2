import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import ModelGateUpstream
import Testing

@Suite("Azure OpenAI provider")
struct AzureOpenAIProviderTests {
    static let key = "0123456789abcdef0123456789abcdef"
    static let endpoint = "https://contoso.openai.azure.com/"

    private func provider(
        _ client: FakeUpstreamClient, apiVersion: String = AzureOpenAIProviderConfiguration.defaultAPIVersion,
        credential: AzureOpenAIProviderConfiguration.Credential = .apiKey, chatAPI: OpenAIChatAPI = .chatCompletions
    ) -> AzureOpenAIProvider {
        AzureOpenAIProvider(
            configuration: AzureOpenAIProviderConfiguration(
                endpoint: ProviderEndpoint(
                    name: "azure", baseURL: Self.endpoint, apiKey: Self.key, extraHeaders: [HTTPHeader("X-Extra", "1")]),
                credential: credential, apiVersion: apiVersion, chatAPI: chatAPI),
            client: client)
    }

    private func deployment(_ provider: AzureOpenAIProvider) -> Deployment {
        Deployment(modelName: "gpt", upstreamModel: "gpt-4o prod", provider: provider)
    }

    private let context = CallContext(requestID: "az-1")

    private func header(_ name: String, in request: UpstreamRequest) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    private func body(_ request: UpstreamRequest) -> String {
        String(decoding: request.body, as: UTF8.self)
    }

    /// A chat with a system prompt, an image, tools and sampling; the Responses API tests send
    /// the same chat (`OpenAIResponsesProviderTests/theSameChatOnTheResponsesAPI`).
    static let chatRequest = ChatRequest(
        model: "gpt",
        messages: [
            ChatMessage(role: .system, text: "You are terse."),
            ChatMessage(
                role: .user, parts: [.text("What is this?"), .imageURL(url: "https://example.com/sky.jpg", detail: "low")]),
        ],
        tools: [
            ToolDefinition(
                name: "get_weather", description: "Current weather",
                parametersJSON: #"{"type":"object","properties":{"city":{"type":"string"}}}"#)
        ],
        toolChoice: .auto, temperature: 0.2, topP: 0.9, maxTokens: 100)

    /// Azure's answer: the OpenAI completion plus filter results.
    static let completion = #"""
        {"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"finish_reason":"stop","index":0,"logprobs":null,
          "message":{"content":"A clear sky.","refusal":null,"role":"assistant"}}],"created":1727346168,"id":"chatcmpl-AZ1","model":"gpt-4o-2024-08-06",
         "object":"chat.completion","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}],
         "system_fingerprint":"fp_az","usage":{"completion_tokens":4,"prompt_tokens":30,"total_tokens":34,"prompt_tokens_details":{"cached_tokens":16}}}
        """#

    // MARK: Deployment URLs

    @Test func chatOnADeploymentURL() async throws {
        let client = FakeUpstreamClient(json: Self.completion)
        let provider = provider(client)
        let response = try await provider.chat(Self.chatRequest, deployment: deployment(provider), context: context)
        #expect(
            response
                == ChatResponse(
                    id: "chatcmpl-AZ1", model: "gpt-4o-2024-08-06", provider: "azure", text: "A clear sky.", finishReason: .stop,
                    providerFinishReason: "stop",
                    usage: Usage(inputTokens: 30, outputTokens: 4, cachedInputTokens: 16, totalTokens: 34, source: .provider)))
        let sent = try #require(client.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.url == "https://contoso.openai.azure.com/openai/deployments/gpt-4o%20prod/chat/completions?api-version=2024-10-21")
        #expect(header("api-key", in: sent) == Self.key)
        #expect(header("Authorization", in: sent) == nil)
        #expect(header("Content-Type", in: sent) == "application/json" && header("Accept", in: sent) == "application/json")
        #expect(header("X-Request-Id", in: sent) == "az-1" && header("X-Extra", in: sent) == "1")
        #expect(sent.secretHeaderNames.contains("api-key"))
        // No `model`: the deployment in the path names it. 2024-10-21 takes max_completion_tokens.
        #expect(
            body(sent)
                == #"{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/sky.jpg","detail":"low"}}]}],"stream":false,"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"tool_choice":"auto","temperature":0.2,"top_p":0.9,"max_completion_tokens":100}"#
        )
    }

    /// Azure's stream opens with a chunk holding only `prompt_filter_results`; the response id
    /// and model come from the next one. The filter stopping the output is a content-filter
    /// finish.
    @Test func streamWithFilterResultsAndAContentFilterFinish() async throws {
        let stream = #"""
            data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}

            data: {"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1727346168,"id":"chatcmpl-AZ2","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_az"}

            data: {"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"Once upon"},"finish_reason":null,"index":0,"logprobs":null}],"created":1727346168,"id":"chatcmpl-AZ2","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_az"}

            data: {"choices":[{"content_filter_results":{"violence":{"filtered":true,"severity":"high"}},"delta":{},"finish_reason":"content_filter","index":0,"logprobs":null}],"created":1727346168,"id":"chatcmpl-AZ2","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_az"}

            data: {"choices":[],"created":1727346168,"id":"chatcmpl-AZ2","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","usage":{"completion_tokens":3,"prompt_tokens":12,"total_tokens":15}}

            data: [DONE]


            """#
        let client = FakeUpstreamClient(body: Array(stream.utf8), chunkSize: 37)
        let provider = provider(client)
        let sink = RecordingSink()
        try await provider.chatStream(Self.chatRequest, deployment: deployment(provider), context: context, into: sink)
        #expect(
            sink.events == [
                .started(id: "chatcmpl-AZ2", model: "gpt-4o-2024-08-06"),
                .delta(ChatDelta(text: "Once upon")),
                .finished(.contentFilter, providerReason: "content_filter"),
                .usage(Usage(inputTokens: 12, outputTokens: 3, totalTokens: 15, source: .provider)),
            ])
        let sent = try #require(client.requests.first)
        #expect(header("Accept", in: sent) == "text/event-stream")
        #expect(body(sent).contains(#""stream":true,"stream_options":{"include_usage":true}"#))
        #expect(!body(sent).contains(#""model""#))
    }

    @Test func embeddingsOnADeploymentURL() async throws {
        let client = FakeUpstreamClient(
            json: #"{"data":[{"embedding":[0.5,-1],"index":0,"object":"embedding"},{"embedding":[2,0.25],"index":1,"object":"embedding"}],"model":"text-embedding-3-small","object":"list","usage":{"prompt_tokens":3,"total_tokens":3}}"#
        )
        let provider = provider(client)
        let response = try await provider.embed(
            EmbedRequest(model: "emb", inputs: ["a b", "c"], dimensions: 2), deployment: deployment(provider), context: context)
        #expect(response.embeddings.map(\.values) == [[0.5, -1], [2, 0.25]])
        #expect(response.usage.inputTokens == 3 && response.model == "text-embedding-3-small")
        let sent = try #require(client.requests.first)
        #expect(sent.url == "https://contoso.openai.azure.com/openai/deployments/gpt-4o%20prod/embeddings?api-version=2024-10-21")
        #expect(body(sent) == #"{"input":["a b","c"],"encoding_format":"float","dimensions":2}"#)
    }

    @Test func olderAPIVersionsGetMaxTokensAndNoStreamOptions() async throws {
        let client = FakeUpstreamClient(json: Self.completion)
        let provider = provider(client, apiVersion: "2024-06-01")
        _ = try await provider.chat(Self.chatRequest, deployment: deployment(provider), context: context)
        let sent = try #require(client.requests.first)
        #expect(sent.url.hasSuffix("/chat/completions?api-version=2024-06-01"))
        #expect(body(sent).contains(#""max_tokens":100"#) && !body(sent).contains("max_completion_tokens"))
        let streaming = AzureOpenAIProviderConfiguration(
            endpoint: ProviderEndpoint(name: "a", baseURL: Self.endpoint), apiVersion: "2024-06-01")
        #expect(!streaming.includeStreamUsage && streaming.maxTokensField == .maxTokens)
    }

    // MARK: The v1 surface, Entra ID, the Responses API

    @Test func v1SurfaceNamesTheDeploymentInTheBodyAndEntraTokensAreBearer() async throws {
        let client = FakeUpstreamClient(json: Self.completion)
        let provider = provider(client, apiVersion: "v1", credential: .entraToken)
        _ = try await provider.chat(userMessage, deployment: deployment(provider), context: context)
        let sent = try #require(client.requests.first)
        #expect(sent.url == "https://contoso.openai.azure.com/openai/v1/chat/completions")
        #expect(header("Authorization", in: sent) == "Bearer \(Self.key)" && header("api-key", in: sent) == nil)
        #expect(body(sent) == #"{"model":"gpt-4o prod","messages":[{"role":"user","content":"Hi"}],"stream":false}"#)
        #expect(provider.url(.embeddings, deployment: "d") == "https://contoso.openai.azure.com/openai/v1/embeddings")
    }

    private let userMessage = ChatRequest(model: "gpt", messages: [ChatMessage(role: .user, text: "Hi")])

    @Test func responsesAPIOnBothSurfaces() async throws {
        let answer = #"{"id":"resp_az","object":"response","status":"completed","model":"gpt-4.1","output":[{"type":"message","id":"m","role":"assistant","content":[{"type":"output_text","text":"Bonjour","annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}"#
        let dated = FakeUpstreamClient(json: answer)
        let datedProvider = provider(dated, apiVersion: "2025-04-01-preview", chatAPI: .responses)
        let response = try await datedProvider.chat(userMessage, deployment: deployment(datedProvider), context: context)
        #expect(response.text == "Bonjour" && response.id == "resp_az" && response.usage.totalTokens == 7)
        let sent = try #require(dated.requests.first)
        #expect(sent.url == "https://contoso.openai.azure.com/openai/responses?api-version=2025-04-01-preview")
        #expect(
            body(sent)
                == #"{"model":"gpt-4o prod","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Hi"}]}],"store":false,"stream":false}"#
        )
        let v1 = provider(FakeUpstreamClient(json: answer), apiVersion: "v1", chatAPI: .responses)
        #expect(v1.url(.responses, deployment: "x") == "https://contoso.openai.azure.com/openai/v1/responses")
    }

    // MARK: Errors

    @Test func contentFilterErrorIsContentFiltered() async {
        let body = #"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"self_harm":{"filtered":true,"severity":"medium"}}}}}"#
        let provider = provider(FakeUpstreamClient(status: 400, json: body))
        let error = await thrownGatewayError { _ = try await provider.chat(userMessage, deployment: deployment(provider), context: context) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.detail.kind == .contentFiltered)
        #expect(error?.detail.upstreamCode == "content_filter" && error?.detail.upstreamStatus == 400)
        #expect(error?.detail.retryable == false && error?.detail.requestID == "az-1")
    }

    @Test func rateLimitsHonourRetryAfterMilliseconds() async {
        let body = #"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit. Please retry after 2 seconds."}}"#
        let client = FakeUpstreamClient(
            status: 429, headers: [HTTPHeader("retry-after", "2"), HTTPHeader("retry-after-ms", "1500"), HTTPHeader("x-ms-region", "East US")],
            json: body)
        let provider = provider(client)
        let error = await thrownGatewayError {
            try await provider.chatStream(userMessage, deployment: deployment(provider), context: context, into: RecordingSink())
        }
        #expect(error?.code == .resourceExhausted && error?.detail.kind == .rateLimited)
        #expect(error?.detail.retryable == true && error?.detail.retryAfterMilliseconds == 1500)
        #expect(error?.detail.upstreamCode == "429")
    }

    @Test func unknownDeploymentAndBadKey() async {
        let missing = provider(
            FakeUpstreamClient(status: 404, json: #"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#))
        let notFound = await thrownGatewayError { _ = try await missing.chat(userMessage, deployment: deployment(missing), context: context) }
        #expect(notFound?.code == .notFound && notFound?.detail.upstreamCode == "DeploymentNotFound")
        let denied = provider(
            FakeUpstreamClient(status: 401, json: #"{"error":{"code":"401","message":"Access denied due to invalid subscription key \#(Self.key)."}}"#))
        let auth = await thrownGatewayError { _ = try await denied.chat(userMessage, deployment: deployment(denied), context: context) }
        #expect(auth?.code == .failedPrecondition && auth?.detail.kind == .upstreamAuth)
        #expect(auth?.detail.upstreamMessage.contains(Self.key) == false, "the key is redacted")
    }
}
