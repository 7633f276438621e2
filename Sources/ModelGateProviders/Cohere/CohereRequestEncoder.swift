import ModelGateCore
import ModelGateJSON

/// Translates unified requests into Cohere v2 `/v2/chat` and `/v2/embed` bodies
/// (docs/providers.md, "Cohere v2").
///
/// - Roles: system (developer too), user, assistant, tool. Text-only messages are sent with
///   `content` as a string; user messages with images as an array of `text` and `image_url`
///   parts.
/// - An assistant turn that calls tools carries `tool_calls` and, as Cohere expects, its text
///   as `tool_plan` rather than `content`. Every tool result is its own `role: tool` message.
/// - Optional fields are written only when set; what Cohere cannot express fails with
///   INVALID_ARGUMENT / UNSUPPORTED_FEATURE before anything is sent.
package struct CohereRequestEncoder: Sendable {
    package var provider: String

    package init(provider: String) {
        self.provider = provider
    }

    /// The image types Cohere's vision models take.
    private static let imageMediaTypes: Set<String> = ["image/png", "image/jpeg", "image/webp", "image/gif"]

    // MARK: Chat

    /// The body of `POST /v2/chat`.
    /// - Parameters:
    ///   - model: the upstream model id.
    ///   - stream: whether to ask for an SSE stream (`"stream": true`).
    /// - Throws: ``GatewayError`` INVALID_ARGUMENT for requests Cohere cannot express.
    package func chatBody(_ request: ChatRequest, model: String, stream: Bool) throws(GatewayError) -> [UInt8] {
        if request.parallelToolCalls == false {
            throw GatewayError.unsupported("parallel_tool_calls=false", provider: provider)
        }
        guard !request.messages.isEmpty else { throw GatewayError.invalidRequest("a chat needs at least one message") }
        var writer = JSONWriter(reservingCapacity: 512)
        writer.beginObject()
        writer.member("model", string: model)
        writer.key("messages")
        writer.beginArray()
        for (position, message) in request.messages.enumerated() {
            try writeMessage(message, position: position, into: &writer)
        }
        writer.endArray()
        writer.member("stream", bool: stream)
        try writeTools(request, into: &writer)
        try writeResponseFormat(request.responseFormat, into: &writer)
        if let maxTokens = request.maxTokens { writer.member("max_tokens", uint: UInt64(maxTokens)) }
        if let temperature = request.temperature { writer.member("temperature", float: temperature) }
        if let topP = request.topP { writer.member("p", float: topP) }
        if let topK = request.topK { writer.member("k", uint: UInt64(topK)) }
        if let seed = request.seed { writer.member("seed", int: seed) }
        if !request.stop.isEmpty { writer.member("stop_sequences", strings: request.stop) }
        if let penalty = request.frequencyPenalty { writer.member("frequency_penalty", float: penalty) }
        if let penalty = request.presencePenalty { writer.member("presence_penalty", float: penalty) }
        writer.endObject()
        return writer.bytes
    }

    private func writeMessage(_ message: ChatMessage, position: Int, into writer: inout JSONWriter) throws(GatewayError) {
        let role = try message.systemUserAssistantToolRole(position: position, provider: provider)
        // Cohere spells messages as OpenAI does; it has no error flag on tool results: the
        // content says what went wrong.
        let parts = try OpenAIMessageParts(message, roleName: role, position: position, provider: provider)
        let content = parts.content
        let toolCalls = parts.toolCalls
        for call in toolCalls where call.id.isEmpty || call.name.isEmpty {
            throw GatewayError.invalidRequest("message \(position): a tool call needs an id and a name")
        }
        for result in parts.toolResults {
            try writeToolMessage(callID: result.toolCallID, content: result.content, position: position, into: &writer)
        }
        if message.role == .tool {
            // OpenAI style: the message's text answers the call it names. A tool message of
            // tool-result parts only has been written already.
            if !content.isEmpty || message.parts.isEmpty {
                try writeToolMessage(callID: message.toolCallID, content: message.text, position: position, into: &writer)
            }
            return
        }
        if content.isEmpty, toolCalls.isEmpty {
            // A user message of tool results only (Anthropic style) has nothing left to send.
            if !message.parts.isEmpty { return }
            throw GatewayError.invalidRequest("message \(position) has no content")
        }
        writer.beginObject()
        writer.member("role", string: role)
        if toolCalls.isEmpty {
            writer.key("content")
            try writeContent(content, position: position, into: &writer)
        } else {
            // Cohere pairs an assistant's tool calls with its plan, not with content.
            let plan = ChatMessage(role: .assistant, parts: content).text
            if !plan.isEmpty { writer.member("tool_plan", string: plan) }
            writer.key("tool_calls")
            writer.beginArray()
            for call in toolCalls {
                // Cohere wants the arguments as JSON text, like OpenAI; checked so a broken
                // history fails here rather than upstream.
                let arguments = try call.argumentsObject(role: message.role, position: position)
                writer.object { entry in
                    entry.member("id", string: call.id)
                    entry.member("type", string: "function")
                    entry.key("function")
                    entry.object { function in
                        function.member("name", string: call.name)
                        function.member("arguments", string: arguments.text)
                    }
                }
            }
            writer.endArray()
        }
        writer.endObject()
    }

    private func writeToolMessage(callID: String, content: String, position: Int, into writer: inout JSONWriter)
        throws(GatewayError)
    {
        guard !callID.isEmpty else {
            throw GatewayError.invalidRequest("message \(position): a tool result names no tool call id")
        }
        writer.object { message in
            message.member("role", string: "tool")
            message.member("tool_call_id", string: callID)
            message.member("content", string: content)
        }
    }

    /// Text alone is a string; with images, an array of `text` and `image_url` parts.
    private func writeContent(_ parts: [ContentPart], position: Int, into writer: inout JSONWriter) throws(GatewayError) {
        let textOnly = parts.allSatisfy { if case .text = $0 { true } else { false } }
        if textOnly {
            writer.string(ChatMessage(role: .user, parts: parts).text)
            return
        }
        writer.beginArray()
        for part in parts {
            let url: String
            let detail: String
            switch part {
            case .text(let text):
                writer.object { part in
                    part.member("type", string: "text")
                    part.member("text", string: text)
                }
                continue
            case .imageURL(let imageURL, let imageDetail):
                (url, detail) = (imageURL, imageDetail)
            case .imageData(let bytes, let mimeType):
                guard Self.imageMediaTypes.contains(mimeType) else {
                    throw GatewayError.unsupported(
                        "message \(position): inline images of type \"\(mimeType)\" (PNG, JPEG, WebP and GIF are)",
                        provider: provider)
                }
                (url, detail) = (try OpenAIRequestEncoder.dataURL(bytes: bytes, mimeType: mimeType, position: position), "")
            case .toolCall, .toolResult:
                continue  // separated out by writeMessage
            }
            writer.object { image in
                image.member("type", string: "image_url")
                image.key("image_url")
                image.object { target in
                    target.member("url", string: url)
                    if !detail.isEmpty { target.member("detail", string: detail) }
                }
            }
        }
        writer.endArray()
    }

    // MARK: Tools and formats

    private func writeTools(_ request: ChatRequest, into writer: inout JSONWriter) throws(GatewayError) {
        if !request.tools.isEmpty {
            try writer.functionTools(request.tools)
            // Cohere enforces schemas for all tools or none; `strict` is a "where supported"
            // request, so it is honoured when every tool asks for it.
            if request.tools.allSatisfy(\.strict) { writer.member("strict_tools", bool: true) }
        }
        switch request.toolChoice {
        case .providerDefault, .auto:
            return  // Cohere's default lets the model choose; it has no "AUTO" value.
        case .none:
            writer.member("tool_choice", string: "NONE")
        case .required:
            guard !request.tools.isEmpty else {
                throw GatewayError.invalidRequest("tool choice \"required\" needs tools")
            }
            writer.member("tool_choice", string: "REQUIRED")
        case .function(let name):
            throw GatewayError.unsupported(
                "tool choice naming a function (\"\(name)\"; Cohere only takes REQUIRED or NONE)", provider: provider)
        }
    }

    /// Cohere's JSON mode is `{"type": "json_object"}`, with the schema in `json_schema`.
    /// A schema's name is only a label, and Cohere always enforces the schema it is given.
    private func writeResponseFormat(_ format: ResponseFormat, into writer: inout JSONWriter) throws(GatewayError) {
        var schema: JSONFragment?
        switch format {
        case .text:
            return
        case .jsonObject:
            break
        case .jsonSchema(_, let schemaJSON, _):
            guard !schemaJSON.isEmpty else { throw GatewayError.invalidRequest("response format json_schema has no schema") }
            schema = try JSONFragment.object(validating: schemaJSON, what: "response format schema")
        }
        writer.key("response_format")
        writer.object { format in
            format.member("type", string: "json_object")
            if let schema { format.member("json_schema", fragment: schema) }
        }
    }

    // MARK: Embeddings

    /// Cohere's `input_type`s by the unified names (Cohere's own are accepted too).
    private static let inputTypes: [String: String] = [
        "query": "search_query", "search_query": "search_query",
        "document": "search_document", "search_document": "search_document",
        "classification": "classification", "clustering": "clustering",
    ]

    /// What an embeddings request without `input_type` is sent as: Cohere's v3+ models
    /// require one, and documents are what most embeddings are made for.
    package static let defaultInputType = "search_document"

    /// The body of `POST /v2/embed`: `{"model", "texts", "input_type", "embedding_types":
    /// ["float"], "output_dimension"?}`.
    /// - Throws: INVALID_ARGUMENT without inputs or for an `input_type` Cohere does not know.
    package func embedBody(_ request: EmbedRequest, model: String) throws(GatewayError) -> [UInt8] {
        guard !request.inputs.isEmpty else { throw GatewayError.invalidRequest("embeddings need at least one input") }
        var inputType = Self.defaultInputType
        if !request.inputType.isEmpty {
            guard let mapped = Self.inputTypes[request.inputType.lowercased()] else {
                throw GatewayError.invalidRequest(
                    "input_type \"\(request.inputType)\" is not a Cohere input type (use query, document, classification or clustering)"
                )
            }
            inputType = mapped
        }
        var writer = JSONWriter(reservingCapacity: 128 + request.inputs.reduce(0) { $0 + $1.utf8.count + 3 })
        writer.beginObject()
        writer.member("model", string: model)
        writer.member("texts", strings: request.inputs)
        writer.member("input_type", string: inputType)
        writer.member("embedding_types", strings: ["float"])
        if let dimensions = request.dimensions { writer.member("output_dimension", uint: UInt64(dimensions)) }
        writer.endObject()
        return writer.bytes
    }
}
