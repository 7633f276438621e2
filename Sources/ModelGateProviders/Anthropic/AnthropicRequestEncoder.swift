import ModelGateCore
import ModelGateJSON

/// Translates unified chat requests into Anthropic Messages bodies (docs/providers.md,
/// "Anthropic Messages").
///
/// Shape: `{"model", "max_tokens", "system"?, "messages": [{"role": "user"|"assistant",
/// "content": "text" | [block…]}], "tools"?, "tool_choice"?, "temperature"?, "top_p"?,
/// "top_k"?, "stop_sequences"?, "metadata"?: {"user_id"}, "stream"?}` with blocks `text`,
/// `image` (`source` `base64` or `url`), `tool_use` and `tool_result`.
///
/// - System and developer messages become the top-level `system`. Tool messages and tool
///   results are `tool_result` blocks of a user turn. Adjacent turns of one role are merged
///   (Anthropic wants them to alternate), and in a user turn the tool results come first, as
///   Anthropic requires.
/// - `max_tokens` is required by Anthropic: the request's, else the configured default.
/// - A JSON response format is asked for with a forced tool (``jsonResponseToolName``) whose
///   input schema is the requested schema; the decoders turn that tool's input back into text.
/// - Optional fields are written only when set. What Anthropic cannot express (seed,
///   penalties, message names) fails with INVALID_ARGUMENT / UNSUPPORTED_FEATURE before
///   anything is sent; caller JSON is validated before it is spliced in.
package struct AnthropicRequestEncoder: Sendable {
    package var provider: String
    package var defaultMaxTokens: UInt32

    /// The tool a JSON response format is forced through. Anthropic has no JSON mode; a tool
    /// the model must call, whose input schema is the response schema, is its documented way
    /// to get JSON that follows a schema.
    package static let jsonResponseToolName = "json_response"

    /// The media types Anthropic accepts for images.
    private static let imageMediaTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp"]

    package init(configuration: AnthropicProviderConfiguration) {
        self.provider = configuration.name
        self.defaultMaxTokens = configuration.defaultMaxTokens
    }

    /// The name of the forced tool whose input is the answer, when `request` asks for JSON;
    /// the decoders need it to read that input as text.
    package static func jsonResponseTool(for request: ChatRequest) -> String? {
        request.responseFormat == .text ? nil : jsonResponseToolName
    }

    // MARK: Blocks and turns

    private enum ImageSource {
        case base64(mediaType: String, data: String)
        case url(String)
    }

    private enum Block {
        case text(String)
        case image(ImageSource)
        case toolUse(id: String, name: String, input: JSONFragment)
        case toolResult(id: String, content: String, isError: Bool)

        var isToolResult: Bool {
            if case .toolResult = self { return true }
            return false
        }
    }

    private struct Turn {
        var role: Role
        var blocks: [Block]
    }

    // MARK: Chat

    /// The body of `POST /v1/messages`.
    /// - Parameters:
    ///   - model: the upstream model id.
    ///   - stream: ask for server-sent events.
    /// - Throws: ``GatewayError`` INVALID_ARGUMENT (UNSUPPORTED_FEATURE or INVALID_REQUEST).
    package func chatBody(_ request: ChatRequest, model: String, stream: Bool) throws(GatewayError) -> [UInt8] {
        try checkSupported(request)
        var system: [String] = []
        var turns: [Turn] = []
        for (position, message) in request.messages.enumerated() {
            guard let turn = try translate(message, position: position, system: &system), !turn.blocks.isEmpty else {
                continue  // a system message, or one with nothing in it
            }
            if let last = turns.indices.last, turns[last].role == turn.role {
                turns[last].blocks += turn.blocks
            } else {
                turns.append(turn)
            }
        }
        guard !turns.isEmpty else {
            throw GatewayError.invalidRequest("Anthropic needs at least one user or assistant message")
        }

        var writer = JSONWriter(reservingCapacity: 512)
        writer.beginObject()
        writer.member("model", string: model)
        writer.member("max_tokens", uint: UInt64(request.maxTokens ?? defaultMaxTokens))
        writeSystem(system, into: &writer)
        writer.key("messages")
        writer.beginArray()
        for turn in turns { write(turn, into: &writer) }
        writer.endArray()
        try writeTools(request, into: &writer)
        if let temperature = request.temperature { writer.member("temperature", float: temperature) }
        if let topP = request.topP { writer.member("top_p", float: topP) }
        if let topK = request.topK { writer.member("top_k", uint: UInt64(topK)) }
        if !request.stop.isEmpty { writer.member("stop_sequences", strings: request.stop) }
        if !request.user.isEmpty {
            writer.key("metadata")
            writer.object { $0.member("user_id", string: request.user) }
        }
        if stream { writer.member("stream", bool: true) }
        writer.endObject()
        return writer.bytes
    }

    /// Fields of the unified request that the Messages API has no place for.
    private func checkSupported(_ request: ChatRequest) throws(GatewayError) {
        if request.seed != nil { throw GatewayError.unsupported("seed", provider: provider) }
        if request.presencePenalty != nil { throw GatewayError.unsupported("presence_penalty", provider: provider) }
        if request.frequencyPenalty != nil { throw GatewayError.unsupported("frequency_penalty", provider: provider) }
        if request.responseFormat != .text, !request.tools.isEmpty {
            // The answer is forced through a tool, which would keep the model from the caller's.
            throw GatewayError.unsupported("a JSON response format together with tools", provider: provider)
        }
    }

    /// One unified message as a turn, or nil for system messages (collected in `system`).
    private func translate(_ message: ChatMessage, position: Int, system: inout [String]) throws(GatewayError) -> Turn? {
        if let texts = try message.systemTexts(position: position, provider: provider) {
            system += texts.filter { !$0.isEmpty }  // Anthropic rejects empty text blocks
            return nil
        }
        var blocks: [Block] = []
        for part in message.parts {
            switch part {
            case .text(let text):
                // A tool message's text is its result (below); Anthropic rejects empty text blocks.
                if message.role != .tool, !text.isEmpty { blocks.append(.text(text)) }
            case .imageData(let bytes, let mediaType):
                try checkImagePlacement(message.role)
                guard !mediaType.isEmpty else {
                    throw GatewayError.invalidRequest("message \(position): inline image needs a media type such as image/png")
                }
                blocks.append(.image(.base64(mediaType: try imageMediaType(mediaType), data: Base64.encode(bytes))))
            case .imageURL(let url, _):
                // `detail` is a resolution hint; Anthropic has no per-image equivalent.
                try checkImagePlacement(message.role)
                blocks.append(.image(try imageSource(url: url, position: position)))
            case .toolCall(let call):
                let input = try call.argumentsObject(role: message.role, position: position)
                guard !call.id.isEmpty else {
                    throw GatewayError.invalidRequest(
                        "message \(position): tool call \"\(call.name)\" has no id; Anthropic matches results to calls by id")
                }
                blocks.append(.toolUse(id: call.id, name: call.name, input: input))
            case .toolResult(let result):
                guard message.role != .assistant else {
                    throw GatewayError.invalidRequest("message \(position): tool results belong in user or tool messages")
                }
                blocks.append(.toolResult(id: result.toolCallID, content: result.content, isError: result.isError))
            }
        }
        if message.role == .tool {
            // OpenAI style: the message's text is the result of the call it names.
            if !message.toolCallID.isEmpty {
                blocks.append(.toolResult(id: message.toolCallID, content: message.text, isError: false))
            } else if blocks.isEmpty || !message.text.isEmpty {
                throw GatewayError.invalidRequest("message \(position): tool message without a tool call id")
            }
        }
        return Turn(role: message.role == .assistant ? .assistant : .user, blocks: blocks)
    }

    private func checkImagePlacement(_ role: Role) throws(GatewayError) {
        guard role == .user else {
            throw GatewayError.unsupported("images in \(role == .assistant ? "assistant" : "tool") messages", provider: provider)
        }
    }

    private func imageMediaType(_ mediaType: String) throws(GatewayError) -> String {
        let lowered = mediaType.lowercased()
        guard Self.imageMediaTypes.contains(lowered) else {
            throw GatewayError.unsupported("images of type \"\(mediaType)\"", provider: provider)
        }
        return lowered
    }

    /// A `data:` URL becomes a base64 source, an `http(s)` URL a `url` source Anthropic fetches.
    private func imageSource(url: String, position: Int) throws(GatewayError) -> ImageSource {
        if let (mediaType, data) = try DataURL.base64Parts(of: url, position: position) {
            return .base64(mediaType: try imageMediaType(mediaType), data: data)
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw GatewayError.unsupported("image URLs other than http(s) and data:", provider: provider)
        }
        return .url(url)
    }

    // MARK: Writing

    /// One system text is sent as a string; several as text blocks, in order, so no
    /// separator has to be invented.
    private func writeSystem(_ system: [String], into writer: inout JSONWriter) {
        guard let first = system.first else { return }
        if system.count == 1 {
            writer.member("system", string: first)
            return
        }
        writer.key("system")
        writer.beginArray()
        for text in system { write(.text(text), into: &writer) }
        writer.endArray()
    }

    private func write(_ turn: Turn, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("role", string: turn.role == .assistant ? "assistant" : "user")
        if turn.blocks.count == 1, case .text(let text) = turn.blocks[0] {
            writer.member("content", string: text)
        } else {
            writer.key("content")
            writer.beginArray()
            // Anthropic requires a user turn's tool results before anything else in it.
            for block in turn.blocks where block.isToolResult { write(block, into: &writer) }
            for block in turn.blocks where !block.isToolResult { write(block, into: &writer) }
            writer.endArray()
        }
        writer.endObject()
    }

    private func write(_ block: Block, into writer: inout JSONWriter) {
        writer.beginObject()
        switch block {
        case .text(let text):
            writer.member("type", string: "text")
            writer.member("text", string: text)
        case .image(let source):
            writer.member("type", string: "image")
            writer.key("source")
            writer.beginObject()
            switch source {
            case .base64(let mediaType, let data):
                writer.member("type", string: "base64")
                writer.member("media_type", string: mediaType)
                writer.member("data", string: data)
            case .url(let url):
                writer.member("type", string: "url")
                writer.member("url", string: url)
            }
            writer.endObject()
        case .toolUse(let id, let name, let input):
            writer.member("type", string: "tool_use")
            writer.member("id", string: id)
            writer.member("name", string: name)
            writer.member("input", fragment: input)
        case .toolResult(let id, let content, let isError):
            writer.member("type", string: "tool_result")
            writer.member("tool_use_id", string: id)
            // `content` is optional; an empty text block would be rejected.
            if !content.isEmpty { writer.member("content", string: content) }
            if isError { writer.member("is_error", bool: true) }
        }
        writer.endObject()
    }

    // MARK: Tools

    /// The input schema of a tool without parameters: Anthropic requires one.
    private static let emptyObjectSchema = try! JSONFragment(validating: #"{"type":"object","properties":{}}"#)
    /// The forced tool's schema for `json_object`: any object.
    private static let anyObjectSchema = try! JSONFragment(validating: #"{"type":"object"}"#)

    private func writeTools(_ request: ChatRequest, into writer: inout JSONWriter) throws(GatewayError) {
        if let forced = Self.jsonResponseTool(for: request) {
            try writeJSONResponseTool(forced, format: request.responseFormat, into: &writer)
            return
        }
        if !request.tools.isEmpty {
            writer.key("tools")
            writer.beginArray()
            for tool in request.tools {
                // `strict` asks for enforcement "where supported"; Anthropic's is a beta.
                try tool.writeDeclaration(into: &writer, schemaKey: "input_schema", emptySchema: Self.emptyObjectSchema)
            }
            writer.endArray()
        }
        let choice: (type: String, name: String?)
        switch request.toolChoice {
        case .providerDefault, .auto: choice = ("auto", nil)
        case .none: choice = ("none", nil)
        case .required: choice = ("any", nil)
        case .function(let name):
            guard !name.isEmpty else { throw GatewayError.invalidRequest("tool choice names no function") }
            choice = ("tool", name)
        }
        guard !request.tools.isEmpty else {
            if choice.type == "any" || choice.type == "tool" {
                throw GatewayError.invalidRequest("tool_choice needs at least one tool")
            }
            return  // auto or none without tools: nothing to say
        }
        // `parallel_tool_calls: false` is `disable_parallel_tool_use`; a "none" choice calls nothing anyway.
        let singleCall = request.parallelToolCalls == false && choice.type != "none"
        guard request.toolChoice != .providerDefault || singleCall else { return }
        writer.key("tool_choice")
        writer.beginObject()
        writer.member("type", string: choice.type)
        if let name = choice.name { writer.member("name", string: name) }
        if singleCall { writer.member("disable_parallel_tool_use", bool: true) }
        writer.endObject()
    }

    /// The forced tool of a JSON response format: its input schema is the response schema
    /// (any object for `json_object`), and `tool_choice` names it.
    private func writeJSONResponseTool(_ name: String, format: ResponseFormat, into writer: inout JSONWriter)
        throws(GatewayError)
    {
        let schema: JSONFragment
        var description = "Reply with a JSON object that matches the input schema."
        switch format {
        case .text:
            return
        case .jsonObject:
            schema = Self.anyObjectSchema
        case .jsonSchema(let schemaName, let schemaJSON, _):
            // `strict` is what a forced tool does anyway, as far as Anthropic goes.
            guard !schemaJSON.isEmpty else { throw GatewayError.invalidRequest("response format json_schema has no schema") }
            schema = try JSONFragment.object(validating: schemaJSON, what: "response format schema")
            if !schemaName.isEmpty { description = "Reply with \(schemaName): a JSON object that matches the input schema." }
        }
        writer.key("tools")
        writer.beginArray()
        writer.object { tool in
            tool.member("name", string: name)
            tool.member("description", string: description)
            tool.member("input_schema", fragment: schema)
        }
        writer.endArray()
        writer.key("tool_choice")
        writer.object { choice in
            choice.member("type", string: "tool")
            choice.member("name", string: name)
        }
    }
}
