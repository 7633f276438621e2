import ModelGateCore
import ModelGateJSON

/// Translates unified requests into OpenAI Chat Completions and Embeddings request bodies.
///
/// Optional fields are written only when the request sets them, so `temperature: 0` is sent
/// and an unset temperature leaves the server's default. A field the server cannot take is
/// an error (UNSUPPORTED_FEATURE), never silently dropped. JSON supplied by the caller (tool
/// parameter schemas, response schemas) is validated before it is spliced in, so it cannot
/// break or extend the request body.
package struct OpenAIRequestEncoder: Sendable {
    package var provider: String
    package var maxTokensField: OpenAIProviderConfiguration.MaxTokensField
    package var acceptsTopK: Bool
    package var includeStreamUsage: Bool

    package init(configuration: OpenAIProviderConfiguration) {
        self.init(
            provider: configuration.name, maxTokensField: configuration.maxTokensField,
            acceptsTopK: configuration.acceptsTopK, includeStreamUsage: configuration.includeStreamUsage)
    }

    package init(
        provider: String, maxTokensField: OpenAIProviderConfiguration.MaxTokensField, acceptsTopK: Bool,
        includeStreamUsage: Bool
    ) {
        self.provider = provider
        self.maxTokensField = maxTokensField
        self.acceptsTopK = acceptsTopK
        self.includeStreamUsage = includeStreamUsage
    }

    // MARK: Chat

    /// The body of `POST /chat/completions`.
    /// - Parameters:
    ///   - model: the provider's model id; nil leaves `model` out (Azure's deployment URLs name
    ///     the model in the path).
    ///   - stream: ask for an SSE stream (with usage when configured).
    /// - Throws: ``GatewayError`` INVALID_ARGUMENT for requests that cannot be expressed.
    package func chatBody(_ request: ChatRequest, model: String?, stream: Bool) throws(GatewayError) -> [UInt8] {
        if request.topK != nil, !acceptsTopK {
            throw GatewayError.unsupported("top_k", provider: provider)
        }
        var writer = JSONWriter(reservingCapacity: 512)
        writer.beginObject()
        if let model { writer.member("model", string: model) }
        writer.key("messages")
        writer.beginArray()
        for (position, message) in request.messages.enumerated() {
            try writeMessage(message, position: position, into: &writer)
        }
        writer.endArray()
        writer.member("stream", bool: stream)
        if stream, includeStreamUsage {
            writer.key("stream_options")
            writer.beginObject()
            writer.member("include_usage", bool: true)
            writer.endObject()
        }
        if !request.tools.isEmpty {
            writer.key("tools")
            writer.beginArray()
            for tool in request.tools {
                try writeTool(tool, into: &writer)
            }
            writer.endArray()
        }
        try Self.writeToolChoice(request.toolChoice, into: &writer, nestingFunctionName: true)
        if let parallel = request.parallelToolCalls { writer.member("parallel_tool_calls", bool: parallel) }
        try writeResponseFormat(request.responseFormat, into: &writer)
        if let temperature = request.temperature { writer.member("temperature", float: temperature) }
        if let topP = request.topP { writer.member("top_p", float: topP) }
        if let topK = request.topK { writer.member("top_k", uint: UInt64(topK)) }
        if let maxTokens = request.maxTokens {
            let field = maxTokensField == .maxTokens ? "max_tokens" : "max_completion_tokens"
            writer.member(field, uint: UInt64(maxTokens))
        }
        if let seed = request.seed { writer.member("seed", int: seed) }
        if let penalty = request.presencePenalty { writer.member("presence_penalty", float: penalty) }
        if let penalty = request.frequencyPenalty { writer.member("frequency_penalty", float: penalty) }
        if !request.stop.isEmpty {
            writer.key("stop")
            writer.beginArray()
            for sequence in request.stop { writer.string(sequence) }
            writer.endArray()
        }
        if !request.user.isEmpty { writer.member("user", string: request.user) }
        writer.endObject()
        return writer.bytes
    }

    private func roleName(_ role: Role, position: Int) throws(GatewayError) -> String {
        switch role {
        case .system: "system"
        case .developer: "developer"
        case .user: "user"
        case .assistant: "assistant"
        case .tool: "tool"
        case .unspecified: throw GatewayError.invalidRequest("message \(position) has no role")
        }
    }

    /// Writes one unified message as one or more OpenAI messages: OpenAI has no tool-result
    /// content part, so every tool result becomes its own `role: tool` message.
    private func writeMessage(_ message: ChatMessage, position: Int, into writer: inout JSONWriter)
        throws(GatewayError)
    {
        let role = try roleName(message.role, position: position)
        let parts = try OpenAIMessageParts(message, roleName: role, position: position, provider: provider)
        let content = parts.content
        let toolCalls = parts.toolCalls
        for result in parts.toolResults {
            writeToolMessage(callID: result.toolCallID, text: result.content, into: &writer)
        }
        if !parts.toolResults.isEmpty, content.isEmpty { return }
        if message.role == .tool {
            guard !message.toolCallID.isEmpty else {
                throw GatewayError.invalidRequest("message \(position): tool message without a tool call id")
            }
            writeToolMessage(callID: message.toolCallID, text: message.text, into: &writer)
            return
        }

        writer.beginObject()
        writer.member("role", string: role)
        writer.key("content")
        if content.isEmpty, !toolCalls.isEmpty {
            writer.null()
        } else {
            try writeContent(content, position: position, into: &writer)
        }
        if !message.name.isEmpty { writer.member("name", string: message.name) }
        if !toolCalls.isEmpty {
            writer.key("tool_calls")
            writer.beginArray()
            for call in toolCalls {
                writer.beginObject()
                writer.member("id", string: call.id)
                writer.member("type", string: "function")
                writer.key("function")
                writer.beginObject()
                writer.member("name", string: call.name)
                writer.member("arguments", string: call.argumentsJSON)
                writer.endObject()
                writer.endObject()
            }
            writer.endArray()
        }
        writer.endObject()
    }

    private func writeToolMessage(callID: String, text: String, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("role", string: "tool")
        writer.member("tool_call_id", string: callID)
        writer.member("content", string: text)
        writer.endObject()
    }

    /// A lone text part is sent as a plain string, which every compatible server accepts;
    /// anything else as an array of content parts.
    private func writeContent(_ parts: [ContentPart], position: Int, into writer: inout JSONWriter)
        throws(GatewayError)
    {
        if parts.isEmpty {
            writer.string("")
            return
        }
        if parts.count == 1, case .text(let text) = parts[0] {
            writer.string(text)
            return
        }
        writer.beginArray()
        for part in parts {
            writer.beginObject()
            switch part {
            case .text(let text):
                writer.member("type", string: "text")
                writer.member("text", string: text)
            case .imageURL(let url, let detail):
                writer.member("type", string: "image_url")
                writer.key("image_url")
                writer.beginObject()
                writer.member("url", string: url)
                if !detail.isEmpty { writer.member("detail", string: detail) }
                writer.endObject()
            case .imageData(let bytes, let mimeType):
                writer.member("type", string: "image_url")
                writer.key("image_url")
                writer.beginObject()
                writer.member("url", string: try Self.dataURL(bytes: bytes, mimeType: mimeType, position: position))
                writer.endObject()
            case .toolCall, .toolResult:
                break  // separated out by writeMessage
            }
            writer.endObject()
        }
        writer.endArray()
    }

    /// Inline image bytes as the `data:<mime>;base64,…` URL OpenAI's APIs take.
    /// - Throws: INVALID_ARGUMENT when the media type could not be a media type.
    static func dataURL(bytes: [UInt8], mimeType: String, position: Int) throws(GatewayError) -> String {
        guard isPlausibleMediaType(mimeType) else {
            throw GatewayError.invalidRequest("message \(position): inline image needs a media type such as image/png")
        }
        return "data:\(mimeType);base64,\(Base64.encode(bytes))"
    }

    /// `type/subtype` made of token characters, so it cannot corrupt the data URL.
    private static func isPlausibleMediaType(_ text: String) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { part in
            !part.isEmpty && part.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."):
                    true
                default:
                    false
                }
            }
        }
    }

    // MARK: Tools and formats

    private func writeTool(_ tool: ToolDefinition, into writer: inout JSONWriter) throws(GatewayError) {
        writer.beginObject()
        writer.member("type", string: "function")
        writer.key("function")
        try tool.writeDeclaration(into: &writer, strict: tool.strict)
        writer.endObject()
    }

    /// `tool_choice`: `auto`, `none`, `required`, or a function, named as
    /// `{"type": "function", "function": {"name"}}` (Chat Completions, `nestingFunctionName`)
    /// or `{"type": "function", "name"}` (Responses API). Nothing for the provider's default.
    static func writeToolChoice(_ choice: ToolChoice, into writer: inout JSONWriter, nestingFunctionName: Bool)
        throws(GatewayError)
    {
        switch choice {
        case .providerDefault:
            return
        case .auto:
            writer.member("tool_choice", string: "auto")
        case .none:
            writer.member("tool_choice", string: "none")
        case .required:
            writer.member("tool_choice", string: "required")
        case .function(let name):
            guard !name.isEmpty else { throw GatewayError.invalidRequest("tool choice names no function") }
            writer.key("tool_choice")
            writer.beginObject()
            writer.member("type", string: "function")
            if nestingFunctionName {
                writer.key("function")
                writer.beginObject()
                writer.member("name", string: name)
                writer.endObject()
            } else {
                writer.member("name", string: name)
            }
            writer.endObject()
        }
    }

    /// OpenAI requires a schema name; an unnamed schema is sent as `response`.
    private func writeResponseFormat(_ format: ResponseFormat, into writer: inout JSONWriter) throws(GatewayError) {
        switch format {
        case .text:
            return
        case .jsonObject:
            writer.key("response_format")
            writer.beginObject()
            writer.member("type", string: "json_object")
            writer.endObject()
        case .jsonSchema:
            writer.key("response_format")
            writer.beginObject()
            writer.member("type", string: "json_schema")
            writer.key("json_schema")
            writer.beginObject()
            try Self.writeSchemaMembers(of: format, into: &writer)
            writer.endObject()
            writer.endObject()
        }
    }

    /// `"name"`, `"schema"` and (when set) `"strict"` of a JSON-schema response format, the
    /// schema checked to be a JSON object: Chat Completions nests them in `json_schema`, the
    /// Responses API puts them beside `"type"`.
    static func writeSchemaMembers(of format: ResponseFormat, into writer: inout JSONWriter) throws(GatewayError) {
        guard case .jsonSchema(let name, let schemaJSON, let strict) = format else { return }
        guard !schemaJSON.isEmpty else {
            throw GatewayError.invalidRequest("response format json_schema has no schema")
        }
        let schema = try JSONFragment.object(validating: schemaJSON, what: "response format schema")
        writer.member("name", string: name.isEmpty ? "response" : name)
        writer.member("schema", fragment: schema)
        if strict { writer.member("strict", bool: true) }
    }

    // MARK: Embeddings

    /// The body of `POST /embeddings`, asking for float vectors; `model` nil leaves it out
    /// (Azure's deployment URLs).
    package func embeddingsBody(_ request: EmbedRequest, model: String?) throws(GatewayError) -> [UInt8] {
        var writer = try request.beginBody(model: model, provider: provider)
        writer.member("encoding_format", string: "float")
        if let dimensions = request.dimensions { writer.member("dimensions", uint: UInt64(dimensions)) }
        if !request.user.isEmpty { writer.member("user", string: request.user) }
        writer.endObject()
        return writer.bytes
    }
}

/// A message's parts sorted the way OpenAI's APIs take them, each checked to be where it may
/// appear: content (text, and images in user messages only), tool calls (assistant messages),
/// tool results (user and tool messages), each in order.
struct OpenAIMessageParts {
    var content: [ContentPart] = []
    var toolCalls: [ToolCall] = []
    var toolResults: [ToolResult] = []

    /// - Parameter roleName: the role as the API names it, for messages.
    init(_ message: ChatMessage, roleName: String, position: Int, provider: String) throws(GatewayError) {
        for part in message.parts {
            switch part {
            case .text:
                content.append(part)
            case .imageURL, .imageData:
                guard message.role == .user else {
                    throw GatewayError.unsupported("images in \(roleName) messages", provider: provider)
                }
                content.append(part)
            case .toolCall(let call):
                guard message.role == .assistant else {
                    throw GatewayError.invalidRequest("message \(position): tool calls belong in assistant messages")
                }
                toolCalls.append(call)
            case .toolResult(let result):
                guard message.role == .user || message.role == .tool else {
                    throw GatewayError.invalidRequest("message \(position): tool results belong in user or tool messages")
                }
                toolResults.append(result)
            }
        }
    }
}
