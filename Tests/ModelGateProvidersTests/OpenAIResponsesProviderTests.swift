import ModelGateCore
import ModelGateProviders
import ModelGateUpstream
import Testing

@Suite("OpenAI provider on the Responses API")
struct OpenAIResponsesProviderTests {
    private func provider(_ client: FakeUpstreamClient, store: Bool = false) -> OpenAIProvider {
        OpenAIProvider(
            configuration: OpenAIProviderConfiguration(
                name: "oai", baseURL: "https://api.openai.com/v1/", apiKey: "sk-test-0123456789abcdefghijklmnop",
                chatAPI: .responses, storeResponses: store),
            client: client)
    }

    private func deployment(_ provider: OpenAIProvider) -> Deployment {
        Deployment(modelName: "gpt", upstreamModel: "gpt-4.1", provider: provider)
    }

    private let context = CallContext(requestID: "r-1")
    private let request = ChatRequest(
        model: "gpt", messages: [ChatMessage(role: .system, text: "Be brief."), ChatMessage(role: .user, text: "Weather?")])

    @Test func unaryAnswerWithReasoningAndAFunctionCall() async throws {
        let client = FakeUpstreamClient(
            json: #"""
                {"id":"resp_1","object":"response","created_at":1741290958,"status":"completed","error":null,"incomplete_details":null,
                 "model":"o4-mini-2025-04-16","output":[
                   {"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Look it up."}]},
                   {"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Let me check.","annotations":[]}]},
                   {"id":"fc_1","type":"function_call","status":"completed","call_id":"call_9","name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},
                   {"id":"ws_1","type":"web_search_call","status":"completed"}],
                 "usage":{"input_tokens":40,"input_tokens_details":{"cached_tokens":32},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":60}}
                """#)
        let provider = provider(client)
        let response = try await provider.chat(request, deployment: deployment(provider), context: context)
        #expect(
            response
                == ChatResponse(
                    id: "resp_1", model: "o4-mini-2025-04-16", provider: "oai", text: "Let me check.", reasoning: "Look it up.",
                    toolCalls: [ToolCall(id: "call_9", name: "get_weather", argumentsJSON: #"{"city":"Oslo"}"#)],
                    finishReason: .toolCalls, providerFinishReason: "completed",
                    usage: Usage(
                        inputTokens: 40, outputTokens: 20, cachedInputTokens: 32, reasoningTokens: 12, totalTokens: 60,
                        source: .provider)))
        let sent = try #require(client.requests.first)
        #expect(sent.url == "https://api.openai.com/v1/responses")
        #expect(sent.headers.contains(HTTPHeader("Authorization", "Bearer sk-test-0123456789abcdefghijklmnop")))
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"model":"gpt-4.1","instructions":"Be brief.","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Weather?"}]}],"store":false,"stream":false}"#
        )
    }

    /// The chat the Azure tests send to Chat Completions, on the Responses API: the exact URL,
    /// headers and body.
    @Test func theSameChatOnTheResponsesAPI() async throws {
        let client = FakeUpstreamClient(body: try Fixtures.bytes("openai_responses_stream.sse"))
        let streamer = provider(client)
        try await streamer.chatStream(
            AzureOpenAIProviderTests.chatRequest, deployment: deployment(streamer), context: context, into: RecordingSink())
        let sent = try #require(client.requests.first)
        #expect(sent.method == "POST" && sent.url == "https://api.openai.com/v1/responses")
        #expect(
            sent.headers == [
                HTTPHeader("Content-Type", "application/json"), HTTPHeader("Accept", "text/event-stream"),
                HTTPHeader("Authorization", "Bearer sk-test-0123456789abcdefghijklmnop"), HTTPHeader("X-Request-Id", "r-1"),
            ])
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"model":"gpt-4.1","instructions":"You are terse.","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"What is this?"},{"type":"input_image","image_url":"https://example.com/sky.jpg","detail":"low"}]}],"tools":[{"type":"function","name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":false}],"tool_choice":"auto","temperature":0.2,"top_p":0.9,"max_output_tokens":100,"store":false,"stream":true}"#
        )
    }

    @Test func incompleteAndFailedUnaryAnswers() async throws {
        let incomplete = provider(
            FakeUpstreamClient(
                json: #"{"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[{"type":"message","content":[{"type":"output_text","text":"Trunc"}]}]}"#),
            store: true)
        let response = try await incomplete.chat(request, deployment: deployment(incomplete), context: context)
        #expect(response.text == "Trunc" && response.finishReason == .length && response.providerFinishReason == "max_output_tokens")
        #expect(response.model == "gpt-4.1", "the deployment's model when the answer names none")

        let failed = provider(
            FakeUpstreamClient(json: #"{"id":"r","status":"failed","error":{"code":"server_error","message":"Try again"},"output":[]}"#))
        let error = await thrownGatewayError { _ = try await failed.chat(request, deployment: deployment(failed), context: context) }
        #expect(error?.code == .unavailable && error?.detail.kind == .upstreamUnavailable)
        #expect(error?.detail.upstreamMessage == "Try again" && error?.detail.requestID == "r-1")

        let queued = provider(FakeUpstreamClient(json: #"{"id":"r","status":"queued","output":[]}"#))
        let malformed = await thrownGatewayError { _ = try await queued.chat(request, deployment: deployment(queued), context: context) }
        #expect(malformed?.detail.kind == .upstreamMalformed)
    }

    @Test func streamsTheFixtureAndKeepsEmbeddingsOnTheirEndpoint() async throws {
        let client = FakeUpstreamClient(body: try Fixtures.bytes("openai_responses_stream.sse"), chunkSize: 64)
        let streamer = provider(client)
        let sink = RecordingSink()
        try await streamer.chatStream(request, deployment: deployment(streamer), context: context, into: sink)
        #expect(sink.events.count == 5 && sink.events.last == .finished(.stop, providerReason: "completed"))
        let sent = try #require(client.requests.first)
        #expect(sent.url == "https://api.openai.com/v1/responses")
        #expect(String(decoding: sent.body, as: UTF8.self).hasSuffix(#""store":false,"stream":true}"#))

        let embedder = provider(
            FakeUpstreamClient(json: #"{"data":[{"embedding":[1],"index":0}],"usage":{"prompt_tokens":1,"total_tokens":1}}"#))
        let embeddings = try await embedder.embed(
            EmbedRequest(model: "e", inputs: ["x"]), deployment: deployment(embedder), context: context)
        #expect(embeddings.embeddings.first?.values == [1])

        // A truncated stream is never a success.
        let cut = provider(FakeUpstreamClient(body: Array(try Fixtures.bytes("openai_responses_stream.sse").dropLast(30))))
        let error = await thrownGatewayError {
            try await cut.chatStream(request, deployment: deployment(cut), context: context, into: RecordingSink())
        }
        #expect(error?.code == .unavailable && error?.detail.kind == .upstreamTruncated)
    }
}
