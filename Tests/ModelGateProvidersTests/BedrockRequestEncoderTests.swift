import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import Testing

@Suite("Bedrock request translation")
struct BedrockRequestEncoderTests {
    let encoder = BedrockRequestEncoder(provider: "bedrock")

    private func body(_ request: ChatRequest) throws(GatewayError) -> String {
        String(decoding: try encoder.converseBody(request), as: UTF8.self)
    }

    /// A chat with system prompt, an image, a tool-call round trip, tools, tool choice and
    /// sampling parameters, in the Converse shape of the service model: `system` blocks,
    /// alternating `messages` with `text`/`image`/`toolUse`/`toolResult` blocks,
    /// `inferenceConfig`, `toolConfig`. The tool result and the next user text share one user
    /// turn, since Bedrock rejects two user turns in a row.
    @Test func fullChatRequest() throws {
        let request = ChatRequest(
            model: "claude",
            messages: [
                ChatMessage(role: .system, text: "You are a weather bot."),
                ChatMessage(
                    role: .user,
                    parts: [
                        .text("What's the weather in Paris? Here is a photo."),
                        .imageData(bytes: [0x89, 0x50, 0x4E, 0x47], mimeType: "image/png"),
                    ]),
                ChatMessage(
                    role: .assistant,
                    parts: [
                        .text("Checking."),
                        .toolCall(ToolCall(id: "tooluse_1", name: "get_weather", argumentsJSON: #"{"city":"Paris"}"#)),
                    ]),
                ChatMessage(role: .tool, parts: [.text("18°C, sunny")], toolCallID: "tooluse_1"),
                ChatMessage(role: .user, text: "Thanks! And in Lyon?"),
            ],
            tools: [
                ToolDefinition(
                    name: "get_weather", description: "Current weather",
                    parametersJSON: #"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#)
            ],
            toolChoice: .function("get_weather"),
            temperature: 0.5,
            topP: 0.9,
            maxTokens: 512,
            stop: ["END"])
        let expected =
            #"{"system":[{"text":"You are a weather bot."}],"messages":["#
            + #"{"role":"user","content":[{"text":"What's the weather in Paris? Here is a photo."},{"image":{"format":"png","source":{"bytes":"iVBORw=="}}}]},"#
            + #"{"role":"assistant","content":[{"text":"Checking."},{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}}]},"#
            + #"{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_1","content":[{"text":"18°C, sunny"}],"status":"success"}},{"text":"Thanks! And in Lyon?"}]}],"#
            + #""inferenceConfig":{"maxTokens":512,"temperature":0.5,"topP":0.9,"stopSequences":["END"]},"#
            + #""toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Current weather","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}],"toolChoice":{"tool":{"name":"get_weather"}}}}"#
        #expect(try body(request) == expected)
    }

    @Test func minimalRequestHasOnlyMessages() throws {
        #expect(
            try body(ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hello")]))
                == #"{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#)
    }

    @Test(arguments: [
        (ToolChoice.auto, #""toolChoice":{"auto":{}}"#), (.required, #""toolChoice":{"any":{}}"#),
        (.providerDefault, ""),
    ])
    func toolChoices(choice: ToolChoice, member: String) throws {
        let text = try body(
            ChatRequest(
                model: "m", messages: [ChatMessage(role: .user, text: "x")], tools: [ToolDefinition(name: "now")],
                toolChoice: choice))
        #expect(
            text
                == #"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"now","inputSchema":{"json":{"type":"object","properties":{}}}}}]"#
                + (member.isEmpty ? "" : "," + member) + "}}")
    }

    @Test func toolResultsAreErrorsWhenMarkedAndDataURLsBecomeBytes() throws {
        let text = try body(
            ChatRequest(
                model: "m",
                messages: [
                    ChatMessage(
                        role: .user,
                        parts: [
                            .toolResult(ToolResult(toolCallID: "t1", content: "timeout", isError: true)),
                            .imageURL(url: "data:image/jpeg;base64,/9j/4A==", detail: "high"),
                        ])
                ]))
        #expect(
            text
                == #"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"timeout"}],"status":"error"}},{"image":{"format":"jpeg","source":{"bytes":"/9j/4A=="}}}]}]}"#
        )
    }

    /// Everything Converse cannot express is refused with the feature's name, not dropped.
    @Test(arguments: [
        (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], topK: 5), "top_k"),
        (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], seed: 1), "seed"),
        (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], presencePenalty: 0.1), "presence_penalty"),
        (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], frequencyPenalty: 0.1), "frequency_penalty"),
        (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], parallelToolCalls: false), "parallel_tool_calls = false"),
        (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], user: "u1"), "user"),
        (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], responseFormat: .jsonObject), "response_format json_object"),
        (
            ChatRequest(
                model: "m", messages: [ChatMessage(role: .user, text: "x")],
                responseFormat: .jsonSchema(name: "r", schemaJSON: "{}", strict: true)), "response_format json_schema"
        ),
        (
            ChatRequest(
                model: "m", messages: [ChatMessage(role: .user, text: "x")], tools: [ToolDefinition(name: "now")],
                toolChoice: .none), "tool_choice \"none\" with tools"
        ),
        (
            ChatRequest(
                model: "m", messages: [ChatMessage(role: .user, text: "x")], tools: [ToolDefinition(name: "now", strict: true)]),
            "strict tool schemas"
        ),
        (
            ChatRequest(
                model: "m", messages: [ChatMessage(role: .user, parts: [.imageURL(url: "https://x/cat.png", detail: "")])]),
            "image URLs (only inline image data)"
        ),
        (
            ChatRequest(
                model: "m", messages: [ChatMessage(role: .user, parts: [.imageData(bytes: [1], mimeType: "image/tiff")])]),
            "images of type \"image/tiff\""
        ),
        (
            ChatRequest(
                model: "m", messages: [ChatMessage(role: .assistant, parts: [.imageData(bytes: [1], mimeType: "image/png")])]),
            "images in assistant messages"
        ),
    ])
    func unsupportedFeatures(request: ChatRequest, feature: String) {
        let error = thrownGatewayError { _ = try encoder.converseBody(request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.detail.kind == .unsupportedFeature)
        #expect(error?.message == "\(feature) is not supported by provider \"bedrock\"")
    }

    @Test func invalidRequestsAreRejected() {
        let badArguments = ChatRequest(
            model: "m",
            messages: [ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "1", name: "f", argumentsJSON: "[1]"))])])
        #expect(thrownGatewayError { _ = try encoder.converseBody(badArguments) }?.detail.kind == .invalidRequest)
        let choiceWithoutTools = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], toolChoice: .required)
        #expect(thrownGatewayError { _ = try encoder.converseBody(choiceWithoutTools) }?.detail.kind == .invalidRequest)
        let imageInSystem = ChatRequest(
            model: "m", messages: [ChatMessage(role: .system, parts: [.imageData(bytes: [1], mimeType: "image/png")])])
        #expect(thrownGatewayError { _ = try encoder.converseBody(imageInSystem) }?.detail.kind == .invalidRequest)
    }

    @Test func titanEmbeddingBody() throws {
        #expect(
            String(decoding: encoder.titanEmbeddingBody(input: "hello world", dimensions: 256), as: UTF8.self)
                == #"{"inputText":"hello world","dimensions":256}"#)
        #expect(
            String(decoding: encoder.titanEmbeddingBody(input: "x", dimensions: nil), as: UTF8.self) == #"{"inputText":"x"}"#)
        let typed = EmbedRequest(model: "titan", inputs: ["x"], inputType: "search_query")
        #expect(thrownGatewayError { try encoder.checkEmbeddingRequest(typed) }?.detail.kind == .unsupportedFeature)
    }
}
