import ModelGateCore
import ModelGateJSON

/// Which OpenAI API answers a provider's chat calls. Embeddings always use `/embeddings`.
package enum OpenAIChatAPI: String, Sendable, Hashable, CaseIterable {
    /// `POST /chat/completions`: what OpenAI and every compatible server speak.
    case chatCompletions = "chat_completions"
    /// `POST /responses`: OpenAI's newer API (Azure has it too), with named stream events.
    case responses
}

/// Translates unified chat requests into Responses API bodies (`POST /responses`).
///
/// - Leading system and developer messages become `instructions` (joined by a blank line);
///   later ones stay in place as `system`/`developer` input messages.
/// - User messages are `message` items with `input_text` and `input_image` parts; assistant
///   text is a `message` item whose content is the text, and each assistant tool call a
///   `function_call` item; tool results are `function_call_output` items.
/// - Tools are `{type: function, name, description, parameters, strict}`, `strict` always
///   written because the Responses API defaults it to true where the unified default is false.
/// - `text.format` carries JSON modes; `max_output_tokens` the token limit; sampling fields
///   only when set; `store` is always written (false unless configured) so that no user data is
///   kept upstream by default.
/// - `stop`, `seed`, `top_k` and the penalties have no Responses API field: a request with them
///   fails with UNSUPPORTED_FEATURE rather than losing them; so do message names.
package struct OpenAIResponsesRequestEncoder: Sendable {
    package var provider: String
    /// The body's `store`: whether OpenAI keeps the response for later retrieval.
    package var store: Bool

    package init(provider: String, store: Bool) {
        self.provider = provider
        self.store = store
    }

    /// The body of `POST /responses`.
    /// - Parameters:
    ///   - model: the provider's model id (Azure: the deployment name).
    ///   - stream: ask for an SSE stream of named events.
    /// - Throws: ``GatewayError`` INVALID_ARGUMENT for requests that cannot be expressed.
    package func body(_ request: ChatRequest, model: String, stream: Bool) throws(GatewayError) -> [UInt8] {
        try refuseUnsupportedFields(request)
        var writer = JSONWriter(reservingCapacity: 512)
        writer.beginObject()
        writer.member("model", string: model)
        var remaining = request.messages[...]
        var instructions: [String] = []
        while let first = remaining.first, first.role == .system || first.role == .developer {
            instructions.append(try instructionText(first, position: instructions.count))
            remaining.removeFirst()
        }
        if !instructions.isEmpty { writer.member("instructions", string: instructions.joined(separator: "\n\n")) }
        writer.key("input")
        writer.beginArray()
        for (position, message) in zip(remaining.indices, remaining) {
            try writeItems(for: message, position: position, into: &writer)
        }
        writer.endArray()
        if !request.tools.isEmpty {
            writer.key("tools")
            writer.beginArray()
            for tool in request.tools {
                let parameters = try tool.validatedParameters()
                writer.beginObject()
                writer.member("type", string: "function")
                writer.member("name", string: tool.name)
                if !tool.description.isEmpty { writer.member("description", string: tool.description) }
                writer.key("parameters")
                if let parameters { writer.fragment(parameters) } else { writer.null() }
                writer.member("strict", bool: tool.strict)
                writer.endObject()
            }
            writer.endArray()
        }
        try OpenAIRequestEncoder.writeToolChoice(request.toolChoice, into: &writer, nestingFunctionName: false)
        if let parallel = request.parallelToolCalls { writer.member("parallel_tool_calls", bool: parallel) }
        try writeTextFormat(request.responseFormat, into: &writer)
        if let temperature = request.temperature { writer.member("temperature", float: temperature) }
        if let topP = request.topP { writer.member("top_p", float: topP) }
        if let maxTokens = request.maxTokens { writer.member("max_output_tokens", uint: UInt64(maxTokens)) }
        if !request.user.isEmpty { writer.member("user", string: request.user) }
        writer.member("store", bool: store)
        writer.member("stream", bool: stream)
        writer.endObject()
        return writer.bytes
    }

    private func refuseUnsupportedFields(_ request: ChatRequest) throws(GatewayError) {
        let unsupported: [(String, Bool)] = [
            ("top_k", request.topK != nil), ("seed", request.seed != nil), ("stop", !request.stop.isEmpty),
            ("presence_penalty", request.presencePenalty != nil), ("frequency_penalty", request.frequencyPenalty != nil),
        ]
        if let (field, _) = unsupported.first(where: { $0.1 }) {
            throw GatewayError.unsupported("\(field) (the Responses API has no such field)", provider: provider)
        }
    }

    /// A leading system or developer message: text only, since `instructions` is a string.
    private func instructionText(_ message: ChatMessage, position: Int) throws(GatewayError) -> String {
        try refuseName(message, position: position)
        var text = ""
        for part in message.parts {
            guard case .text(let piece) = part else {
                throw GatewayError.unsupported("non-text parts in system messages", provider: provider)
            }
            text += piece
        }
        return text
    }

    private func refuseName(_ message: ChatMessage, position: Int) throws(GatewayError) {
        guard message.name.isEmpty || message.role == .tool else {
            throw GatewayError.unsupported("message names (message \(position))", provider: provider)
        }
    }

    /// Writes one unified message as its Responses input items, in order: tool results as
    /// `function_call_output` items where they appear, then the message itself (if it has
    /// content), then the assistant's tool calls as `function_call` items.
    private func writeItems(for message: ChatMessage, position: Int, into writer: inout JSONWriter) throws(GatewayError) {
        try refuseName(message, position: position)
        let role: String
        switch message.role {
        case .system: role = "system"
        case .developer: role = "developer"
        case .user: role = "user"
        case .assistant: role = "assistant"
        case .tool:
            try writeToolMessage(message, position: position, into: &writer)
            return
        case .unspecified: throw GatewayError.invalidRequest("message \(position) has no role")
        }
        let parts = try OpenAIMessageParts(message, roleName: role, position: position, provider: provider)
        let content = parts.content
        let toolCalls = parts.toolCalls
        for result in parts.toolResults {
            writeFunctionCallOutput(callID: result.toolCallID, output: result.content, into: &writer)
        }
        if !(content.isEmpty && (!parts.toolResults.isEmpty || !toolCalls.isEmpty)) {
            writer.beginObject()
            writer.member("type", string: "message")
            writer.member("role", string: role)
            writer.key("content")
            if message.role == .user {
                try writeUserContent(content, position: position, into: &writer)
            } else {
                writer.string(message.text)
            }
            writer.endObject()
        }
        for call in toolCalls {
            guard !call.name.isEmpty else { throw GatewayError.invalidRequest("message \(position): a tool call has no name") }
            writer.beginObject()
            writer.member("type", string: "function_call")
            writer.member("call_id", string: call.id)
            writer.member("name", string: call.name)
            writer.member("arguments", string: call.argumentsJSON.isEmpty ? "{}" : call.argumentsJSON)
            writer.endObject()
        }
    }

    private func writeToolMessage(_ message: ChatMessage, position: Int, into writer: inout JSONWriter) throws(GatewayError) {
        var wroteResults = false
        for case .toolResult(let result) in message.parts {
            writeFunctionCallOutput(callID: result.toolCallID, output: result.content, into: &writer)
            wroteResults = true
        }
        if wroteResults && message.text.isEmpty { return }
        guard !message.toolCallID.isEmpty else {
            throw GatewayError.invalidRequest("message \(position): tool message without a tool call id")
        }
        writeFunctionCallOutput(callID: message.toolCallID, output: message.text, into: &writer)
    }

    /// OpenAI has no error flag for tool results: the content is sent unchanged.
    private func writeFunctionCallOutput(callID: String, output: String, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("type", string: "function_call_output")
        writer.member("call_id", string: callID)
        writer.member("output", string: output)
        writer.endObject()
    }

    /// `input_text` and `input_image` parts; an image without a detail level is sent as
    /// `auto`, the API's default, because the field is required.
    private func writeUserContent(_ parts: [ContentPart], position: Int, into writer: inout JSONWriter) throws(GatewayError) {
        writer.beginArray()
        if parts.isEmpty {
            writer.beginObject()
            writer.member("type", string: "input_text")
            writer.member("text", string: "")
            writer.endObject()
        }
        for part in parts {
            writer.beginObject()
            switch part {
            case .text(let text):
                writer.member("type", string: "input_text")
                writer.member("text", string: text)
            case .imageURL(let url, let detail):
                writer.member("type", string: "input_image")
                writer.member("image_url", string: url)
                writer.member("detail", string: detail.isEmpty ? "auto" : detail)
            case .imageData(let bytes, let mimeType):
                writer.member("type", string: "input_image")
                writer.member(
                    "image_url", string: try OpenAIRequestEncoder.dataURL(bytes: bytes, mimeType: mimeType, position: position))
                writer.member("detail", string: "auto")
            case .toolCall, .toolResult:
                break  // separated out by writeItems
            }
            writer.endObject()
        }
        writer.endArray()
    }

    /// `text.format`: `json_object`, or `json_schema` with the schema's members beside the
    /// type (Chat Completions nests them).
    private func writeTextFormat(_ format: ResponseFormat, into writer: inout JSONWriter) throws(GatewayError) {
        guard format != .text else { return }
        writer.key("text")
        writer.beginObject()
        writer.key("format")
        writer.beginObject()
        if format == .jsonObject {
            writer.member("type", string: "json_object")
        } else {
            writer.member("type", string: "json_schema")
            try OpenAIRequestEncoder.writeSchemaMembers(of: format, into: &writer)
        }
        writer.endObject()
        writer.endObject()
    }
}
