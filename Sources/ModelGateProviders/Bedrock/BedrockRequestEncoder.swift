import ModelGateCore
import ModelGateJSON

/// Translates unified requests into Bedrock Converse / ConverseStream bodies and Titan text
/// embedding (InvokeModel) bodies.
///
/// Converse shape (botocore `bedrock-runtime` service model):
/// `{"system":[{"text"}],"messages":[{"role":"user"|"assistant","content":[block…]}],
/// "inferenceConfig":{"maxTokens","temperature","topP","stopSequences"},
/// "toolConfig":{"tools":[{"toolSpec":{"name","description","inputSchema":{"json":{…}}}}],
/// "toolChoice":{"auto":{}}|{"any":{}}|{"tool":{"name"}}}}`, with content blocks `text`,
/// `image {format, source {bytes: base64}}`, `toolUse {toolUseId, name, input}` and
/// `toolResult {toolUseId, content [{text}], status}`.
///
/// Bedrock wants alternating user/assistant turns, so adjacent messages of the same role
/// (several tool results in a row, for one) are merged into one. System and developer
/// messages become `system` blocks wherever they appear. Everything the API cannot express
/// is an error naming the feature, never dropped.
package struct BedrockRequestEncoder: Sendable {
    package var provider: String

    package init(provider: String) {
        self.provider = provider
    }

    /// One Converse content block.
    private enum Block {
        case text(String)
        case image(format: String, bytes: [UInt8])
        case toolUse(id: String, name: String, input: JSONFragment)
        case toolResult(id: String, text: String, isError: Bool)
    }

    private struct Turn {
        var role: String
        var blocks: [Block]
    }

    // MARK: Converse

    /// The body of `POST /model/{id}/converse` and `/converse-stream` (they are the same).
    /// - Throws: ``GatewayError`` INVALID_ARGUMENT (UNSUPPORTED_FEATURE or INVALID_REQUEST).
    package func converseBody(_ request: ChatRequest) throws(GatewayError) -> [UInt8] {
        try checkSupported(request)
        var system: [String] = []
        var turns: [Turn] = []
        for (position, message) in request.messages.enumerated() {
            switch message.role {
            case .system, .developer:
                for part in message.parts {
                    guard case .text(let text) = part else {
                        throw GatewayError.invalidRequest("message \(position): system messages carry only text")
                    }
                    if !text.isEmpty { system.append(text) }
                }
            case .user, .assistant, .tool:
                let turn = try self.turn(message, position: position)
                guard !turn.blocks.isEmpty else { continue }
                if let last = turns.last, last.role == turn.role {
                    turns[turns.count - 1].blocks.append(contentsOf: turn.blocks)
                } else {
                    turns.append(turn)
                }
            case .unspecified:
                throw GatewayError.invalidRequest("message \(position) has no role")
            }
        }
        let tools = try request.tools.map { (tool) throws(GatewayError) in try toolSpec(tool) }

        var writer = JSONWriter(reservingCapacity: 512)
        writer.beginObject()
        if !system.isEmpty {
            writer.key("system")
            writer.beginArray()
            for text in system {
                writer.beginObject()
                writer.member("text", string: text)
                writer.endObject()
            }
            writer.endArray()
        }
        writer.key("messages")
        writer.beginArray()
        for turn in turns {
            writer.beginObject()
            writer.member("role", string: turn.role)
            writer.key("content")
            writer.beginArray()
            for block in turn.blocks { write(block, into: &writer) }
            writer.endArray()
            writer.endObject()
        }
        writer.endArray()
        if request.maxTokens != nil || request.temperature != nil || request.topP != nil || !request.stop.isEmpty {
            writer.key("inferenceConfig")
            writer.beginObject()
            if let maxTokens = request.maxTokens { writer.member("maxTokens", uint: UInt64(maxTokens)) }
            if let temperature = request.temperature { writer.member("temperature", float: temperature) }
            if let topP = request.topP { writer.member("topP", float: topP) }
            if !request.stop.isEmpty {
                writer.key("stopSequences")
                writer.beginArray()
                for sequence in request.stop { writer.string(sequence) }
                writer.endArray()
            }
            writer.endObject()
        }
        if !tools.isEmpty {
            writer.key("toolConfig")
            writer.beginObject()
            writer.key("tools")
            writer.beginArray()
            for (tool, schema) in zip(request.tools, tools) {
                writer.beginObject()
                writer.key("toolSpec")
                writer.beginObject()
                writer.member("name", string: tool.name)
                if !tool.description.isEmpty { writer.member("description", string: tool.description) }
                writer.key("inputSchema")
                writer.beginObject()
                writer.member("json", fragment: schema)
                writer.endObject()
                writer.endObject()
                writer.endObject()
            }
            writer.endArray()
            try writeToolChoice(request.toolChoice, into: &writer)
            writer.endObject()
        } else if request.toolChoice != .providerDefault, request.toolChoice != .none {
            throw GatewayError.invalidRequest("tool_choice needs at least one tool")
        }
        writer.endObject()
        return writer.bytes
    }

    /// Fields of the unified request that Converse has no place for.
    private func checkSupported(_ request: ChatRequest) throws(GatewayError) {
        if request.topK != nil { throw GatewayError.unsupported("top_k", provider: provider) }
        if request.seed != nil { throw GatewayError.unsupported("seed", provider: provider) }
        if request.presencePenalty != nil { throw GatewayError.unsupported("presence_penalty", provider: provider) }
        if request.frequencyPenalty != nil { throw GatewayError.unsupported("frequency_penalty", provider: provider) }
        if request.parallelToolCalls == false {
            throw GatewayError.unsupported("parallel_tool_calls = false", provider: provider)
        }
        if !request.user.isEmpty { throw GatewayError.unsupported("user", provider: provider) }
        switch request.responseFormat {
        case .text: break
        case .jsonObject: throw GatewayError.unsupported("response_format json_object", provider: provider)
        case .jsonSchema: throw GatewayError.unsupported("response_format json_schema", provider: provider)
        }
        if request.toolChoice == .none, !request.tools.isEmpty {
            throw GatewayError.unsupported("tool_choice \"none\" with tools", provider: provider)
        }
    }

    private func turn(_ message: ChatMessage, position: Int) throws(GatewayError) -> Turn {
        let role = message.role == .assistant ? "assistant" : "user"
        var blocks: [Block] = []
        for part in message.parts {
            switch part {
            case .text(let text):
                // Bedrock rejects blank text blocks; an empty part carries nothing anyway.
                if message.role == .tool {
                    continue  // the message's text is the tool result below
                }
                if !text.isEmpty { blocks.append(.text(text)) }
            case .imageData(let bytes, let mimeType):
                guard message.role == .user else {
                    throw GatewayError.unsupported("images in \(role) messages", provider: provider)
                }
                blocks.append(.image(format: try imageFormat(mimeType), bytes: bytes))
            case .imageURL(let url, _):
                guard message.role == .user else {
                    throw GatewayError.unsupported("images in \(role) messages", provider: provider)
                }
                let (mimeType, bytes) = try dataURL(url)
                blocks.append(.image(format: try imageFormat(mimeType), bytes: bytes))
            case .toolCall(let call):
                guard message.role == .assistant else {
                    throw GatewayError.invalidRequest("message \(position): tool calls belong in assistant messages")
                }
                blocks.append(.toolUse(id: call.id, name: call.name, input: try toolInput(call, position: position)))
            case .toolResult(let result):
                guard message.role == .user || message.role == .tool else {
                    throw GatewayError.invalidRequest("message \(position): tool results belong in user or tool messages")
                }
                blocks.append(.toolResult(id: result.toolCallID, text: result.content, isError: result.isError))
            }
        }
        if message.role == .tool, !message.toolCallID.isEmpty {
            blocks.append(.toolResult(id: message.toolCallID, text: message.text, isError: false))
        } else if message.role == .tool, blocks.isEmpty {
            throw GatewayError.invalidRequest("message \(position): tool message without a tool call id")
        }
        return Turn(role: role, blocks: blocks)
    }

    private func write(_ block: Block, into writer: inout JSONWriter) {
        writer.beginObject()
        switch block {
        case .text(let text):
            writer.member("text", string: text)
        case .image(let format, let bytes):
            writer.key("image")
            writer.beginObject()
            writer.member("format", string: format)
            writer.key("source")
            writer.beginObject()
            writer.member("bytes", string: Base64.encode(bytes))
            writer.endObject()
            writer.endObject()
        case .toolUse(let id, let name, let input):
            writer.key("toolUse")
            writer.beginObject()
            writer.member("toolUseId", string: id)
            writer.member("name", string: name)
            writer.member("input", fragment: input)
            writer.endObject()
        case .toolResult(let id, let text, let isError):
            writer.key("toolResult")
            writer.beginObject()
            writer.member("toolUseId", string: id)
            writer.key("content")
            writer.beginArray()
            writer.beginObject()
            writer.member("text", string: text)
            writer.endObject()
            writer.endArray()
            writer.member("status", string: isError ? "error" : "success")
            writer.endObject()
        }
        writer.endObject()
    }

    /// Converse's image formats.
    private func imageFormat(_ mimeType: String) throws(GatewayError) -> String {
        switch mimeType.lowercased() {
        case "image/png": return "png"
        case "image/jpeg", "image/jpg": return "jpeg"
        case "image/gif": return "gif"
        case "image/webp": return "webp"
        default: throw GatewayError.unsupported("images of type \"\(mimeType)\"", provider: provider)
        }
    }

    /// The media type and bytes of a `data:<type>;base64,<data>` URL. Converse only takes
    /// inline bytes, so any other URL is unsupported.
    private func dataURL(_ url: String) throws(GatewayError) -> (String, [UInt8]) {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else {
            throw GatewayError.unsupported("image URLs (only inline image data)", provider: provider)
        }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
        guard header.hasSuffix(";base64"), let bytes = Base64.decode(url[url.index(after: comma)...]) else {
            throw GatewayError.invalidRequest("an image data URL must be base64-encoded")
        }
        return (String(header.dropLast(";base64".count)), bytes)
    }

    private func toolInput(_ call: ToolCall, position: Int) throws(GatewayError) -> JSONFragment {
        let text = call.argumentsJSON.isEmpty ? "{}" : call.argumentsJSON
        guard let fragment = try? JSONFragment(validating: text), fragment.kind == .object else {
            throw GatewayError.invalidRequest(
                "message \(position): arguments of tool call \"\(call.name)\" are not a JSON object")
        }
        return fragment
    }

    /// The tool's input schema; Bedrock requires one, so a tool without parameters gets the
    /// empty object schema.
    private func toolSpec(_ tool: ToolDefinition) throws(GatewayError) -> JSONFragment {
        guard !tool.name.isEmpty else { throw GatewayError.invalidRequest("a tool has no name") }
        if tool.strict { throw GatewayError.unsupported("strict tool schemas", provider: provider) }
        let text = tool.parametersJSON.isEmpty ? #"{"type":"object","properties":{}}"# : tool.parametersJSON
        guard let fragment = try? JSONFragment(validating: text), fragment.kind == .object else {
            throw GatewayError.invalidRequest("parameters of tool \"\(tool.name)\" are not a JSON object")
        }
        return fragment
    }

    private func writeToolChoice(_ choice: ToolChoice, into writer: inout JSONWriter) throws(GatewayError) {
        let name: String
        switch choice {
        case .providerDefault, .none:
            return
        case .auto:
            name = "auto"
        case .required:
            name = "any"
        case .function(let function):
            guard !function.isEmpty else { throw GatewayError.invalidRequest("tool choice names no function") }
            writer.key("toolChoice")
            writer.beginObject()
            writer.key("tool")
            writer.beginObject()
            writer.member("name", string: function)
            writer.endObject()
            writer.endObject()
            return
        }
        writer.key("toolChoice")
        writer.beginObject()
        writer.key(name)
        writer.beginObject()
        writer.endObject()
        writer.endObject()
    }

    // MARK: Titan embeddings

    /// Checks an embeddings request before any call is made.
    package func checkEmbeddingRequest(_ request: EmbedRequest) throws(GatewayError) {
        guard !request.inputs.isEmpty else { throw GatewayError.invalidRequest("embeddings need at least one input") }
        guard request.inputType.isEmpty else { throw GatewayError.unsupported("input_type", provider: provider) }
        guard request.user.isEmpty else { throw GatewayError.unsupported("user", provider: provider) }
    }

    /// The body of `POST /model/amazon.titan-embed-text-v2:0/invoke` for one input.
    package func titanEmbeddingBody(input: String, dimensions: UInt32?) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 32 + input.utf8.count)
        writer.beginObject()
        writer.member("inputText", string: input)
        if let dimensions { writer.member("dimensions", uint: UInt64(dimensions)) }
        writer.endObject()
        return writer.bytes
    }
}
