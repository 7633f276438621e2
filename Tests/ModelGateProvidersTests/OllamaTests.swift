import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import ModelGateUpstream
import Testing

@Suite("Ollama stream decoder")
struct OllamaStreamDecoderTests {
    private func run(_ pieces: [[UInt8]]) -> (events: [ChatStreamEvent], error: GatewayError?) {
        runStreamDecoder(OllamaStreamDecoder(provider: "ollama"), pieces)
    }

    private func run(_ text: String) -> (events: [ChatStreamEvent], error: GatewayError?) {
        run([Array(text.utf8)])
    }

    // MARK: Fixtures, at every split point

    @Test func ollamasOwnTestStream() throws {
        let expected: [ChatStreamEvent] = [
            .started(id: "", model: "gpt-oss:120b"),
            .delta(ChatDelta(text: "Hel")),
            .delta(ChatDelta(text: "lo")),
            .finished(.stop, providerReason: ""),
        ]
        for (label, pieces) in everySplit(try Fixtures.bytes("ollama_chat.ndjson")) {
            let (events, error) = run(pieces)
            #expect(error == nil, "\(label)")
            #expect(events == expected, "\(label)")
        }
        let response = assembledResponse(expected, provider: "ollama")
        #expect(response.text == "Hello")
        #expect(response.usage == .notReported)
    }

    @Test func documentedStreamWithUsage() throws {
        let expected: [ChatStreamEvent] = [
            .started(id: "", model: "llama3.2"),
            .delta(ChatDelta(text: "The")),
            .finished(.stop, providerReason: ""),
            .usage(Usage(inputTokens: 26, outputTokens: 282, source: .provider)),
        ]
        for (label, pieces) in everySplit(try Fixtures.bytes("ollama_chat_stream_docs.ndjson")) {
            let (events, error) = run(pieces)
            #expect(error == nil, "\(label)")
            #expect(events == expected, "\(label)")
        }
        let usage = assembledResponse(expected, provider: "ollama").usage
        #expect(usage.inputTokens == 26 && usage.outputTokens == 282 && usage.totalTokens == 308)
    }

    @Test func documentedToolCallStream() throws {
        let call = ToolCallDelta(index: 0, id: "ollama_call_0", name: "get_weather", argumentsFragment: #"{"city":"Tokyo"}"#)
        let expected: [ChatStreamEvent] = [
            .started(id: "", model: "llama3.2"),
            .delta(ChatDelta(toolCalls: [call])),
            .finished(.toolCalls, providerReason: "stop"),
            .usage(Usage(inputTokens: 169, outputTokens: 15, source: .provider)),
        ]
        for (label, pieces) in everySplit(try Fixtures.bytes("ollama_chat_stream_tools_docs.ndjson")) {
            let (events, error) = run(pieces)
            #expect(error == nil, "\(label)")
            #expect(events == expected, "\(label)")
        }
        let response = assembledResponse(expected, provider: "ollama")
        let tool = try #require(response.toolCalls.first)
        #expect(response.toolCalls.count == 1)
        #expect(tool.id == "ollama_call_0" && tool.name == "get_weather")
        let arguments = try JSONDocument(parsing: tool.argumentsJSON).root
        #expect(arguments.count == 1 && arguments["city"].string == "Tokyo")
        #expect(response.finishReason == .toolCalls && response.providerFinishReason == "stop")
    }

    /// The documented mid-stream error (an /api/generate stream: its lines have no
    /// `message`, so they carry nothing for chat, but the error line is the same).
    @Test func errorLineMidStream() throws {
        for (label, pieces) in everySplit(try Fixtures.bytes("ollama_generate_error_midstream.ndjson")) {
            let (events, error) = run(pieces)
            #expect(events == [.started(id: "", model: "gemma4")], "\(label)")
            let failure = try #require(error, "\(label)")
            #expect(failure.code == .unavailable)
            #expect(failure.detail.kind == .upstreamUnavailable)
            #expect(failure.detail.retryable)
            #expect(failure.detail.upstreamStatus == 200)
            #expect(failure.detail.upstreamMessage == "an error was encountered while running the model")
            #expect(failure.detail.provider == "ollama")
        }
    }

    // MARK: Truncation and bad lines

    @Test func everyCutBeforeTheDoneLineIsTruncated() throws {
        for name in ["ollama_chat.ndjson", "ollama_chat_stream_docs.ndjson", "ollama_chat_stream_tools_docs.ndjson"] {
            let bytes = try Fixtures.bytes(name)
            for cut in 0..<bytes.count {
                let error = run([Array(bytes[..<cut])]).error
                #expect(error?.code == .unavailable, "\(name) cut at \(cut)")
                #expect(error?.detail.kind == .upstreamTruncated, "\(name) cut at \(cut)")
            }
        }
        let bytes = try Fixtures.bytes("ollama_chat.ndjson")
        #expect(run([Array(bytes.dropLast())]).error?.message.contains("in the middle of a line") == true)
        let firstLine = try #require(bytes.firstIndex(of: 0x0A)) + 1
        #expect(
            run([Array(bytes[..<firstLine])]).error?.message
                == "provider \"ollama\" ended the stream before its \"done\": true line")
    }

    @Test func linesAfterDoneAreIgnored() {
        let (events, error) = run(#"{"model":"m","message":{"content":"a"},"done":true,"done_reason":"length"}"# + "\nnot json\n")
        #expect(error == nil)
        #expect(events == [.started(id: "", model: "m"), .delta(ChatDelta(text: "a")), .finished(.length, providerReason: "length")])
    }

    @Test(arguments: ["not json\n", "[1]\n", #"{"model": "#])
    func malformedLines(_ body: String) {
        let error = run(body + "\n" + #"{"done":true}"# + "\n").error
        #expect(error?.code == .internal)
        #expect(error?.detail.kind == .upstreamMalformed)
    }

    @Test func thinkingIdsAndStringArgumentsFromNewerServers() {
        let (events, error) = run(
            #"{"model":"qwen3","message":{"role":"assistant","content":"","thinking":"Let me see."},"done":false}"# + "\n"
                + #"{"model":"qwen3","message":{"role":"assistant","content":"","tool_calls":[{"id":"call_x1","function":{"index":0,"name":"f","arguments":{"a":[1,2]}}},{"function":{"name":"g","arguments":"{\"b\":true}"}}]},"done":false}"#
                + "\r\n"
                + #"{"model":"qwen3","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":9}"#
                + "\n")
        #expect(error == nil)
        let response = assembledResponse(events, provider: "ollama")
        #expect(response.reasoning == "Let me see.")
        #expect(
            response.toolCalls == [
                ToolCall(id: "call_x1", name: "f", argumentsJSON: #"{"a":[1,2]}"#),
                ToolCall(id: "ollama_call_1", name: "g", argumentsJSON: #"{"b":true}"#),
            ])
        #expect(response.finishReason == .toolCalls)
        // A fully cached prompt has no prompt_eval_count: 0, not an estimate.
        #expect(response.usage == Usage(inputTokens: 0, outputTokens: 9, source: .provider))
    }

    @Test func oversizedLinesAreMalformed() {
        let error = runStreamDecoder(
            OllamaStreamDecoder(provider: "ollama", maxLineBytes: 32),
            [Array((#"{"message":{"content":""# + String(repeating: "x", count: 64) + "\"}}\n").utf8)]
        ).error
        #expect(error?.detail.kind == .upstreamMalformed)
    }

    @Test func finishReasonMapping() {
        #expect(OllamaResponseDecoding.finishReason("stop", calledTools: false) == .stop)
        #expect(OllamaResponseDecoding.finishReason("stop", calledTools: true) == .toolCalls)
        #expect(OllamaResponseDecoding.finishReason("", calledTools: false) == .stop)
        #expect(OllamaResponseDecoding.finishReason("length", calledTools: true) == .length)
        #expect(OllamaResponseDecoding.finishReason("unload", calledTools: false) == .stop)
    }
}

@Suite("Ollama request encoder")
struct OllamaRequestEncoderTests {
    private func encoder(keepAlive: String? = nil) -> OllamaRequestEncoder {
        OllamaRequestEncoder(configuration: OllamaProviderConfiguration(
                endpoint: ProviderEndpoint(name: "ollama", baseURL: OllamaProviderConfiguration.defaultBaseURL), keepAlive: keepAlive))
    }

    private func chat(_ request: ChatRequest, stream: Bool = true, keepAlive: String? = nil) throws(GatewayError) -> String {
        String(decoding: try encoder(keepAlive: keepAlive).chatBody(request, model: "llama3.2", stream: stream), as: UTF8.self)
    }

    /// The request-translation test: system prompts, images, a tool round trip, tools, a
    /// JSON schema and every sampling parameter, against the documented `/api/chat` shape.
    @Test func fullRequestTranslation() throws {
        let schema = #"{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}"#
        let request = ChatRequest(
            model: "local",
            messages: [
                ChatMessage(role: .system, text: "You are helpful."),
                ChatMessage(role: .developer, text: "Be brief."),
                ChatMessage(
                    role: .user,
                    parts: [
                        .text("What is in this image? "), .text("And the weather in Tokyo?"),
                        .imageData(bytes: Array("hello!?".utf8), mimeType: "image/png"),
                        .imageURL(url: "data:image/jpeg;base64,/9j/4AAQ", detail: "low"),
                    ]),
                ChatMessage(
                    role: .assistant,
                    parts: [.toolCall(ToolCall(id: "ollama_call_0", name: "get_weather", argumentsJSON: #"{"city":"Tokyo"}"#))]),
                ChatMessage(role: .tool, parts: [.toolResult(ToolResult(toolCallID: "ollama_call_0", content: "11 degrees"))]),
                ChatMessage(role: .user, text: "Thanks"),
            ],
            tools: [
                ToolDefinition(
                    name: "get_weather", description: "Current weather",
                    parametersJSON: #"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#,
                    strict: true)
            ],
            toolChoice: .auto,
            responseFormat: .jsonSchema(name: "reply", schemaJSON: schema, strict: true),
            temperature: 0.7, topP: 0.9, maxTokens: 256, seed: 42, presencePenalty: 0.5, frequencyPenalty: -0.25, topK: 40,
            parallelToolCalls: true, stop: ["END"], user: "end-user-1")
        let expected =
            #"{"model":"llama3.2","messages":["#
            + #"{"role":"system","content":"You are helpful."},{"role":"system","content":"Be brief."},"#
            + #"{"role":"user","content":"What is in this image? And the weather in Tokyo?","images":["aGVsbG8hPw==","/9j/4AAQ"]},"#
            + #"{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Tokyo"}}}]},"#
            + #"{"role":"tool","content":"11 degrees","tool_name":"get_weather"},{"role":"user","content":"Thanks"}],"#
            + #""tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"#
            + #""format":"# + schema + ","
            + #""options":{"temperature":0.7,"top_p":0.9,"top_k":40,"seed":42,"num_predict":256,"stop":["END"],"presence_penalty":0.5,"frequency_penalty":-0.25},"#
            + #""stream":true}"#
        #expect(try chat(request) == expected)
    }

    @Test func unaryJSONModeAndKeepAlive() throws {
        #expect(
            try chat(
                ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "hi")], responseFormat: .jsonObject), stream: false,
                keepAlive: "5m")
                == #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"format":"json","stream":false,"keep_alive":"5m"}"#)
    }

    @Test func toolChoiceNoneLeavesTheToolsOut() throws {
        let request = ChatRequest(
            model: "m", messages: [ChatMessage(role: .user, text: "hi")], tools: [ToolDefinition(name: "f")], toolChoice: .none)
        #expect(try chat(request) == #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#)
    }

    @Test func toolResultsInAUserMessageComeFirst() throws {
        let request = ChatRequest(
            model: "m",
            messages: [
                ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "a", name: "f", argumentsJSON: ""))]),
                ChatMessage(
                    role: .user, parts: [.text("and then?"), .toolResult(ToolResult(toolCallID: "a", content: "failed", isError: true))]),
                ChatMessage(role: .tool, parts: [.text("orphan")], name: "g", toolCallID: "zz"),
            ])
        #expect(
            try chat(request)
                == #"{"model":"llama3.2","messages":[{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{}}}]},{"role":"tool","content":"failed","tool_name":"f"},{"role":"user","content":"and then?"},{"role":"tool","content":"orphan","tool_name":"g"}],"stream":true}"#
        )
    }

    @Test func requestsOllamaCannotExpressFailBeforeSending() {
        let user = ChatMessage(role: .user, text: "x")
        let cases: [(ChatRequest, ErrorKind, String)] = [
            (ChatRequest(model: "m", messages: [user], tools: [ToolDefinition(name: "f")], toolChoice: .required), .unsupportedFeature, "tool_choice"),
            (ChatRequest(model: "m", messages: [user], toolChoice: .function("f")), .unsupportedFeature, "tool_choice"),
            (ChatRequest(model: "m", messages: [user], parallelToolCalls: false), .unsupportedFeature, "parallel_tool_calls"),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.imageURL(url: "https://x/y.png", detail: "")])]),
                .unsupportedFeature, "image URLs"
            ),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.text("x")], name: "bob")]), .unsupportedFeature, "names"),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .assistant, parts: [.imageData(bytes: [1], mimeType: "image/png")])]),
                .unsupportedFeature, "images"
            ),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .unspecified, text: "x")]), .invalidRequest, "no role"),
        ]
        for (request, kind, words) in cases {
            let error = thrownGatewayError { _ = try encoder().chatBody(request, model: "m", stream: true) }
            #expect(error?.detail.kind == kind, "\(words)")
            #expect(error?.message.contains(words) == true, "\(String(describing: error?.message))")
        }
    }

    @Test func embedBody() throws {
        let body = try encoder(keepAlive: "-1").embedBody(EmbedRequest(model: "e", inputs: ["a", "b c"], dimensions: 3), model: "embeddinggemma")
        #expect(
            String(decoding: body, as: UTF8.self)
                == #"{"model":"embeddinggemma","input":["a","b c"],"dimensions":3,"keep_alive":"-1"}"#)
        let error = thrownGatewayError { _ = try encoder().embedBody(EmbedRequest(model: "e", inputs: ["a"], inputType: "query"), model: "m") }
        #expect(error?.detail.kind == .unsupportedFeature)
    }
}

@Suite("Ollama provider")
struct OllamaProviderTests {
    private func provider(_ client: FakeUpstreamClient, apiKey: String? = nil) -> OllamaProvider {
        OllamaProvider(
            configuration: OllamaProviderConfiguration(
                endpoint: ProviderEndpoint(
                    name: "ollama", baseURL: "http://127.0.0.1:11434/", apiKey: apiKey, unixSocketPath: "/run/ollama.sock")),
            client: client)
    }

    private func deployment(_ provider: OllamaProvider) -> Deployment {
        Deployment(modelName: "local", upstreamModel: "llama3.2", provider: provider)
    }

    private let request = ChatRequest(model: "local", messages: [ChatMessage(role: .user, text: "why is the sky blue?")])
    private let context = CallContext(requestID: "req-3")

    private func header(_ name: String, in request: UpstreamRequest) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    @Test func unaryChat() async throws {
        let client = FakeUpstreamClient(
            json:
                #"{"model":"llama3.2","created_at":"2023-12-12T14:13:43.416799Z","message":{"role":"assistant","content":"Hello! How are you today?"},"done":true,"done_reason":"stop","total_duration":5191566416,"load_duration":2154458,"prompt_eval_count":26,"prompt_eval_duration":383809000,"eval_count":298,"eval_duration":4799921000}"#
        )
        let provider = provider(client)
        let response = try await provider.chat(request, deployment: deployment(provider), context: context)
        #expect(
            response
                == ChatResponse(
                    id: "", model: "llama3.2", provider: "ollama", text: "Hello! How are you today?", finishReason: .stop,
                    providerFinishReason: "stop", usage: Usage(inputTokens: 26, outputTokens: 298, source: .provider)))
        let sent = try #require(client.requests.first)
        #expect(sent.url == "http://127.0.0.1:11434/api/chat")
        #expect(sent.unixSocketPath == "/run/ollama.sock")
        #expect(header("Authorization", in: sent) == nil)
        #expect(header("Accept", in: sent) == "application/json")
        #expect(header("X-Request-Id", in: sent) == "req-3")
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"model":"llama3.2","messages":[{"role":"user","content":"why is the sky blue?"}],"stream":false}"#)
    }

    @Test func streamsTheToolFixtureWithAKey() async throws {
        let client = FakeUpstreamClient(body: try Fixtures.bytes("ollama_chat_stream_tools_docs.ndjson"), chunkSize: 17)
        let provider = provider(client, apiKey: "secret-ollama-key-123")
        let sink = RecordingSink()
        try await provider.chatStream(request, deployment: deployment(provider), context: context, into: sink)
        let response = assembledResponse(sink.events, provider: "ollama")
        #expect(response.toolCalls == [ToolCall(id: "ollama_call_0", name: "get_weather", argumentsJSON: #"{"city":"Tokyo"}"#)])
        #expect(response.usage == Usage(inputTokens: 169, outputTokens: 15, source: .provider))
        let sent = try #require(client.requests.first)
        #expect(header("Authorization", in: sent) == "Bearer secret-ollama-key-123")
        #expect(header("Accept", in: sent) == "application/x-ndjson")
        #expect(String(decoding: sent.body, as: UTF8.self).hasSuffix(#""stream":true}"#))
    }

    @Test func errorStatusesCarryOllamasMessage() async {
        let cases: [(Int, String, StatusCode, ErrorKind)] = [
            (404, #"{"error":"model \"llama3.2\" not found, try pulling it first"}"#, .notFound, .upstreamNotFound),
            (400, #"{"error":"invalid options: num_foo"}"#, .invalidArgument, .invalidRequest),
            (429, #"{"error":"too many requests"}"#, .resourceExhausted, .rateLimited),
            (500, #"{"error":"llama runner process has terminated: exit status 2"}"#, .unavailable, .upstreamUnavailable),
            (502, "upstream unreachable", .unavailable, .upstreamUnavailable),
        ]
        for (status, body, code, kind) in cases {
            let provider = provider(FakeUpstreamClient(status: status, json: body), apiKey: "secret-ollama-key-123")
            let error = await thrownGatewayError {
                try await provider.chatStream(request, deployment: deployment(provider), context: context, into: RecordingSink())
            }
            #expect(error?.code == code, "\(status)")
            #expect(error?.detail.kind == kind, "\(status)")
            #expect(error?.detail.upstreamStatus == UInt32(status))
            #expect(error?.detail.provider == "ollama")
        }
        let notFound = provider(FakeUpstreamClient(status: 404, json: #"{"error":"model \"llama3.2\" not found, try pulling it first"}"#))
        let error = await thrownGatewayError { _ = try await notFound.chat(request, deployment: deployment(notFound), context: context) }
        #expect(error?.detail.upstreamMessage == #"model "llama3.2" not found, try pulling it first"#)
    }

    @Test func midStreamErrorAndTruncation() async throws {
        let failing = provider(FakeUpstreamClient(body: try Fixtures.bytes("ollama_generate_error_midstream.ndjson"), chunkSize: 50))
        let error = await thrownGatewayError {
            try await failing.chatStream(request, deployment: deployment(failing), context: context, into: RecordingSink())
        }
        #expect(error?.detail.upstreamMessage == "an error was encountered while running the model")
        #expect(error?.detail.requestID == "req-3")

        let bytes = try Fixtures.bytes("ollama_chat_stream_docs.ndjson")
        let cut = provider(FakeUpstreamClient(body: Array(bytes.prefix(150))))
        let sink = RecordingSink()
        let truncated = await thrownGatewayError {
            try await cut.chatStream(request, deployment: deployment(cut), context: context, into: sink)
        }
        #expect(truncated?.detail.kind == .upstreamTruncated)
        #expect(assembledResponse(sink.events, provider: "ollama").text == "The")
    }

    @Test func embeddings() async throws {
        let client = FakeUpstreamClient(
            json: #"{"model":"embeddinggemma","embeddings":[[0.010071029,-0.0017594862],[0.5,1]],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}"#
        )
        let provider = provider(client)
        let response = try await provider.embed(EmbedRequest(model: "e", inputs: ["a", "b"]), deployment: deployment(provider), context: context)
        #expect(
            response
                == EmbedResponse(
                    embeddings: [Embedding(index: 0, values: [0.010071029, -0.0017594862]), Embedding(index: 1, values: [0.5, 1])],
                    model: "embeddinggemma", provider: "ollama", usage: Usage(inputTokens: 8, source: .provider)))
        #expect(client.requests.first?.url == "http://127.0.0.1:11434/api/embed")

        for body in [#"{"embeddings":[[1]]}"#, #"{"embeddings":[[1],"x"]}"#, #"{"embeddings":[[1],[null]]}"#, #"{"error":"boom"}"#] {
            let bad = self.provider(FakeUpstreamClient(json: body))
            let error = await thrownGatewayError {
                _ = try await bad.embed(EmbedRequest(model: "e", inputs: ["a", "b"]), deployment: deployment(bad), context: context)
            }
            #expect(error != nil, "\(body)")
        }
    }
}
