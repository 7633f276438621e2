import ModelGateCore
import ModelGateProviders
import Testing

@Suite("OpenAI request encoder")
struct OpenAIRequestEncoderTests {
    private func encoder(
        baseURL: String = "http://127.0.0.1:8000/v1", includeStreamUsage: Bool = true, acceptsTopK: Bool = false
    ) -> OpenAIRequestEncoder {
        OpenAIRequestEncoder(
            configuration: OpenAIProviderConfiguration(
                name: "test", baseURL: baseURL, includeStreamUsage: includeStreamUsage, acceptsTopK: acceptsTopK))
    }

    private func chat(
        _ request: ChatRequest, stream: Bool = false, encoder: OpenAIRequestEncoder? = nil
    ) throws(GatewayError) -> String {
        let bytes = try (encoder ?? self.encoder()).chatBody(request, model: "gpt-4o", stream: stream)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func systemPromptAndUserMessage() throws {
        let request = ChatRequest(
            model: "alias",
            messages: [ChatMessage(role: .system, text: "Be brief."), ChatMessage(role: .user, text: "Hi \"there\"\n")])
        #expect(
            try chat(request)
                == #"{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi \"there\"\n"}],"stream":false}"#
        )
    }

    @Test func streamAsksForUsageUnlessConfiguredNotTo() throws {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .developer, text: "d")])
        #expect(
            try chat(request, stream: true)
                == #"{"model":"gpt-4o","messages":[{"role":"developer","content":"d"}],"stream":true,"stream_options":{"include_usage":true}}"#
        )
        #expect(
            try chat(request, stream: true, encoder: encoder(includeStreamUsage: false))
                == #"{"model":"gpt-4o","messages":[{"role":"developer","content":"d"}],"stream":true}"#)
    }

    @Test func imagesByURLAndInlineBytes() throws {
        let request = ChatRequest(
            model: "m",
            messages: [
                ChatMessage(
                    role: .user,
                    parts: [
                        .text("What is in these?"),
                        .imageURL(url: "https://example.com/a.png", detail: "high"),
                        .imageURL(url: "https://example.com/b.png", detail: ""),
                        .imageData(bytes: Array("hello!?".utf8), mimeType: "image/png"),
                    ])
            ])
        #expect(
            try chat(request)
                == #"{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"What is in these?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"high"}},{"type":"image_url","image_url":{"url":"https://example.com/b.png"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,aGVsbG8hPw=="}}]}],"stream":false}"#
        )
    }

    @Test func toolsToolChoiceAndAToolRoundTrip() throws {
        let request = ChatRequest(
            model: "m",
            messages: [
                ChatMessage(role: .user, text: "Weather in Paris?"),
                ChatMessage(
                    role: .assistant,
                    parts: [.toolCall(ToolCall(id: "call_1", name: "get_weather", argumentsJSON: #"{"city":"Paris"}"#))]),
                ChatMessage(role: .tool, parts: [.toolResult(ToolResult(toolCallID: "call_1", content: "18C"))]),
                ChatMessage(role: .tool, parts: [.text("dry")], toolCallID: "call_2"),
            ],
            tools: [
                ToolDefinition(
                    name: "get_weather", description: "Current weather",
                    parametersJSON: #" {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]} "#,
                    strict: true),
                ToolDefinition(name: "noop"),
            ],
            toolChoice: .function("get_weather"),
            parallelToolCalls: false)
        #expect(
            try chat(request)
                == #"{"model":"gpt-4o","messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18C"},{"role":"tool","tool_call_id":"call_2","content":"dry"}],"stream":false,"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}},{"type":"function","function":{"name":"noop"}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false}"#
        )
    }

    @Test(arguments: [(ToolChoice.auto, #""tool_choice":"auto""#), (.none, #""tool_choice":"none""#), (.required, #""tool_choice":"required""#)])
    func simpleToolChoices(_ choice: ToolChoice, _ expected: String) throws {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], toolChoice: choice)
        #expect(try chat(request).contains(expected))
        let defaulted = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")])
        #expect(try !chat(defaulted).contains("tool_choice"))
    }

    @Test func toolResultsInsideAUserMessageBecomeToolMessages() throws {
        let request = ChatRequest(
            model: "m",
            messages: [
                ChatMessage(
                    role: .user,
                    parts: [.toolResult(ToolResult(toolCallID: "c", content: "42", isError: true)), .text("and now?")])
            ])
        #expect(
            try chat(request)
                == #"{"model":"gpt-4o","messages":[{"role":"tool","tool_call_id":"c","content":"42"},{"role":"user","content":"and now?"}],"stream":false}"#
        )
    }

    @Test func responseFormats() throws {
        let schema = ChatRequest(
            model: "m", messages: [ChatMessage(role: .user, text: "x")],
            responseFormat: .jsonSchema(name: "answer", schemaJSON: #"{"type":"object"}"#, strict: true))
        #expect(
            try chat(schema)
                == #"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stream":false,"response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},"strict":true}}}"#
        )
        let unnamed = ChatRequest(
            model: "m", messages: [ChatMessage(role: .user, text: "x")],
            responseFormat: .jsonSchema(name: "", schemaJSON: "{}", strict: false))
        #expect(try chat(unnamed).hasSuffix(#""response_format":{"type":"json_schema","json_schema":{"name":"response","schema":{}}}}"#))
        let object = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], responseFormat: .jsonObject)
        #expect(try chat(object).hasSuffix(#""response_format":{"type":"json_object"}}"#))
    }

    @Test func samplingParametersOnlyWhenPresent() throws {
        let bare = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")])
        #expect(try chat(bare) == #"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stream":false}"#)

        let zero = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], temperature: 0)
        #expect(
            try chat(zero) == #"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stream":false,"temperature":0.0}"#)

        let full = ChatRequest(
            model: "m", messages: [ChatMessage(role: .user, text: "x")], temperature: 0.7, topP: 0.9, maxTokens: 256,
            seed: -42, presencePenalty: 0.5, frequencyPenalty: -0.25, stop: ["\n\n", "END"], user: "u-1")
        #expect(
            try chat(full)
                == #"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stream":false,"temperature":0.7,"top_p":0.9,"max_tokens":256,"seed":-42,"presence_penalty":0.5,"frequency_penalty":-0.25,"stop":["\n\n","END"],"user":"u-1"}"#
        )
    }

    @Test func maxCompletionTokensForOpenAIItself() throws {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], maxTokens: 5)
        #expect(try chat(request, encoder: encoder(baseURL: "https://api.openai.com/v1")).hasSuffix(#""max_completion_tokens":5}"#))
        #expect(try chat(request).hasSuffix(#""max_tokens":5}"#))
    }

    @Test func topKIsAnErrorUnlessTheServerAcceptsIt() throws {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], topK: 40)
        let failure = thrownGatewayError { _ = try chat(request) }
        #expect(failure?.code == .invalidArgument)
        #expect(failure?.detail.kind == .unsupportedFeature)
        #expect(failure?.message.contains("top_k") == true)
        #expect(try chat(request, encoder: encoder(acceptsTopK: true)).hasSuffix(#""top_k":40}"#))
    }

    @Test func rejectsRequestsItCannotExpress() {
        let cases: [(ChatRequest, ErrorKind)] = [
            (ChatRequest(model: "m", messages: [ChatMessage(role: .unspecified, text: "x")]), .invalidRequest),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .system, parts: [.imageURL(url: "u", detail: "")])]),
                .unsupportedFeature
            ),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .tool, text: "no id")]), .invalidRequest),
            (
                ChatRequest(
                    model: "m",
                    messages: [ChatMessage(role: .user, parts: [.toolCall(ToolCall(id: "a", name: "b", argumentsJSON: "{}"))])]),
                .invalidRequest
            ),
            (
                ChatRequest(
                    model: "m",
                    messages: [ChatMessage(role: .user, parts: [.text("x"), .imageData(bytes: [1], mimeType: "png\",\"x")])]),
                .invalidRequest
            ),
            (
                ChatRequest(
                    model: "m", messages: [ChatMessage(role: .user, text: "x")],
                    tools: [ToolDefinition(name: "t", parametersJSON: #"{"type":"object"}, "model": "other""#)]),
                .invalidRequest
            ),
            (
                ChatRequest(
                    model: "m", messages: [ChatMessage(role: .user, text: "x")],
                    tools: [ToolDefinition(name: "t", parametersJSON: "[]")]),
                .invalidRequest
            ),
            (
                ChatRequest(
                    model: "m", messages: [ChatMessage(role: .user, text: "x")],
                    responseFormat: .jsonSchema(name: "n", schemaJSON: "{", strict: false)),
                .invalidRequest
            ),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], toolChoice: .function("")), .invalidRequest),
        ]
        for (request, kind) in cases {
            let failure = thrownGatewayError { _ = try chat(request) }
            #expect(failure?.code == .invalidArgument)
            #expect(failure?.detail.kind == kind)
        }
    }

    @Test func embeddingsBody() throws {
        let bytes = try encoder().embeddingsBody(
            EmbedRequest(model: "e", inputs: ["a", "b\"c"], dimensions: 256, user: "u"), model: "text-embedding-3-small")
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"model":"text-embedding-3-small","input":["a","b\"c"],"encoding_format":"float","dimensions":256,"user":"u"}"#
        )
        #expect(throws: GatewayError.self) {
            _ = try encoder().embeddingsBody(EmbedRequest(model: "e", inputs: ["a"], inputType: "query"), model: "x")
        }
        #expect(throws: GatewayError.self) {
            _ = try encoder().embeddingsBody(EmbedRequest(model: "e", inputs: []), model: "x")
        }
    }
}
