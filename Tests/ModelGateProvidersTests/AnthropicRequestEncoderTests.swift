import ModelGateCore
import ModelGateProviders
import Testing

@Suite("Anthropic request encoder")
struct AnthropicRequestEncoderTests {
    private func encoder(defaultMaxTokens: UInt32 = 4096) -> AnthropicRequestEncoder {
        AnthropicRequestEncoder(
            configuration: AnthropicProviderConfiguration(
                endpoint: ProviderEndpoint(name: "anthropic", baseURL: AnthropicProviderConfiguration.defaultBaseURL),
                defaultMaxTokens: defaultMaxTokens))
    }

    private func chat(_ request: ChatRequest, stream: Bool = false, defaultMaxTokens: UInt32 = 4096) throws(GatewayError) -> String {
        String(decoding: try encoder(defaultMaxTokens: defaultMaxTokens).chatBody(request, model: "claude-sonnet-4-5", stream: stream), as: UTF8.self)
    }

    private func user(_ text: String) -> ChatMessage {
        ChatMessage(role: .user, text: text)
    }

    /// The request-translation test: system prompts, images (inline, data: URL, https URL), a
    /// tool round trip (with an error result), tools, tool choice and the sampling parameters,
    /// against the documented Messages shape.
    @Test func fullRequestTranslation() throws {
        let request = ChatRequest(
            model: "claude",
            messages: SampleConversation.messages(weatherCallID: "toolu_01", timeCallID: "toolu_02") + [
                ChatMessage(role: .user, text: "Thanks. And tomorrow?"),
                ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "toolu_03", name: "get_weather", argumentsJSON: #"{"city":"Paris","day":1}"#))]),
                ChatMessage(role: .user, parts: [.toolResult(ToolResult(toolCallID: "toolu_03", content: "service down", isError: true))]),
            ],
            tools: SampleConversation.tools,
            toolChoice: .function("get_weather"),
            temperature: 0.7, topP: 0.95, maxTokens: 1024, topK: 40, parallelToolCalls: false, stop: ["END", "\n\nHuman:"],
            user: "end-user-1", tenant: "t", metadata: ["not": "sent"])
        let expected =
            #"{"model":"claude-sonnet-4-5","max_tokens":1024,"#
            + #""system":[{"type":"text","text":"You are helpful."},{"type":"text","text":"Answer in French."}],"#
            + #""messages":["#
            + #"{"role":"user","content":[{"type":"text","text":"What is in these images, and the weather in Paris?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"aGVsbG8hPw=="}},{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},{"type":"image","source":{"type":"url","url":"https://example.com/cat.webp?size=2"}}]},"#
            + #"{"role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}},{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}]},"#
            // The tool messages and the next user message are one turn, tool results first.
            + #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"{\"temp_c\":18}"},{"type":"tool_result","tool_use_id":"toolu_02","content":"12:00"},{"type":"text","text":"Thanks. And tomorrow?"}]},"#
            + #"{"role":"assistant","content":[{"type":"tool_use","id":"toolu_03","name":"get_weather","input":{"city":"Paris","day":1}}]},"#
            + #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_03","content":"service down","is_error":true}]}],"#
            + #""tools":[{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},{"name":"get_time","input_schema":{"type":"object","properties":{}}}],"#
            + #""tool_choice":{"type":"tool","name":"get_weather","disable_parallel_tool_use":true},"#
            + #""temperature":0.7,"top_p":0.95,"top_k":40,"stop_sequences":["END","\n\nHuman:"],"metadata":{"user_id":"end-user-1"},"stream":true}"#
        #expect(try chat(request, stream: true) == expected)
    }

    @Test("a minimal request: one system string, a string content, the default max_tokens")
    func minimalRequest() throws {
        #expect(
            try chat(ChatRequest(model: "m", messages: [ChatMessage(role: .system, text: "Be brief."), user("Hi")]), defaultMaxTokens: 777)
                == #"{"model":"claude-sonnet-4-5","max_tokens":777,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}"#)
        // temperature 0 is set, so it is sent.
        #expect(
            try chat(ChatRequest(model: "m", messages: [user("Hi")], temperature: 0, maxTokens: 5))
                == #"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"Hi"}],"temperature":0.0}"#)
    }

    @Test(arguments: [
        (ToolChoice.providerDefault, nil as Bool?, ""),
        (.providerDefault, false, #","tool_choice":{"type":"auto","disable_parallel_tool_use":true}"#),
        (.auto, nil, #","tool_choice":{"type":"auto"}"#),
        (.auto, true, #","tool_choice":{"type":"auto"}"#),
        (.required, false, #","tool_choice":{"type":"any","disable_parallel_tool_use":true}"#),
        (.none, false, #","tool_choice":{"type":"none"}"#),
    ])
    func toolChoices(_ choice: ToolChoice, _ parallel: Bool?, _ fragment: String) throws {
        let body = try chat(
            ChatRequest(model: "m", messages: [user("x")], tools: [ToolDefinition(name: "f")], toolChoice: choice, parallelToolCalls: parallel))
        #expect(
            body
                == #"{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}]"#
                + fragment + "}")
    }

    @Test("a JSON schema response format is a forced tool whose input schema is the schema")
    func jsonSchemaIsAForcedTool() throws {
        let schema = #"{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}"#
        let request = ChatRequest(model: "m", messages: [user("x")], responseFormat: .jsonSchema(name: "reply", schemaJSON: schema, strict: true))
        #expect(
            try chat(request)
                == #"{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"#
                + #""tools":[{"name":"json_response","description":"Reply with reply: a JSON object that matches the input schema.","input_schema":"#
                + schema + #"}],"tool_choice":{"type":"tool","name":"json_response"}}"#)
        #expect(AnthropicRequestEncoder.jsonResponseTool(for: request) == "json_response")
        #expect(
            try chat(ChatRequest(model: "m", messages: [user("x")], responseFormat: .jsonObject))
                == #"{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"#
                + #""tools":[{"name":"json_response","description":"Reply with a JSON object that matches the input schema.","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"json_response"}}"#)
        #expect(AnthropicRequestEncoder.jsonResponseTool(for: ChatRequest(model: "m", messages: [user("x")])) == nil)
    }

    @Test("roles alternate: adjacent turns merge; empty messages are dropped")
    func adjacentTurnsMerge() throws {
        let body = try chat(
            ChatRequest(
                model: "m",
                messages: [user("a"), ChatMessage(role: .user, parts: [.text("")]), user("b"), ChatMessage(role: .assistant, text: "c"),
                           ChatMessage(role: .assistant, text: "d")]))
        #expect(
            body
                == #"{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":[{"type":"text","text":"c"},{"type":"text","text":"d"}]}]}"#
        )
    }

    @Test("what Anthropic cannot express fails before anything is sent, naming it")
    func refusals() {
        let cases: [(ChatRequest, ErrorKind, String)] = [
            (ChatRequest(model: "m", messages: [user("x")], seed: 1), .unsupportedFeature, "seed"),
            (ChatRequest(model: "m", messages: [user("x")], presencePenalty: 0.1), .unsupportedFeature, "presence_penalty"),
            (ChatRequest(model: "m", messages: [user("x")], frequencyPenalty: 0.1), .unsupportedFeature, "frequency_penalty"),
            (
                ChatRequest(model: "m", messages: [user("x")], tools: [ToolDefinition(name: "f")], responseFormat: .jsonObject),
                .unsupportedFeature, "JSON response format together with tools"
            ),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.text("x")], name: "bob")]), .unsupportedFeature, "message names"),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .assistant, parts: [.imageURL(url: "https://x/y.png", detail: "")])]),
                .unsupportedFeature, "images in assistant messages"
            ),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.imageData(bytes: [1], mimeType: "image/tiff")])]),
                .unsupportedFeature, "images of type \"image/tiff\""
            ),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.imageURL(url: "gs://bucket/a.png", detail: "")])]),
                .unsupportedFeature, "image URLs other than http(s) and data:"
            ),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .system, parts: [.imageData(bytes: [1], mimeType: "image/png")])]),
                .unsupportedFeature, "non-text parts in system messages"
            ),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .system, text: "only a system prompt")]), .invalidRequest, "at least one"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .unspecified, text: "x")]), .invalidRequest, "has no role"),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.imageURL(url: "data:image/png,abc", detail: "")])]),
                .invalidRequest, "base64"
            ),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.imageData(bytes: [1], mimeType: "")])]),
                .invalidRequest, "media type"
            ),
            (
                ChatRequest(
                    model: "m", messages: [ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "a", name: "f", argumentsJSON: "[1]"))])]),
                .invalidRequest, "not a JSON object"
            ),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "", name: "f", argumentsJSON: "{}"))])]),
                .invalidRequest, "has no id"
            ),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.toolCall(ToolCall(id: "a", name: "f", argumentsJSON: "{}"))])]),
                .invalidRequest, "tool calls belong in assistant messages"
            ),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .assistant, parts: [.toolResult(ToolResult(toolCallID: "a", content: "r"))])]),
                .invalidRequest, "tool results belong in user or tool messages"
            ),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .tool, parts: [.text("r")])]), .invalidRequest, "without a tool call id"),
            (ChatRequest(model: "m", messages: [user("x")], tools: [ToolDefinition(name: "f", parametersJSON: "{")]), .invalidRequest, "not valid JSON"),
            (ChatRequest(model: "m", messages: [user("x")], toolChoice: .required), .invalidRequest, "needs at least one tool"),
            (ChatRequest(model: "m", messages: [user("x")], tools: [ToolDefinition(name: "f")], toolChoice: .function("")), .invalidRequest, "names no function"),
            (
                ChatRequest(model: "m", messages: [user("x")], responseFormat: .jsonSchema(name: "", schemaJSON: "[]", strict: false)),
                .invalidRequest, "not a JSON object"
            ),
        ]
        for (request, kind, words) in cases {
            let error = thrownGatewayError { _ = try encoder().chatBody(request, model: "m", stream: true) }
            #expect(error?.code == .invalidArgument, "\(words)")
            #expect(error?.detail.kind == kind, "\(words)")
            #expect(error?.message.contains(words) == true, "\(words): \(String(describing: error?.message))")
            if kind == .unsupportedFeature { #expect(error?.detail.provider == "anthropic") }
        }
    }

    @Test("tool choice without tools: auto and none say nothing")
    func choiceWithoutTools() throws {
        for choice in [ToolChoice.auto, .none] {
            #expect(
                try chat(ChatRequest(model: "m", messages: [user("x")], toolChoice: choice, parallelToolCalls: false))
                    == #"{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":"x"}]}"#)
        }
    }
}
