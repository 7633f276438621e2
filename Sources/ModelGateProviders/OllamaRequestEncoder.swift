import ModelGateCore
import ModelGateJSON

/// Translates unified requests into Ollama `/api/chat` and `/api/embed` request bodies
/// (docs/providers.md, "Ollama").
///
/// - Roles map one to one (`developer` becomes `system`). A message's text parts are
///   concatenated into `content`, its images go to `images` as base64; Ollama fetches no
///   URLs, so only inline images and base64 `data:` URLs are accepted.
/// - Tool calls go in the assistant's `tool_calls` with `arguments` as a JSON object; each
///   tool result is its own `role: tool` message with the function's name in `tool_name`
///   (looked up from the earlier call with the same id).
/// - Sampling parameters go in `options` (`num_predict` is the token limit), only when set.
///   A request Ollama cannot express fails with INVALID_ARGUMENT before anything is sent.
package struct OllamaRequestEncoder: Sendable {
    package var provider: String
    package var keepAlive: String?

    package init(configuration: OllamaProviderConfiguration) {
        self.provider = configuration.name
        self.keepAlive = configuration.keepAlive
    }

    private struct Message {
        var role: String
        var content = ""
        var images: [String] = []
        var toolCalls: [(name: String, arguments: JSONFragment)] = []
        var toolName: String?
    }

    // MARK: Chat

    /// The body of `POST /api/chat`. Ollama streams unless told otherwise, so `stream` is
    /// always written.
    /// - Throws: ``GatewayError`` INVALID_ARGUMENT for requests Ollama cannot express.
    package func chatBody(_ request: ChatRequest, model: String, stream: Bool) throws(GatewayError) -> [UInt8] {
        if request.parallelToolCalls == false {
            throw GatewayError.unsupported("parallel_tool_calls=false", provider: provider)
        }
        // Ollama has no tool_choice. Leaving the tools out is exactly "none"; forcing a call
        // cannot be expressed.
        var sendsTools = !request.tools.isEmpty
        switch request.toolChoice {
        case .providerDefault, .auto: break
        case .none: sendsTools = false
        case .required, .function: throw GatewayError.unsupported("tool_choice required or naming a function", provider: provider)
        }
        var messages: [Message] = []
        var callNames: [String: String] = [:]
        for (position, message) in request.messages.enumerated() {
            messages += try translate(message, position: position, callNames: &callNames)
        }

        var writer = JSONWriter(reservingCapacity: 512)
        writer.beginObject()
        writer.member("model", string: model)
        writer.key("messages")
        writer.beginArray()
        for message in messages { write(message, into: &writer) }
        writer.endArray()
        if sendsTools {
            // `strict` asks for enforcement "where supported"; Ollama has no such switch.
            try writer.functionTools(request.tools)
        }
        switch request.responseFormat {
        case .text:
            break
        case .jsonObject:
            writer.member("format", string: "json")
        case .jsonSchema(_, let schemaJSON, _):
            guard !schemaJSON.isEmpty else { throw GatewayError.invalidRequest("response format json_schema has no schema") }
            writer.member("format", fragment: try JSONFragment.object(validating: schemaJSON, what: "response format schema"))
        }
        writeOptions(request, into: &writer)
        writer.member("stream", bool: stream)
        if let keepAlive { writer.member("keep_alive", string: keepAlive) }
        writer.endObject()
        return writer.bytes
    }

    /// One unified message as Ollama messages: its tool results first (one `tool` message
    /// each), then the rest, if any.
    private func translate(_ message: ChatMessage, position: Int, callNames: inout [String: String])
        throws(GatewayError) -> [Message]
    {
        let role = try message.systemUserAssistantToolRole(position: position, provider: provider)
        var results: [Message] = []
        var main = Message(role: role)
        for part in message.parts {
            switch part {
            case .text(let text):
                main.content += text
            case .imageData(let bytes, _):
                guard message.role == .user else {
                    throw GatewayError.unsupported("images in non-user messages", provider: provider)
                }
                main.images.append(Base64.encode(bytes))
            case .imageURL(let url, _):
                guard message.role == .user else {
                    throw GatewayError.unsupported("images in non-user messages", provider: provider)
                }
                guard url.hasPrefix("data:"), let marker = url.utf8.firstRange(of: ";base64,".utf8) else {
                    throw GatewayError.unsupported("image URLs other than base64 data: URLs", provider: provider)
                }
                main.images.append(String(url[marker.upperBound...]))
            case .toolCall(let call):
                let arguments = try call.argumentsObject(role: message.role, position: position)
                if !call.id.isEmpty { callNames[call.id] = call.name }
                main.toolCalls.append((call.name, arguments))
            case .toolResult(let result):
                guard message.role == .user || message.role == .tool else {
                    throw GatewayError.invalidRequest("message \(position): tool results belong in user or tool messages")
                }
                // Ollama has no error flag: the content describes the failure.
                results.append(
                    Message(role: "tool", content: result.content, toolName: callNames[result.toolCallID] ?? nonEmpty(message.name)))
            }
        }
        if message.role == .tool {
            main.toolName = callNames[message.toolCallID] ?? nonEmpty(message.name)
        }
        let hasMain = !main.content.isEmpty || !main.images.isEmpty || !main.toolCalls.isEmpty
        return hasMain || results.isEmpty ? results + [main] : results
    }

    private func nonEmpty(_ text: String) -> String? {
        text.isEmpty ? nil : text
    }

    private func write(_ message: Message, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("role", string: message.role)
        writer.member("content", string: message.content)
        if !message.images.isEmpty { writer.member("images", strings: message.images) }
        if !message.toolCalls.isEmpty {
            writer.key("tool_calls")
            writer.beginArray()
            for call in message.toolCalls {
                writer.beginObject()
                writer.key("function")
                writer.beginObject()
                writer.member("name", string: call.name)
                writer.member("arguments", fragment: call.arguments)
                writer.endObject()
                writer.endObject()
            }
            writer.endArray()
        }
        if let toolName = message.toolName { writer.member("tool_name", string: toolName) }
        writer.endObject()
    }

    private func writeOptions(_ request: ChatRequest, into writer: inout JSONWriter) {
        guard request.temperature != nil || request.topP != nil || request.topK != nil || request.seed != nil
            || request.maxTokens != nil || !request.stop.isEmpty || request.presencePenalty != nil
            || request.frequencyPenalty != nil
        else { return }
        writer.key("options")
        writer.beginObject()
        if let temperature = request.temperature { writer.member("temperature", float: temperature) }
        if let topP = request.topP { writer.member("top_p", float: topP) }
        if let topK = request.topK { writer.member("top_k", uint: UInt64(topK)) }
        if let seed = request.seed { writer.member("seed", int: seed) }
        if let maxTokens = request.maxTokens { writer.member("num_predict", uint: UInt64(maxTokens)) }
        if !request.stop.isEmpty { writer.member("stop", strings: request.stop) }
        if let penalty = request.presencePenalty { writer.member("presence_penalty", float: penalty) }
        if let penalty = request.frequencyPenalty { writer.member("frequency_penalty", float: penalty) }
        writer.endObject()
    }

    // MARK: Embeddings

    /// The body of `POST /api/embed`.
    package func embedBody(_ request: EmbedRequest, model: String) throws(GatewayError) -> [UInt8] {
        var writer = try request.beginBody(model: model, provider: provider)
        if let dimensions = request.dimensions { writer.member("dimensions", uint: UInt64(dimensions)) }
        if let keepAlive { writer.member("keep_alive", string: keepAlive) }
        writer.endObject()
        return writer.bytes
    }
}
