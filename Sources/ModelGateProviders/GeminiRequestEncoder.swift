import ModelGateCore
import ModelGateJSON

/// Translates unified requests into Gemini `generateContent`, `embedContent` and
/// `batchEmbedContents` request bodies (docs/providers.md, "Google Gemini").
///
/// - System and developer messages become `systemInstruction` (one text part each, in
///   order); user messages role `user`, assistant messages role `model`; tool results are
///   `functionResponse` parts of a `user` turn. Consecutive turns of one role are merged,
///   since Gemini expects the roles to alternate.
/// - Optional fields are written only when set. A request Gemini cannot express fails with
///   INVALID_ARGUMENT before anything is sent; caller JSON (schemas, arguments) is validated
///   before it is spliced in.
package struct GeminiRequestEncoder: Sendable {
    package var provider: String
    package var includeThoughts: Bool

    /// The prefix of tool-call ids the gateway makes up when Gemini sends none; such ids are
    /// not sent back to Gemini.
    package static let synthesizedCallIDPrefix = "gemini_call_"
    /// What replayed function calls carry as `thoughtSignature`: the unified API has no field
    /// for Gemini's real signatures, and Google documents this value for calls whose signature
    /// is not available (Gemini 3 rejects a model turn's first function call without one).
    package static let thoughtSignaturePlaceholder = "skip_thought_signature_validator"

    package init(configuration: GeminiProviderConfiguration) {
        self.provider = configuration.name
        self.includeThoughts = configuration.includeThoughts
    }

    // MARK: Model names

    /// The model's resource name as request bodies spell it: `models/NAME`, or the name as
    /// given when it already names a collection (`models/…`, `tunedModels/…`).
    package static func resourceName(_ model: String) -> String {
        model.hasPrefix("models/") || model.hasPrefix("tunedModels/") ? model : "models/" + model
    }

    /// ``resourceName(_:)`` for a URL path: everything after the collection is %-encoded
    /// except unreserved characters, so no model id can add path segments or a query.
    package static func resourcePath(_ model: String) -> String {
        let name = resourceName(model)
        guard let slash = name.utf8.firstIndex(of: UInt8(ascii: "/")) else { return percentEncoded(name) }
        let collection = String(name[..<slash])
        return collection + "/" + percentEncoded(String(name[name.index(after: slash)...]))
    }

    private static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Chat

    /// One part of a Gemini turn.
    private enum Part {
        case text(String)
        case inlineData(mimeType: String, base64: String)
        case fileData(mimeType: String?, uri: String)
        case functionCall(id: String, name: String, arguments: JSONFragment)
        case functionResponse(id: String, name: String, result: ToolResult)
    }

    private struct Turn {
        var role: String
        var parts: [Part]
    }

    /// The body of `POST …/models/{model}:generateContent` (and `:streamGenerateContent`,
    /// which takes the same body).
    /// - Throws: ``GatewayError`` INVALID_ARGUMENT for requests Gemini cannot express.
    package func chatBody(_ request: ChatRequest) throws(GatewayError) -> [UInt8] {
        if request.parallelToolCalls == false {
            throw GatewayError.unsupported("parallel_tool_calls=false", provider: provider)
        }
        var system: [String] = []
        var turns: [Turn] = []
        // The function each call id names so far: Gemini's function responses need the
        // name, the unified tool result only has the id.
        var callNames: [String: String] = [:]
        for (position, message) in request.messages.enumerated() {
            let turn = try translate(message, position: position, system: &system, callNames: &callNames)
            guard let turn else { continue }
            if let last = turns.indices.last, turns[last].role == turn.role {
                turns[last].parts += turn.parts
            } else {
                turns.append(turn)
            }
        }
        guard !turns.isEmpty else { throw GatewayError.invalidRequest("Gemini needs at least one user or assistant message") }

        var writer = JSONWriter(reservingCapacity: 512)
        writer.beginObject()
        writer.key("contents")
        writer.beginArray()
        for turn in turns { write(turn, into: &writer) }
        writer.endArray()
        if !system.isEmpty {
            writer.key("systemInstruction")
            writer.beginObject()
            writer.key("parts")
            writer.beginArray()
            for text in system { writeTextPart(text, into: &writer) }
            writer.endArray()
            writer.endObject()
        }
        try writeTools(request, into: &writer)
        try writeGenerationConfig(request, into: &writer)
        writer.endObject()
        return writer.bytes
    }

    /// One unified message as a Gemini turn, or nil for system messages (collected in
    /// `system`).
    private func translate(
        _ message: ChatMessage, position: Int, system: inout [String], callNames: inout [String: String]
    ) throws(GatewayError) -> Turn? {
        if let texts = try message.systemTexts(position: position, provider: provider) {
            system += texts
            return nil
        }
        var parts: [Part] = []
        // OpenAI style: a tool message's text is the result of the call it names.
        var toolText: String?
        for part in message.parts {
            switch part {
            case .text(let text):
                if message.role == .tool {
                    toolText = (toolText ?? "") + text
                } else {
                    parts.append(.text(text))
                }
            case .imageData(let bytes, let mimeType):
                guard message.role == .user else {
                    throw GatewayError.unsupported("images in non-user messages", provider: provider)
                }
                guard !mimeType.isEmpty else {
                    throw GatewayError.invalidRequest("message \(position): inline image needs a media type such as image/png")
                }
                parts.append(.inlineData(mimeType: mimeType, base64: Base64.encode(bytes)))
            case .imageURL(let url, _):
                // `detail` is a resolution hint; Gemini has no per-image equivalent.
                guard message.role == .user else {
                    throw GatewayError.unsupported("images in non-user messages", provider: provider)
                }
                parts.append(try imagePart(url: url, position: position))
            case .toolCall(let call):
                let arguments = try call.argumentsObject(role: message.role, position: position)
                if !call.id.isEmpty { callNames[call.id] = call.name }
                parts.append(.functionCall(id: call.id, name: call.name, arguments: arguments))
            case .toolResult(let result):
                guard message.role == .user || message.role == .tool else {
                    throw GatewayError.invalidRequest("message \(position): tool results belong in user or tool messages")
                }
                parts.append(try functionResponse(result, fallbackName: message.name, position: position, callNames))
            }
        }
        if message.role == .tool, toolText != nil || parts.isEmpty {
            let result = ToolResult(toolCallID: message.toolCallID, content: toolText ?? "")
            parts.append(try functionResponse(result, fallbackName: message.name, position: position, callNames))
        }
        guard !parts.isEmpty else { throw GatewayError.invalidRequest("message \(position) has no content") }
        return Turn(role: message.role == .assistant ? "model" : "user", parts: parts)
    }

    private func functionResponse(
        _ result: ToolResult, fallbackName: String, position: Int, _ callNames: [String: String]
    ) throws(GatewayError) -> Part {
        guard let name = callNames[result.toolCallID] ?? (fallbackName.isEmpty ? nil : fallbackName) else {
            throw GatewayError.invalidRequest(
                "message \(position): tool result \"\(result.toolCallID)\" answers no earlier tool call; Gemini needs the function's name"
            )
        }
        return .functionResponse(id: result.toolCallID, name: name, result: result)
    }

    /// A `data:` URL becomes inline data; any other URL a `fileData` reference (Files API
    /// URIs, `gs://`, public URLs), with the media type guessed from the extension.
    private func imagePart(url: String, position: Int) throws(GatewayError) -> Part {
        guard let (mimeType, base64) = try DataURL.base64Parts(of: url, position: position) else {
            return .fileData(mimeType: Self.imageMediaType(forPath: url), uri: url)
        }
        return .inlineData(mimeType: mimeType, base64: base64)
    }

    /// The image media type for a URL's file extension; nil when it is not a known one.
    static func imageMediaType(forPath url: String) -> String? {
        var path = Substring(url)
        if let end = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<end] }
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "heic": return "image/heic"
        case "heif": return "image/heif"
        default: return nil
        }
    }

    private func write(_ turn: Turn, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("role", string: turn.role)
        writer.key("parts")
        writer.beginArray()
        var signed = false
        for part in turn.parts {
            switch part {
            case .text(let text):
                writeTextPart(text, into: &writer)
            case .inlineData(let mimeType, let base64):
                writePart("inlineData", into: &writer) { data in
                    data.member("mimeType", string: mimeType)
                    data.member("data", string: base64)
                }
            case .fileData(let mimeType, let uri):
                writePart("fileData", into: &writer) { file in
                    if let mimeType { file.member("mimeType", string: mimeType) }
                    file.member("fileUri", string: uri)
                }
            case .functionCall(let id, let name, let arguments):
                // Gemini validates the signature of a turn's first function call only.
                writePart("functionCall", signed: !signed, into: &writer) { call in
                    if Self.isProviderCallID(id) { call.member("id", string: id) }
                    call.member("name", string: name)
                    call.member("args", fragment: arguments)
                }
                signed = true
            case .functionResponse(let id, let name, let result):
                writePart("functionResponse", into: &writer) { response in
                    if Self.isProviderCallID(id) { response.member("id", string: id) }
                    response.member("name", string: name)
                    response.key("response")
                    writeFunctionResult(result, into: &response)
                }
            }
        }
        writer.endArray()
        writer.endObject()
    }

    /// A part whose one member, `key`, is the object `body` writes; `signed` adds the
    /// thought signature placeholder beside it.
    private func writePart(
        _ key: String, signed: Bool = false, into writer: inout JSONWriter, _ body: (inout JSONWriter) -> Void
    ) {
        writer.object { part in
            part.key(key)
            part.object(body)
            if signed { part.member("thoughtSignature", string: Self.thoughtSignaturePlaceholder) }
        }
    }

    /// Ids Gemini gave are echoed back; the gateway's own (and missing ones) are not.
    private static func isProviderCallID(_ id: String) -> Bool {
        !id.isEmpty && !id.hasPrefix(synthesizedCallIDPrefix)
    }

    private func writeTextPart(_ text: String, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("text", string: text)
        writer.endObject()
    }

    /// Google's convention: `{"output": …}` for a result, `{"error": …}` for a failure; a
    /// result that is itself a JSON object is sent as the response object unchanged.
    private func writeFunctionResult(_ result: ToolResult, into writer: inout JSONWriter) {
        if !result.isError, let object = try? JSONFragment(validating: result.content), object.kind == .object {
            writer.fragment(object)
            return
        }
        writer.beginObject()
        writer.member(result.isError ? "error" : "output", string: result.content)
        writer.endObject()
    }

    // MARK: Tools and generation

    private func writeTools(_ request: ChatRequest, into writer: inout JSONWriter) throws(GatewayError) {
        if !request.tools.isEmpty {
            writer.key("tools")
            writer.beginArray()
            writer.beginObject()
            writer.key("functionDeclarations")
            writer.beginArray()
            for tool in request.tools {
                // `strict` asks for enforcement "where supported"; Gemini has no such switch.
                try tool.writeDeclaration(into: &writer)
            }
            writer.endArray()
            writer.endObject()
            writer.endArray()
        }
        let mode: String
        var allowed: String?
        switch request.toolChoice {
        case .providerDefault: return
        case .auto: mode = "AUTO"
        case .none: mode = "NONE"
        case .required: mode = "ANY"
        case .function(let name):
            guard !name.isEmpty else { throw GatewayError.invalidRequest("tool choice names no function") }
            mode = "ANY"
            allowed = name
        }
        writer.key("toolConfig")
        writer.beginObject()
        writer.key("functionCallingConfig")
        writer.beginObject()
        writer.member("mode", string: mode)
        if let allowed { writer.member("allowedFunctionNames", strings: [allowed]) }
        writer.endObject()
        writer.endObject()
    }

    private func writeGenerationConfig(_ request: ChatRequest, into writer: inout JSONWriter) throws(GatewayError) {
        var seed: Int32?
        if let requested = request.seed {
            guard let narrow = Int32(exactly: requested) else {
                throw GatewayError.invalidRequest("Gemini takes a 32-bit seed; \(requested) is out of range")
            }
            seed = narrow
        }
        var schema: JSONFragment?
        if case .jsonSchema(_, let schemaJSON, _) = request.responseFormat {
            // The name is only a label and `strict` is what Gemini does anyway.
            guard !schemaJSON.isEmpty else { throw GatewayError.invalidRequest("response format json_schema has no schema") }
            schema = try JSONFragment.object(validating: schemaJSON, what: "response format schema")
        }
        let json = request.responseFormat != .text
        guard !request.stop.isEmpty || request.temperature != nil || request.topP != nil || request.topK != nil
            || request.maxTokens != nil || seed != nil || request.presencePenalty != nil
            || request.frequencyPenalty != nil || json || includeThoughts
        else { return }

        writer.key("generationConfig")
        writer.beginObject()
        if !request.stop.isEmpty { writer.member("stopSequences", strings: request.stop) }
        if let temperature = request.temperature { writer.member("temperature", float: temperature) }
        if let topP = request.topP { writer.member("topP", float: topP) }
        if let topK = request.topK { writer.member("topK", uint: UInt64(topK)) }
        if let maxTokens = request.maxTokens { writer.member("maxOutputTokens", uint: UInt64(maxTokens)) }
        if let seed { writer.member("seed", int: Int64(seed)) }
        if let penalty = request.presencePenalty { writer.member("presencePenalty", float: penalty) }
        if let penalty = request.frequencyPenalty { writer.member("frequencyPenalty", float: penalty) }
        if json { writer.member("responseMimeType", string: "application/json") }
        if let schema { writer.member("responseSchema", fragment: schema) }
        if includeThoughts {
            writer.key("thinkingConfig")
            writer.beginObject()
            writer.member("includeThoughts", bool: true)
            writer.endObject()
        }
        writer.endObject()
    }


    // MARK: Embeddings

    /// Gemini's task types by the unified `input_type` (their own names are accepted too).
    private static let taskTypes: [String: String] = [
        "query": "RETRIEVAL_QUERY", "search_query": "RETRIEVAL_QUERY",
        "document": "RETRIEVAL_DOCUMENT", "search_document": "RETRIEVAL_DOCUMENT",
        "classification": "CLASSIFICATION", "clustering": "CLUSTERING",
        "similarity": "SEMANTIC_SIMILARITY", "semantic_similarity": "SEMANTIC_SIMILARITY",
        "question_answering": "QUESTION_ANSWERING", "fact_verification": "FACT_VERIFICATION",
        "code_retrieval_query": "CODE_RETRIEVAL_QUERY",
    ]

    /// The body of `:embedContent` for one input, of `:batchEmbedContents` for several.
    /// - Parameter model: the upstream model id.
    package func embedBody(_ request: EmbedRequest, model: String) throws(GatewayError) -> [UInt8] {
        guard !request.inputs.isEmpty else { throw GatewayError.invalidRequest("embeddings need at least one input") }
        var taskType: String?
        if !request.inputType.isEmpty {
            let known = Set(Self.taskTypes.values)
            guard let mapped = Self.taskTypes[request.inputType.lowercased()]
                ?? (known.contains(request.inputType) ? request.inputType : nil)
            else {
                throw GatewayError.invalidRequest(
                    "input_type \"\(request.inputType)\" is not a Gemini task type (use query, document, classification, clustering, similarity, question_answering, fact_verification or code_retrieval_query)"
                )
            }
            taskType = mapped
        }
        let resource = Self.resourceName(model)
        var writer = JSONWriter(reservingCapacity: 128 + request.inputs.reduce(0) { $0 + $1.utf8.count + 64 })
        func writeRequest(_ input: String, into writer: inout JSONWriter) {
            writer.beginObject()
            writer.member("model", string: resource)
            writer.key("content")
            writer.beginObject()
            writer.key("parts")
            writer.beginArray()
            writeTextPart(input, into: &writer)
            writer.endArray()
            writer.endObject()
            if let taskType { writer.member("taskType", string: taskType) }
            if let dimensions = request.dimensions { writer.member("outputDimensionality", uint: UInt64(dimensions)) }
            writer.endObject()
        }
        if request.inputs.count == 1 {
            writeRequest(request.inputs[0], into: &writer)
        } else {
            writer.beginObject()
            writer.key("requests")
            writer.beginArray()
            for input in request.inputs { writeRequest(input, into: &writer) }
            writer.endArray()
            writer.endObject()
        }
        return writer.bytes
    }
}
