import ModelGateCore
import ModelGateProviders
import Testing

@Suite("OpenAI Responses request encoder")
struct OpenAIResponsesRequestEncoderTests {
    private func body(_ request: ChatRequest, stream: Bool = true, store: Bool = false) throws(GatewayError) -> String {
        let bytes = try OpenAIResponsesRequestEncoder(provider: "oai", store: store).body(request, model: "gpt-4.1", stream: stream)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The chat the Azure and Responses tests share: system prompt, text and image, tools,
    /// tool choice, sampling, a JSON schema.
    static let fullRequest = ChatRequest(
        model: "alias",
        messages: [
            ChatMessage(role: .system, text: "You are terse."),
            ChatMessage(role: .developer, text: "Answer in French."),
            ChatMessage(
                role: .user,
                parts: [
                    .text("Weather here?"), .imageURL(url: "https://example.com/sky.jpg", detail: "low"),
                    .imageData(bytes: Array("hello!?".utf8), mimeType: "image/png"),
                ]),
        ],
        tools: [
            ToolDefinition(
                name: "get_weather", description: "Current weather",
                parametersJSON: #"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#,
                strict: true),
            ToolDefinition(name: "now"),
        ],
        toolChoice: .function("get_weather"),
        responseFormat: .jsonSchema(name: "", schemaJSON: #"{"type":"object"}"#, strict: true),
        temperature: 0, topP: 0.5, maxTokens: 64, parallelToolCalls: false, user: "u-1")

    @Test func fullChatRequest() throws {
        #expect(
            try body(Self.fullRequest)
                == #"{"model":"gpt-4.1","instructions":"You are terse.\n\nAnswer in French.","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Weather here?"},{"type":"input_image","image_url":"https://example.com/sky.jpg","detail":"low"},{"type":"input_image","image_url":"data:image/png;base64,aGVsbG8hPw==","detail":"auto"}]}],"tools":[{"type":"function","name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true},{"type":"function","name":"now","parameters":null,"strict":false}],"tool_choice":{"type":"function","name":"get_weather"},"parallel_tool_calls":false,"text":{"format":{"type":"json_schema","name":"response","schema":{"type":"object"},"strict":true}},"temperature":0.0,"top_p":0.5,"max_output_tokens":64,"user":"u-1","store":false,"stream":true}"#
        )
    }

    @Test func toolHistoryBecomesFunctionCallItems() throws {
        let request = ChatRequest(
            model: "m",
            messages: [
                ChatMessage(role: .user, text: "Weather in Paris?"),
                ChatMessage(
                    role: .assistant,
                    parts: [.text("Checking."), .toolCall(ToolCall(id: "call_1", name: "get_weather", argumentsJSON: #"{"city":"Paris"}"#))]),
                ChatMessage(role: .tool, parts: [.text("18C")], toolCallID: "call_1"),
                ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "call_2", name: "now", argumentsJSON: ""))]),
                ChatMessage(role: .user, parts: [.toolResult(ToolResult(toolCallID: "call_2", content: "noon", isError: true))]),
                ChatMessage(role: .system, text: "Later system note."),
            ],
            toolChoice: .required)
        #expect(
            try body(request, stream: false, store: true)
                == #"{"model":"gpt-4.1","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Weather in Paris?"}]},{"type":"message","role":"assistant","content":"Checking."},{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},{"type":"function_call_output","call_id":"call_1","output":"18C"},{"type":"function_call","call_id":"call_2","name":"now","arguments":"{}"},{"type":"function_call_output","call_id":"call_2","output":"noon"},{"type":"message","role":"system","content":"Later system note."}],"tool_choice":"required","store":true,"stream":false}"#
        )
    }

    @Test func jsonObjectModeAndToolChoices() throws {
        let base = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], responseFormat: .jsonObject)
        #expect(try body(base).contains(#""text":{"format":{"type":"json_object"}}"#))
        for (choice, text) in [(ToolChoice.auto, #""tool_choice":"auto""#), (.none, #""tool_choice":"none""#)] {
            var request = base
            request.toolChoice = choice
            #expect(try body(request).contains(text))
        }
    }

    @Test(
        "fields the Responses API lacks are refused before sending",
        arguments: ["top_k", "seed", "stop", "presence_penalty", "frequency_penalty", "message names", "images in assistant messages"])
    func unsupported(field: String) {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")])
        switch field {
        case "top_k": request.topK = 5
        case "seed": request.seed = 1
        case "stop": request.stop = ["END"]
        case "presence_penalty": request.presencePenalty = 0.1
        case "frequency_penalty": request.frequencyPenalty = 0.1
        case "message names": request.messages[0].name = "alice"
        default: request.messages.append(ChatMessage(role: .assistant, parts: [.imageURL(url: "https://x/y.png", detail: "")]))
        }
        let error = thrownGatewayError { _ = try body(request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.detail.kind == .unsupportedFeature)
        #expect(error?.message.contains(field) == true, "\(String(describing: error))")
    }

    @Test func invalidRequests() {
        let badSchema = ChatRequest(
            model: "m", messages: [ChatMessage(role: .user, text: "x")], tools: [ToolDefinition(name: "f", parametersJSON: "[1]")])
        #expect(thrownGatewayError { _ = try body(badSchema) }?.detail.kind == .invalidRequest)
        let noRole = ChatRequest(model: "m", messages: [ChatMessage(role: .unspecified, text: "x")])
        #expect(thrownGatewayError { _ = try body(noRole) }?.message == "message 0 has no role")
        let toolWithoutID = ChatRequest(model: "m", messages: [ChatMessage(role: .tool, text: "r")])
        #expect(thrownGatewayError { _ = try body(toolWithoutID) }?.code == .invalidArgument)
    }
}
