import ModelGateCore
import ModelGateProviders
import Testing

@Suite("Gemini request encoder")
struct GeminiRequestEncoderTests {
    private func encoder(includeThoughts: Bool = false) -> GeminiRequestEncoder {
        GeminiRequestEncoder(configuration: GeminiProviderConfiguration(
                endpoint: ProviderEndpoint(name: "gemini", baseURL: GeminiProviderConfiguration.defaultBaseURL),
                includeThoughts: includeThoughts))
    }

    private func chat(_ request: ChatRequest, includeThoughts: Bool = false) throws(GatewayError) -> String {
        String(decoding: try encoder(includeThoughts: includeThoughts).chatBody(request), as: UTF8.self)
    }

    private func user(_ text: String) -> ChatMessage {
        ChatMessage(role: .user, text: text)
    }

    /// The request-translation test: system prompts, images (inline, data: URL, file URL),
    /// a tool round trip, tools, tool choice and every sampling parameter, against the
    /// documented `generateContent` shape.
    @Test func fullRequestTranslation() throws {
        let request = ChatRequest(
            model: "gem",
            messages: SampleConversation.messages(weatherCallID: "gemini_call_0", timeCallID: "fc-7") + [
                ChatMessage(role: .user, parts: [.toolResult(ToolResult(toolCallID: "gemini_call_0", content: "boom", isError: true))])
            ],
            tools: SampleConversation.tools,
            toolChoice: .function("get_weather"),
            temperature: 0.7, topP: 0.95, maxTokens: 1024, seed: 42, presencePenalty: 0.5, frequencyPenalty: -0.25,
            topK: 40, parallelToolCalls: true, stop: ["END"], user: "end-user-1")
        let expected =
            #"{"contents":["#
            + #"{"role":"user","parts":[{"text":"What is in these images, and the weather in Paris?"},{"inlineData":{"mimeType":"image/png","data":"aGVsbG8hPw=="}},{"inlineData":{"mimeType":"image/jpeg","data":"/9j/4AAQ"}},{"fileData":{"mimeType":"image/webp","fileUri":"https://example.com/cat.webp?size=2"}}]},"#
            + #"{"role":"model","parts":[{"text":"Let me check."},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"skip_thought_signature_validator"},{"functionCall":{"id":"fc-7","name":"get_time","args":{}}}]},"#
            + #"{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"temp_c":18}}},{"functionResponse":{"id":"fc-7","name":"get_time","response":{"output":"12:00"}}},{"functionResponse":{"name":"get_weather","response":{"error":"boom"}}}]}],"#
            + #""systemInstruction":{"parts":[{"text":"You are helpful."},{"text":"Answer in French."}]},"#
            + #""tools":[{"functionDeclarations":[{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},{"name":"get_time"}]}],"#
            + #""toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}},"#
            + #""generationConfig":{"stopSequences":["END"],"temperature":0.7,"topP":0.95,"topK":40,"maxOutputTokens":1024,"seed":42,"presencePenalty":0.5,"frequencyPenalty":-0.25}}"#
        #expect(try chat(request) == expected)
    }

    @Test func minimalRequestHasOnlyContents() throws {
        #expect(try chat(ChatRequest(model: "m", messages: [user("Hi")])) == #"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#)
    }

    @Test(arguments: [
        (ToolChoice.auto, #""toolConfig":{"functionCallingConfig":{"mode":"AUTO"}}"#),
        (.none, #""toolConfig":{"functionCallingConfig":{"mode":"NONE"}}"#),
        (.required, #""toolConfig":{"functionCallingConfig":{"mode":"ANY"}}"#),
    ])
    func toolChoiceModes(_ choice: ToolChoice, _ fragment: String) throws {
        let body = try chat(ChatRequest(model: "m", messages: [user("x")], tools: [ToolDefinition(name: "f")], toolChoice: choice))
        #expect(
            body
                == #"{"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}],"#
                + fragment + "}")
    }

    @Test func jsonModesAndThoughts() throws {
        let schema = #"{"type":"object","properties":{"answer":{"type":"string"}}}"#
        #expect(
            try chat(
                ChatRequest(
                    model: "m", messages: [user("x")], responseFormat: .jsonSchema(name: "a", schemaJSON: schema, strict: true)))
                == #"{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"responseMimeType":"application/json","responseSchema":"#
                + schema + "}}")
        #expect(
            try chat(ChatRequest(model: "m", messages: [user("x")], responseFormat: .jsonObject), includeThoughts: true)
                == #"{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"responseMimeType":"application/json","thinkingConfig":{"includeThoughts":true}}}"#
        )
    }

    @Test func consecutiveTurnsOfOneRoleAreMerged() throws {
        let body = try chat(ChatRequest(model: "m", messages: [user("a"), user("b"), ChatMessage(role: .assistant, text: "c")]))
        #expect(
            body == #"{"contents":[{"role":"user","parts":[{"text":"a"},{"text":"b"}]},{"role":"model","parts":[{"text":"c"}]}]}"#)
    }

    @Test func requestsGeminiCannotExpressFailBeforeSending() {
        let cases: [(ChatRequest, ErrorKind, String)] = [
            (ChatRequest(model: "m", messages: [user("x")], parallelToolCalls: false), .unsupportedFeature, "parallel_tool_calls"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.text("x")], name: "bob")]), .unsupportedFeature, "names"),
            (ChatRequest(model: "m", messages: [user("x")], seed: 1 << 40), .invalidRequest, "32-bit seed"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .system, text: "only a system prompt")]), .invalidRequest, "at least one"),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .tool, parts: [.text("r")], toolCallID: "unknown")]),
                .invalidRequest, "no earlier tool call"
            ),
            (
                ChatRequest(
                    model: "m",
                    messages: [ChatMessage(role: .assistant, parts: [.imageURL(url: "https://x/y.png", detail: "")])]),
                .unsupportedFeature, "images"
            ),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .system, parts: [.imageData(bytes: [1], mimeType: "image/png")])]),
                .unsupportedFeature, "system"
            ),
            (
                ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.imageURL(url: "data:image/png,abc", detail: "")])]),
                .invalidRequest, "base64"
            ),
            (
                ChatRequest(
                    model: "m",
                    messages: [ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "a", name: "f", argumentsJSON: "[1]"))])]),
                .invalidRequest, "not a JSON object"
            ),
            (ChatRequest(model: "m", messages: [user("x")], tools: [ToolDefinition(name: "f", parametersJSON: "{")]), .invalidRequest, "not valid JSON"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [])]), .invalidRequest, "no content"),
        ]
        for (request, kind, words) in cases {
            let error = thrownGatewayError { _ = try encoder().chatBody(request) }
            #expect(error?.code == .invalidArgument, "\(words)")
            #expect(error?.detail.kind == kind, "\(words)")
            #expect(error?.message.contains(words) == true, "\(String(describing: error?.message))")
        }
    }

    @Test func toolMessageNamesTheFunctionWhenNoCallIsKnown() throws {
        let body = try chat(
            ChatRequest(
                model: "m", messages: [ChatMessage(role: .tool, parts: [.text("4"), .text("2")], name: "answer", toolCallID: "c9")]))
        #expect(
            body
                == #"{"contents":[{"role":"user","parts":[{"functionResponse":{"id":"c9","name":"answer","response":{"output":"42"}}}]}]}"#)
        let empty = try chat(ChatRequest(model: "m", messages: [ChatMessage(role: .tool, parts: [], name: "answer")]))
        #expect(
            empty == #"{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"answer","response":{"output":""}}}]}]}"#)
    }

    @Test func modelNamesInPathsAreEncoded() {
        #expect(GeminiRequestEncoder.resourcePath("gemini-2.0-flash") == "models/gemini-2.0-flash")
        #expect(GeminiRequestEncoder.resourcePath("models/gemini-2.5-pro") == "models/gemini-2.5-pro")
        #expect(GeminiRequestEncoder.resourcePath("tunedModels/my-model-7") == "tunedModels/my-model-7")
        #expect(GeminiRequestEncoder.resourcePath("replay=a.sse;chunk=3") == "models/replay%3Da.sse%3Bchunk%3D3")
        #expect(GeminiRequestEncoder.resourcePath("a b/../c?d#e:f") == "models/a%20b%2F..%2Fc%3Fd%23e%3Af")
        #expect(GeminiRequestEncoder.resourceName("gemini-embedding-001") == "models/gemini-embedding-001")
    }

    // MARK: Embeddings

    @Test func oneInputIsAnEmbedContentRequest() throws {
        let body = try encoder().embedBody(
            EmbedRequest(model: "e", inputs: ["What is the meaning of life?"], dimensions: 768, inputType: "query"),
            model: "gemini-embedding-001")
        #expect(
            String(decoding: body, as: UTF8.self)
                == #"{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"What is the meaning of life?"}]},"taskType":"RETRIEVAL_QUERY","outputDimensionality":768}"#
        )
    }

    @Test func severalInputsAreABatch() throws {
        let body = try encoder().embedBody(
            EmbedRequest(model: "e", inputs: ["a", "b"], inputType: "CLUSTERING"), model: "models/text-embedding-004")
        #expect(
            String(decoding: body, as: UTF8.self)
                == #"{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]},"taskType":"CLUSTERING"},{"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]},"taskType":"CLUSTERING"}]}"#
        )
        let error = thrownGatewayError { _ = try encoder().embedBody(EmbedRequest(model: "e", inputs: ["a"], inputType: "poetry"), model: "m") }
        #expect(error?.detail.kind == .invalidRequest)
        #expect(thrownGatewayError { _ = try encoder().embedBody(EmbedRequest(model: "e", inputs: []), model: "m") } != nil)
    }
}
