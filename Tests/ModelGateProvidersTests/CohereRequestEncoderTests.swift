import ModelGateCore
import ModelGateFakeUpstream
import ModelGateJSON
import ModelGateProviders
import Testing

/// Whether two JSON values are equal, object members compared by key whatever their order.
func jsonEquivalent(_ a: JSONValue, _ b: JSONValue) -> Bool {
    guard a.kind == b.kind else { return false }
    switch a.kind {
    case .object:
        guard a.count == b.count else { return false }
        return a.members.allSatisfy { member in b[member.key].exists && jsonEquivalent(member.value, b[member.key]) }
    case .array:
        return a.count == b.count && zip(a.elements, b.elements).allSatisfy { jsonEquivalent($0, $1) }
    case .string:
        return a.string == b.string
    default:
        return a.rawText == b.rawText
    }
}

@Suite("Cohere request encoder")
struct CohereRequestEncoderTests {
    let encoder = CohereRequestEncoder(provider: "cohere")

    private func body(_ request: ChatRequest, stream: Bool = true) throws -> String {
        String(decoding: try encoder.chatBody(request, model: "command-a-plus-05-2026", stream: stream), as: UTF8.self)
    }

    @Test("system prompt, images, tool calls with a plan, tool results, tools, choice, schema and sampling")
    func fullRequestTranslation() throws {
        let request = ChatRequest(
            model: "sales",
            messages: [
                ChatMessage(role: .system, text: "You are a sales analyst."),
                ChatMessage(
                    role: .user,
                    parts: [
                        .text("Sales on 29 Sept?"), .imageURL(url: "https://example.com/chart.png", detail: "high"),
                        .imageData(bytes: [1, 2, 3], mimeType: "image/png"),
                    ]),
                ChatMessage(
                    role: .assistant,
                    parts: [
                        .text("I will query the report."),
                        .toolCall(
                            ToolCall(id: "call_1", name: "query_daily_sales_report", argumentsJSON: #"{"day":"2023-09-29"}"#)),
                        .toolCall(ToolCall(id: "call_2", name: "query_product_catalog", argumentsJSON: "")),
                    ]),
                ChatMessage(role: .tool, parts: [.text(#"{"total":42}"#)], toolCallID: "call_1"),
                ChatMessage(role: .user, parts: [.toolResult(ToolResult(toolCallID: "call_2", content: "no rows", isError: true))]),
                ChatMessage(role: .developer, text: "Answer in one line."),
                ChatMessage(role: .user, text: "Summarise."),
            ],
            tools: [
                ToolDefinition(
                    name: "query_daily_sales_report", description: "Daily sales",
                    parametersJSON: #"{"type":"object","properties":{"day":{"type":"string"}}}"#),
                ToolDefinition(name: "query_product_catalog", description: "Catalog"),
            ],
            toolChoice: .required,
            responseFormat: .jsonSchema(name: "summary", schemaJSON: #"{"type":"object"}"#, strict: true),
            temperature: 0, topP: 0.9, maxTokens: 256, seed: 7, presencePenalty: 0.25, frequencyPenalty: 0.5, topK: 40,
            stop: ["END"], user: "u-1")
        let expected =
            #"{"model":"command-a-plus-05-2026","messages":["#
            + #"{"role":"system","content":"You are a sales analyst."},"#
            + #"{"role":"user","content":[{"type":"text","text":"Sales on 29 Sept?"},{"type":"image_url","image_url":{"url":"https://example.com/chart.png","detail":"high"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,AQID"}}]},"#
            + #"{"role":"assistant","tool_plan":"I will query the report.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"query_daily_sales_report","arguments":"{\"day\":\"2023-09-29\"}"}},{"id":"call_2","type":"function","function":{"name":"query_product_catalog","arguments":"{}"}}]},"#
            + #"{"role":"tool","tool_call_id":"call_1","content":"{\"total\":42}"},"#
            + #"{"role":"tool","tool_call_id":"call_2","content":"no rows"},"#
            + #"{"role":"system","content":"Answer in one line."},"#
            + #"{"role":"user","content":"Summarise."}],"#
            + #""stream":true,"#
            + #""tools":[{"type":"function","function":{"name":"query_daily_sales_report","description":"Daily sales","parameters":{"type":"object","properties":{"day":{"type":"string"}}}}},{"type":"function","function":{"name":"query_product_catalog","description":"Catalog"}}],"#
            + #""tool_choice":"REQUIRED","#
            + #""response_format":{"type":"json_object","json_schema":{"type":"object"}},"#
            + #""max_tokens":256,"temperature":0.0,"p":0.9,"k":40,"seed":7,"stop_sequences":["END"],"frequency_penalty":0.5,"presence_penalty":0.25}"#
        #expect(try body(request) == expected)
    }

    @Test("the published examples' requests are what the gateway sends for the same chat")
    func publishedRequestsMatch() throws {
        let toolExample = try FernExample(
            yaml: String(decoding: try Fixtures.bytes(CohereStreamDecoderTests.toolStream), as: UTF8.self))
        let published = try JSONDocument(parsing: try #require(toolExample.requestJSON)).root
        let request = ChatRequest(
            model: "m",
            messages: [
                ChatMessage(
                    role: .user,
                    text:
                        "Can you provide a sales summary for 29th September 2023, and also give me some details about the products in the 'Electronics' category, for example their prices and stock levels?"
                )
            ],
            tools: [
                ToolDefinition(
                    name: "query_daily_sales_report",
                    description:
                        "Connects to a database to retrieve overall sales volumes and sales information for a given day.",
                    parametersJSON:
                        #"{"type":"object","properties":{"day":{"description":"Retrieves sales data for this day, formatted as YYYY-MM-DD.","type":"string"}}}"#
                ),
                ToolDefinition(
                    name: "query_product_catalog",
                    description:
                        "Connects to a product catalog with information about all the products being sold, including categories, prices, and stock levels.",
                    parametersJSON:
                        #"{"type":"object","properties":{"category":{"description":"Retrieves product information data for all products in this category.","type":"string"}}}"#
                ),
            ])
        let sent = try JSONDocument(parsing: try encoder.chatBody(request, model: "command-a-plus-05-2026", stream: true)).root
        #expect(jsonEquivalent(sent, published), "sent \(sent.rawText)\npublished \(published.rawText)")

        let textExample = try FernExample(
            yaml: String(decoding: try Fixtures.bytes(CohereStreamDecoderTests.textStream), as: UTF8.self))
        #expect(
            String(decoding: try #require(textExample.requestJSON), as: UTF8.self)
                == #"{"model":"command-a-plus-05-2026","messages":[{"role":"user","content":"Tell me about LLMs"}],"stream":true}"#)
        #expect(
            try body(ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Tell me about LLMs")]))
                == #"{"model":"command-a-plus-05-2026","messages":[{"role":"user","content":"Tell me about LLMs"}],"stream":true}"#)
    }

    @Test func unaryJSONModeToolChoiceNoneAndStrictTools() throws {
        let request = ChatRequest(
            model: "m", messages: [ChatMessage(role: .user, text: "hi")],
            tools: [ToolDefinition(name: "f", parametersJSON: #"{"type":"object"}"#, strict: true)], toolChoice: .none,
            responseFormat: .jsonObject)
        #expect(
            try body(request, stream: false)
                == #"{"model":"command-a-plus-05-2026","messages":[{"role":"user","content":"hi"}],"stream":false,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"strict_tools":true,"tool_choice":"NONE","response_format":{"type":"json_object"}}"#
        )
        // auto is Cohere's default: nothing is sent for it.
        var auto = request
        auto.toolChoice = .auto
        auto.responseFormat = .text
        auto.tools[0].strict = false
        #expect(
            try body(auto)
                == #"{"model":"command-a-plus-05-2026","messages":[{"role":"user","content":"hi"}],"stream":true,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#
        )
    }

    @Test(
        "what Cohere cannot express fails before sending, naming the feature",
        arguments: [
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], tools: [ToolDefinition(name: "f")], toolChoice: .function("f")),
             ErrorKind.unsupportedFeature, "tool choice naming a function"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], parallelToolCalls: false),
             .unsupportedFeature, "parallel_tool_calls=false"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .assistant, parts: [.imageURL(url: "https://x/y.png", detail: "")])]),
             .unsupportedFeature, "images in assistant messages"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.imageData(bytes: [0], mimeType: "image/bmp")])]),
             .unsupportedFeature, "inline images of type \"image/bmp\""),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.text("x")], name: "alice")]),
             .unsupportedFeature, "message names"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .tool, text: "42")]),
             .invalidRequest, "names no tool call id"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], toolChoice: .required),
             .invalidRequest, "needs tools"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "c", name: "f", argumentsJSON: "[1]"))])]),
             .invalidRequest, "is not a JSON object"),
            (ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "x")], responseFormat: .jsonSchema(name: "", schemaJSON: "", strict: false)),
             .invalidRequest, "has no schema"),
        ])
    func refusedRequests(request: ChatRequest, kind: ErrorKind, phrase: String) {
        let error = thrownGatewayError { _ = try encoder.chatBody(request, model: "m", stream: true) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.detail.kind == kind)
        #expect(error?.message.contains(phrase) == true, "\(error?.message ?? "no error")")
    }

    // MARK: Embeddings

    @Test func embedBodies() throws {
        let query = EmbedRequest(model: "e", inputs: ["what is ModelGate?", "b"], dimensions: 256, inputType: "query")
        #expect(
            String(decoding: try encoder.embedBody(query, model: "embed-v4.0"), as: UTF8.self)
                == #"{"model":"embed-v4.0","texts":["what is ModelGate?","b"],"input_type":"search_query","embedding_types":["float"],"output_dimension":256}"#
        )
        // No input type: documents, which Cohere's v3+ models require one of.
        #expect(
            String(decoding: try encoder.embedBody(EmbedRequest(model: "e", inputs: ["a"]), model: "embed-v4.0"), as: UTF8.self)
                == #"{"model":"embed-v4.0","texts":["a"],"input_type":"search_document","embedding_types":["float"]}"#)
        for (given, sent) in [("classification", "classification"), ("CLUSTERING", "clustering"), ("search_document", "search_document")] {
            let body = try encoder.embedBody(EmbedRequest(model: "e", inputs: ["a"], inputType: given), model: "m")
            #expect(try JSONDocument(parsing: body).root["input_type"].string == sent)
        }
        let unknown = thrownGatewayError { _ = try encoder.embedBody(EmbedRequest(model: "e", inputs: ["a"], inputType: "image"), model: "m") }
        #expect(unknown?.code == .invalidArgument && unknown?.message.contains("not a Cohere input type") == true)
        let empty = thrownGatewayError { _ = try encoder.embedBody(EmbedRequest(model: "e", inputs: []), model: "m") }
        #expect(empty?.code == .invalidArgument)
    }
}
