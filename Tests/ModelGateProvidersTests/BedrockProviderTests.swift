import ModelGateCore
import ModelGateProviders
import ModelGateUpstream
import Testing

private let credentials = AWSCredentials(
    accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    sessionToken: "FwoGZXIvYXdzEXAMPLETOKEN")
private let signingTime: Int64 = 1_440_938_160  // 20150830T123600Z
private let modelID = "anthropic.claude-3-haiku-20240307-v1:0"

private func provider(
    _ client: FakeUpstreamClient, authentication: BedrockProviderConfiguration.Authentication = .sigV4(credentials)
) -> BedrockProvider {
    BedrockProvider(
        configuration: BedrockProviderConfiguration(name: "bedrock", region: "us-east-1", authentication: authentication),
        client: client, clock: { signingTime })
}

private func deployment(_ provider: BedrockProvider, model: String = modelID) -> Deployment {
    Deployment(modelName: "claude", upstreamModel: model, provider: provider)
}

private let context = CallContext(requestID: "req-42")
private let hello = ChatRequest(model: "claude", messages: [ChatMessage(role: .user, text: "Hello")])

@Suite("Bedrock adapter")
struct BedrockProviderTests {
    /// The request: URL with the model id percent-encoded, JSON headers, and a SigV4 signature
    /// over exactly the headers and body sent (recomputed here with the same clock).
    @Test func streamRequestIsSignedOverWhatIsSent() async throws {
        let client = FakeUpstreamClient(
            headers: [HTTPHeader("x-amzn-RequestId", "4b1c-aws")], body: ConverseStreams.textAndToolUse, chunkSize: 7)
        let bedrock = provider(client)
        let sink = RecordingSink()
        try await bedrock.chatStream(hello, deployment: deployment(bedrock), context: context, into: sink)
        #expect(sink.events.first == .started(id: "4b1c-aws", model: ""))

        let request = try #require(client.requests.first)
        #expect(
            request.url
                == "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream")
        #expect(request.method == "POST")
        #expect(String(decoding: request.body, as: UTF8.self) == #"{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#)
        let added: Set<String> = ["host", "x-amz-date", "x-amz-security-token", "authorization"]
        let unsigned = request.headers.filter { !added.contains($0.name.lowercased()) }
        #expect(
            unsigned == [
                HTTPHeader("Content-Type", "application/json"), HTTPHeader("Accept", "application/vnd.amazon.eventstream"),
                HTTPHeader("X-Request-Id", "req-42"),
            ])
        let expected = AWSSigV4Signer(credentials: credentials, region: "us-east-1", service: "bedrock").sign(
            method: "POST", url: request.url, headers: unsigned, body: request.body, secondsSinceEpoch: signingTime)
        #expect(request.headers == expected.headers)
        #expect(expected.canonicalRequest.contains("\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse-stream\n"))
        let authorization = try #require(request.headers.first { $0.name == "Authorization" }?.value)
        #expect(
            authorization.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token;x-request-id, Signature="
            ))
        #expect(request.headers.contains(HTTPHeader("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLETOKEN")))
        #expect(request.headers.contains(HTTPHeader("Host", "bedrock-runtime.us-east-1.amazonaws.com")))
        #expect(request.secretHeaderNames.isSuperset(of: ["authorization", "x-amz-security-token"]))
    }

    @Test func apiKeyIsABearerTokenWithoutSigning() async throws {
        let client = FakeUpstreamClient(body: ConverseStreams.reasoningWithCache)
        let bedrock = provider(client, authentication: .apiKey("ABSKQmVkcm9ja0FQSUtleS1example"))
        try await bedrock.chatStream(hello, deployment: deployment(bedrock), context: context, into: RecordingSink())
        let headers = try #require(client.requests.first).headers
        #expect(headers.contains(HTTPHeader("Authorization", "Bearer ABSKQmVkcm9ja0FQSUtleS1example")))
        #expect(!headers.contains { $0.name.lowercased().hasPrefix("x-amz-") })
    }

    @Test func streamedChatAtEveryChunkSize() async throws {
        for chunkSize in [1, 3, 16, 100, Int.max] {
            let client = FakeUpstreamClient(body: ConverseStreams.textAndToolUse, chunkSize: chunkSize)
            let bedrock = provider(client)
            let sink = RecordingSink()
            try await bedrock.chatStream(hello, deployment: deployment(bedrock), context: context, into: sink)
            var assembler = ChatStreamAssembler(provider: "bedrock", model: modelID, accumulatesText: true)
            for event in sink.events { _ = assembler.consume(event) }
            let response = assembler.response()
            #expect(response.text == "Let me check the weather.")
            #expect(
                response.toolCalls
                    == [
                        ToolCall(
                            id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", name: "get_weather",
                            argumentsJSON: #"{"city": "Paris", "unit": "celsius"}"#)
                    ])
            #expect(response.usage.inputTokens == 412 && response.usage.outputTokens == 71)
        }
    }

    @Test func cutStreamIsTruncatedNotSuccess() async throws {
        let cut = Array(ConverseStreams.textAndToolUse.dropLast(30))
        let bedrock = provider(FakeUpstreamClient(body: cut, chunkSize: 50))
        let sink = RecordingSink()
        let error = await thrownGatewayError {
            try await bedrock.chatStream(hello, deployment: deployment(bedrock), context: context, into: sink)
        }
        #expect(error?.code == .unavailable && error?.detail.kind == .upstreamTruncated)
        #expect(error?.detail.requestID == "req-42")
        #expect(!sink.events.isEmpty, "what arrived before the cut was relayed")
    }

    /// The Converse response as the API reference documents it (output.message.content blocks,
    /// stopReason, usage, metrics).
    @Test func unaryChat() async throws {
        let body = """
            {"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"Weather question.","signature":"abc"}}},{"text":"Let me look that up."},{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":30,"outputTokens":12,"totalTokens":42},"metrics":{"latencyMs":456}}
            """
        let client = FakeUpstreamClient(headers: [HTTPHeader("x-amzn-RequestId", "abc-123")], json: body)
        let bedrock = provider(client)
        let response = try await bedrock.chat(hello, deployment: deployment(bedrock), context: context)
        #expect(client.requests.first?.url.hasSuffix("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse") == true)
        #expect(client.requests.first?.headers.contains(HTTPHeader("Accept", "application/json")) == true)
        #expect(
            response
                == ChatResponse(
                    id: "abc-123", model: modelID, provider: "bedrock", text: "Let me look that up.",
                    reasoning: "Weather question.",
                    toolCalls: [ToolCall(id: "tooluse_1", name: "get_weather", argumentsJSON: #"{"city":"Paris"}"#)],
                    finishReason: .toolCalls, providerFinishReason: "tool_use",
                    usage: Usage(inputTokens: 30, outputTokens: 12, totalTokens: 42, source: .provider)))
    }

    /// Titan: one InvokeModel call per input, vectors in input order, token counts summed.
    @Test func titanEmbeddings() async throws {
        let client = FakeUpstreamClient(json: #"{"embedding":[0.125,-0.5,1.0],"inputTextTokenCount":3}"#)
        let bedrock = provider(client)
        let response = try await bedrock.embed(
            EmbedRequest(model: "titan", inputs: ["one two three", "four", "five six"], dimensions: 256),
            deployment: deployment(bedrock, model: "amazon.titan-embed-text-v2:0"), context: context)
        #expect(response.embeddings.map(\.index) == [0, 1, 2])
        #expect(response.embeddings.allSatisfy { $0.values == [0.125, -0.5, 1.0] })
        #expect(response.usage == Usage(inputTokens: 9, source: .provider))
        #expect(response.model == "amazon.titan-embed-text-v2:0" && response.provider == "bedrock")
        let requests = client.requests
        #expect(requests.count == 3)
        #expect(requests.allSatisfy { $0.url.hasSuffix("/model/amazon.titan-embed-text-v2%3A0/invoke") })
        #expect(
            Set(requests.map { String(decoding: $0.body, as: UTF8.self) }) == [
                #"{"inputText":"one two three","dimensions":256}"#, #"{"inputText":"four","dimensions":256}"#,
                #"{"inputText":"five six","dimensions":256}"#,
            ])
    }

    /// Bedrock's HTTP errors: `{"message"}` bodies, the type in `x-amzn-ErrorType` (or the
    /// body's `__type`), mapped through the shared table with Bedrock's refinements.
    @Test(arguments: [
        (400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/", #"{"message":"Malformed input request"}"#,
         StatusCode.invalidArgument, ErrorKind.invalidRequest, false, UInt32(0)),
        (400, "ValidationException", #"{"message":"Input is too long for requested model."}"#, .invalidArgument,
         .contextLengthExceeded, false, 0),
        (400, "ServiceQuotaExceededException", #"{"message":"Quota exceeded"}"#, .resourceExhausted, .quotaExceeded, false, 0),
        (403, "AccessDeniedException", #"{"message":"You don't have access to the model"}"#, .permissionDenied,
         .upstreamPermission, false, 0),
        (403, "", #"{"Message":"The security token included in the request is invalid."}"#, .permissionDenied,
         .upstreamPermission, false, 0),
        (404, "ResourceNotFoundException", #"{"message":"Could not resolve the foundation model"}"#, .notFound,
         .upstreamNotFound, false, 0),
        (408, "ModelTimeoutException", #"{"message":"timed out"}"#, .unavailable, .upstreamTimeout, true, 3000),
        (424, "ModelErrorException", #"{"message":"model failed","originalStatusCode":500}"#, .unavailable,
         .upstreamUnavailable, true, 3000),
        (429, "ThrottlingException", #"{"message":"Too many requests, please wait before trying again."}"#,
         .resourceExhausted, .rateLimited, true, 3000),
        (429, "", #"{"__type":"com.amazon.coral.availability#ModelNotReadyException","message":"not ready"}"#,
         .resourceExhausted, .rateLimited, true, 3000),
        (500, "InternalServerException", #"{"message":"internal"}"#, .unavailable, .upstreamUnavailable, true, 3000),
        (503, "ServiceUnavailableException", #"{"message":"Bedrock is unable to process your request."}"#, .unavailable,
         .upstreamUnavailable, true, 3000),
    ])
    func httpErrors(
        status: Int, type: String, body: String, code: StatusCode, kind: ErrorKind, retryable: Bool, retryAfter: UInt32
    ) async throws {
        var headers = [HTTPHeader("Retry-After", "3")]
        if !type.isEmpty { headers.append(HTTPHeader("x-amzn-ErrorType", type)) }
        let bedrock = provider(FakeUpstreamClient(status: status, headers: headers, json: body))
        for stream in [false, true] {
            let error = await thrownGatewayError {
                if stream {
                    try await bedrock.chatStream(hello, deployment: deployment(bedrock), context: context, into: RecordingSink())
                } else {
                    _ = try await bedrock.chat(hello, deployment: deployment(bedrock), context: context)
                }
            }
            #expect(error?.code == code, "\(status) \(type)")
            #expect(error?.detail.kind == kind, "\(status) \(type)")
            #expect(error?.detail.retryable == retryable)
            #expect(error?.detail.retryAfterMilliseconds == retryAfter)
            #expect(error?.detail.upstreamStatus == UInt32(status))
            #expect(error?.detail.provider == "bedrock")
            #expect(error?.detail.requestID == "req-42")
            if let expectedType = type.split(separator: ":").first {
                #expect(error?.detail.upstreamCode == String(expectedType))
            }
        }
    }

    @Test func secretsNeverReachTheError() async throws {
        let body = #"{"message":"The request signature we calculated does not match. Secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY token FwoGZXIvYXdzEXAMPLETOKEN"}"#
        let bedrock = provider(FakeUpstreamClient(status: 403, headers: [HTTPHeader("x-amzn-ErrorType", "InvalidSignatureException")], json: body))
        let error = await thrownGatewayError { _ = try await bedrock.chat(hello, deployment: deployment(bedrock), context: context) }
        let message = try #require(error?.detail.upstreamMessage)
        #expect(!message.contains("EXAMPLEKEY") && !message.contains("EXAMPLETOKEN"))
        #expect(error?.message.contains("EXAMPLEKEY") == false)
        #expect(message == "The request signature we calculated does not match. Secret [REDACTED] token [REDACTED]")
    }

    @Test func unsupportedFeatureIsRefusedBeforeAnyRequest() async throws {
        let client = FakeUpstreamClient(body: [])
        let bedrock = provider(client)
        var request = hello
        request.topK = 40
        let error = await thrownGatewayError { _ = try await bedrock.chat(request, deployment: deployment(bedrock), context: context) }
        #expect(error?.detail.kind == .unsupportedFeature && error?.detail.provider == "bedrock")
        #expect(client.requests.isEmpty)
        let predict = await thrownGatewayError {
            _ = try await bedrock.predict(
                PredictRequest(model: "m", inputs: []), deployment: deployment(bedrock), context: context)
        }
        #expect(predict?.detail.kind == .unsupportedFeature)
    }

    @Test func transportFailuresMap() async throws {
        let bedrock = provider(FakeUpstreamClient(.failure(UpstreamError(.transfer, "connection reset"))))
        let error = await thrownGatewayError {
            try await bedrock.chatStream(hello, deployment: deployment(bedrock), context: context, into: RecordingSink())
        }
        #expect(error?.code == .unavailable && error?.detail.kind == .upstreamTruncated)
    }
}
