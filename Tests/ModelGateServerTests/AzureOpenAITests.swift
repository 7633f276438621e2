import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateTestSupport
import Testing

/// The Azure OpenAI adapter end to end: the real gateway, libcurl and the real fake upstream
/// speaking Azure on `/openai/deployments/{deployment}/…?api-version=…` and `/openai/v1/…`.
@Suite("Azure OpenAI end to end", .serialized)
struct AzureOpenAITests {
    static let apiKey = "azure-e2e-0123456789abcdef0123456789"
    static let keyVariable = "MODELGATE_TEST_AZURE_KEY"
    static let tokenVariable = "MODELGATE_TEST_AZURE_ENTRA_TOKEN"

    private func setup(
        _ models: [String: String], embeddingModels: [String: String] = [:], options: String? = nil,
        idleTimeoutMilliseconds: Int? = nil
    ) throws -> ProviderSetup {
        setenv(Self.keyVariable, Self.apiKey, 1)
        return try ProviderSetup(
            kind: "azure_openai", models: models, embeddingModels: embeddingModels,
            providerOptions: options ?? "    api_key_env: \(Self.keyVariable)\n", idleTimeoutMilliseconds: idleTimeoutMilliseconds)
    }

    @Test("a streamed chat: Azure's filter chunks pass unseen; the request as sent")
    func streamedChat() async throws {
        let setup = try setup(["az": "tokens=5"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(
            try await client.chatStream(userMessage("count to five", model: "az"), options: CallOptions(requestID: "az-stream")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "tok1 tok2 tok3 tok4 tok5 ")
        #expect(chunks.map(\.sequence) == Array(0..<UInt64(chunks.count)))
        let event = try #require(try setup.upstream.events(requestID: "az-stream").first)
        #expect(chunks.first?.id == "chatcmpl-fake\(event.seq)", "the id of the first real chunk, not the filter chunk's")
        #expect(chunks.first?.model == "tokens=5" && chunks.first?.provider == "up")
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .stop && final.providerFinishReason == "stop")
        let usage = try #require(final.usage)
        #expect(usage.inputTokens == 3 && usage.outputTokens == 5 && usage.totalTokens == 8 && usage.source == .provider)
        #expect(usage.costUSD == (3.0 * 1 + 5.0 * 4) / 1_000_000)

        #expect(event.path == "/openai/deployments/tokens%3D5/chat/completions?api-version=2024-10-21")
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.header("api-key") == Self.apiKey)
        #expect(sent.header("authorization") == nil)
        #expect(sent.header("accept") == "text/event-stream")
        #expect(sent.header("x-request-id") == "az-stream")
        #expect(
            sent.body
                == #"{"messages":[{"role":"user","content":"count to five"}],"stream":true,"stream_options":{"include_usage":true}}"#)
        await client.close()
    }

    @Test("a unary chat with a system prompt and sampling")
    func unaryChat() async throws {
        let setup = try setup(["az": "tokens=4"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let request = ChatRequest(
            model: "az", messages: [ChatMessage(role: .system, text: "be brief"), ChatMessage(role: .user, text: "hi")],
            temperature: 0, maxTokens: 16)
        let response = try await client.chat(request, options: CallOptions(requestID: "az-unary"))
        #expect(response.text == "tok1 tok2 tok3 tok4 ")
        #expect(response.finishReason == .stop && response.provider == "up" && response.model == "tokens=4")
        #expect(response.usage.inputTokens == 3 && response.usage.outputTokens == 4 && response.usage.totalTokens == 7)
        let event = try #require(try setup.upstream.events(requestID: "az-unary").first)
        #expect(event.path == "/openai/deployments/tokens%3D4/chat/completions?api-version=2024-10-21")
        #expect(
            try setup.upstream.request(event.seq).body
                == #"{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"stream":false,"temperature":0.0,"max_completion_tokens":16}"#
        )
        await client.close()
    }

    @Test("embeddings on the deployment's URL")
    func embeddings() async throws {
        let setup = try setup([:], embeddingModels: ["emb": "text-embedding-3-small"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let response = try await client.embed(
            EmbedRequest(model: "emb", inputs: ["a b", "c"], dimensions: 3), options: CallOptions(requestID: "az-emb"))
        #expect(response.embeddings.map(\.index) == [0, 1])
        #expect(response.embeddings[1].values == [0.002, 0.004, 0.006])
        #expect(response.usage.inputTokens == 3)
        let event = try #require(try setup.upstream.events(requestID: "az-emb").first)
        #expect(event.path == "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21")
        #expect(try setup.upstream.request(event.seq).body == #"{"input":["a b","c"],"encoding_format":"float","dimensions":3}"#)
        await client.close()
    }

    @Test("the content filter: a blocked prompt is CONTENT_FILTERED; filtered output finishes with content_filter")
    func contentFilter() async throws {
        let setup = try setup(["blocked": "status=400;error_code=content_filter", "cut": "tokens=3;finish_reason=content_filter"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let failure = try expectFailedStream(
            await collect(try await client.chatStream(userMessage("x", model: "blocked"))), "blocked prompt",
            code: .invalidArgument, kind: .contentFiltered, provider: "up", partial: false)
        #expect(failure.detail.upstreamCode == "content_filter" && failure.detail.upstreamStatus == 400)
        #expect(failure.detail.upstreamMessage.hasPrefix("The response was filtered due to the prompt triggering Azure OpenAI"))
        let unary = await #expect(throws: GatewayError.self) { _ = try await client.chat(userMessage("x", model: "blocked")) }
        #expect(unary?.detail.kind == .contentFiltered)

        let (chunks, error) = await collect(try await client.chatStream(userMessage("x", model: "cut")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "tok1 tok2 tok3 ")
        #expect(chunks.last?.finishReason == .contentFilter && chunks.last?.providerFinishReason == "content_filter")
        let response = try await client.chat(userMessage("x", model: "cut"))
        #expect(response.finishReason == .contentFilter)
        await client.close()
    }

    @Test("a 429 carries retry-after-ms, which wins over retry-after")
    func rateLimited() async throws {
        let setup = try setup(["busy": "status=429;retry_after=2;retry_after_ms=1500"])
        defer { setup.stop() }
        let failure = try await setup.streamFailure(
            model: "busy", scenario: "status=429", code: .resourceExhausted, kind: .rateLimited, partial: false)
        #expect(failure.detail.retryable && failure.detail.retryAfterMilliseconds == 1500)
        #expect(failure.detail.upstreamCode == "429" && failure.detail.upstreamStatus == 429)
    }

    @Test("the v1 surface with an Entra ID token: model in the body, no api-version")
    func v1WithEntraToken() async throws {
        setenv(Self.tokenVariable, "eyJ0eXAiOiJKV1QiLCJhbGciOi.fake", 1)
        let setup = try setup(
            ["az": "tokens=2"], options: "    api_version: v1\n    entra_token_env: \(Self.tokenVariable)\n")
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let response = try await client.chat(userMessage("hi", model: "az"), options: CallOptions(requestID: "az-v1"))
        #expect(response.text == "tok1 tok2 ")
        let event = try #require(try setup.upstream.events(requestID: "az-v1").first)
        #expect(event.path == "/openai/v1/chat/completions")
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.header("authorization") == "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.fake" && sent.header("api-key") == nil)
        #expect(sent.body == #"{"model":"tokens=2","messages":[{"role":"user","content":"hi"}],"stream":false}"#)
        await client.close()
    }

    @Test("without a credential Azure (the fake) answers 401: an authentication failure")
    func missingKey() async throws {
        let setup = try setup(["az": "tokens=2"], options: "")
        defer { setup.stop() }
        let failure = try await setup.streamFailure(
            model: "az", scenario: "no key", code: .failedPrecondition, kind: .upstreamAuth, partial: false)
        #expect(failure.detail.upstreamCode == "401")
    }

    @Test("CANCEL mid-stream drops the upstream connection")
    func cancellation() async throws {
        let setup = try setup(["slow": "tokens=1000;pace_ms=10"])
        defer { setup.stop() }
        try await setup.expectCancellationReachesTheUpstream(model: "slow", requestID: "az-cancel")
    }

    @Test("stream faults: none is OK", arguments: ProviderSetup.streamFaults)
    func upstreamFailures(scenario: String, code: StatusCode, kind: ErrorKind, partial: Bool) async throws {
        let setup = try setup(["az": scenario], idleTimeoutMilliseconds: 400)
        defer { setup.stop() }
        _ = try await setup.streamFailure(model: "az", scenario: scenario, code: code, kind: kind, partial: partial)
    }
}
