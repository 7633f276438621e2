import ModelGateCore
import ModelGateJSON

extension JSONFragment {
    /// Caller-supplied JSON (a tool's parameter schema, a response schema, a tool call's
    /// arguments) that must be one JSON object before it is spliced into a request body.
    /// - Parameter what: names the value in the error message.
    /// - Throws: INVALID_ARGUMENT when `text` is not valid JSON or not an object.
    static func object(validating text: String, what: String) throws(GatewayError) -> JSONFragment {
        let fragment: JSONFragment
        do {
            fragment = try JSONFragment(validating: text)
        } catch {
            throw GatewayError.invalidRequest("\(what) is not valid JSON: \(error)")
        }
        guard fragment.kind == .object else { throw GatewayError.invalidRequest("\(what) is not a JSON object") }
        return fragment
    }
}

extension ChatMessage {
    /// For providers that take the system prompt apart from the turns (Gemini, Anthropic): the
    /// texts of a system or developer message, in order; nil for a message of another role,
    /// which is checked to be one a turn can carry (a role is set, and only tool messages
    /// have names: those providers have no participants).
    /// - Parameter position: the message's index, for error messages.
    /// - Throws: INVALID_ARGUMENT for a message without a role; UNSUPPORTED_FEATURE for
    ///   non-text parts in a system message and for named user or assistant messages.
    func systemTexts(position: Int, provider: String) throws(GatewayError) -> [String]? {
        switch role {
        case .unspecified:
            throw GatewayError.invalidRequest("message \(position) has no role")
        case .system, .developer:
            var texts: [String] = []
            for part in parts {
                guard case .text(let text) = part else {
                    throw GatewayError.unsupported("non-text parts in system messages", provider: provider)
                }
                texts.append(text)
            }
            return texts
        case .user, .assistant, .tool:
            if !name.isEmpty, role != .tool { throw GatewayError.unsupported("message names", provider: provider) }
            return nil
        }
    }
}

extension ToolCall {
    /// The arguments of a tool call found in message `position` with `role`, for providers
    /// that take them as a JSON object (Gemini, Ollama): the call must be in an assistant
    /// message and name a function; empty arguments are `{}`.
    func argumentsObject(role: Role, position: Int) throws(GatewayError) -> JSONFragment {
        guard role == .assistant else {
            throw GatewayError.invalidRequest("message \(position): tool calls belong in assistant messages")
        }
        guard !name.isEmpty else { throw GatewayError.invalidRequest("message \(position): a tool call has no name") }
        return try JSONFragment.object(
            validating: argumentsJSON.isEmpty ? "{}" : argumentsJSON,
            what: "message \(position): arguments of tool call \"\(name)\"")
    }
}

extension ChatMessage {
    /// The role as providers with one system role spell it (`developer` is `system`), for
    /// message `position` (Ollama, Cohere).
    /// - Throws: INVALID_ARGUMENT without a role; UNSUPPORTED_FEATURE for a name on anything
    ///   but a tool message, since such providers have no participants.
    func systemUserAssistantToolRole(position: Int, provider: String) throws(GatewayError) -> String {
        if !name.isEmpty, role != .tool {
            throw GatewayError.unsupported("message names", provider: provider)
        }
        switch role {
        case .unspecified: throw GatewayError.invalidRequest("message \(position) has no role")
        case .system, .developer: return "system"
        case .user: return "user"
        case .assistant: return "assistant"
        case .tool: return "tool"
        }
    }
}

extension ToolDefinition {
    /// Writes the function declaration `{"name", "description", "parameters"}` (OpenAI's and
    /// Ollama's `function`, a Gemini `functionDeclarations` entry), the parameters checked to
    /// be a JSON object; with `strict`, `"strict": true` too (OpenAI).
    /// - Parameters:
    ///   - schemaKey: the member holding the schema (Anthropic says `input_schema`).
    ///   - emptySchema: the schema written for a tool without parameters, for providers that
    ///     require one; nil leaves the member out.
    func writeDeclaration(
        into writer: inout JSONWriter, strict: Bool = false, schemaKey: String = "parameters",
        emptySchema: JSONFragment? = nil
    ) throws(GatewayError) {
        let parameters = try validatedParameters() ?? emptySchema
        writer.beginObject()
        writer.member("name", string: name)
        if !description.isEmpty { writer.member("description", string: description) }
        if let parameters { writer.member(schemaKey, fragment: parameters) }
        if strict { writer.member("strict", bool: true) }
        writer.endObject()
    }
}

/// `data:` URLs, as callers pass inline images.
enum DataURL {
    /// The media type and base64 payload of a `data:<type>;base64,<data>` URL; nil for a URL
    /// of any other scheme.
    /// - Parameter position: the message the URL is in, for error messages.
    /// - Throws: INVALID_ARGUMENT for a `data:` URL that is not base64 or names no media type.
    static func base64Parts(of url: String, position: Int) throws(GatewayError) -> (mediaType: String, base64: String)? {
        guard url.hasPrefix("data:") else { return nil }
        guard let marker = url.utf8.firstRange(of: ";base64,".utf8) else {
            throw GatewayError.invalidRequest("message \(position): only base64 data: URLs are supported")
        }
        let mediaType = String(url[url.index(url.startIndex, offsetBy: 5)..<marker.lowerBound])
        guard !mediaType.isEmpty else {
            throw GatewayError.invalidRequest("message \(position): the data: URL names no media type")
        }
        return (mediaType, String(url[marker.upperBound...]))
    }
}

extension ToolDefinition {
    /// The parameter schema checked to be a JSON object, nil when the tool takes none.
    /// - Throws: INVALID_ARGUMENT for a tool without a name or with a schema that is not an
    ///   object.
    func validatedParameters() throws(GatewayError) -> JSONFragment? {
        guard !name.isEmpty else { throw GatewayError.invalidRequest("a tool has no name") }
        return try parametersJSON.isEmpty
            ? nil : JSONFragment.object(validating: parametersJSON, what: "parameters of tool \"\(name)\"")
    }
}

extension JSONWriter {
    /// The member `"tools": [{"type": "function", "function": {…}}, …]`, each declaration as
    /// ``ToolDefinition/writeDeclaration(into:strict:schemaKey:emptySchema:)`` writes it (Ollama and Cohere spell
    /// tools as OpenAI does, without its `strict`).
    mutating func functionTools(_ tools: [ToolDefinition]) throws(GatewayError) {
        key("tools")
        beginArray()
        for tool in tools {
            beginObject()
            member("type", string: "function")
            key("function")
            try tool.writeDeclaration(into: &self)
            endObject()
        }
        endArray()
    }
}

extension EmbedRequest {
    /// Starts an embeddings body as OpenAI and Ollama spell it, `{"model": …, "input": […]`,
    /// leaving the object open for the provider's own members.
    /// - Throws: INVALID_ARGUMENT without inputs; UNSUPPORTED_FEATURE for an `input_type`,
    ///   which neither takes.
    /// `model` nil leaves it out (Azure's deployment URLs name the model in the path).
    func beginBody(model: String?, provider: String) throws(GatewayError) -> JSONWriter {
        guard !inputs.isEmpty else { throw GatewayError.invalidRequest("embeddings need at least one input") }
        guard inputType.isEmpty else { throw GatewayError.unsupported("input_type", provider: provider) }
        var writer = JSONWriter(reservingCapacity: 128 + inputs.reduce(0) { $0 + $1.utf8.count + 3 })
        writer.beginObject()
        if let model { writer.member("model", string: model) }
        writer.key("input")
        writer.beginArray()
        for input in inputs { writer.string(input) }
        writer.endArray()
        return writer
    }
}

extension JSONWriter {
    /// A member whose value is an array of strings (stop sequences and the like).
    mutating func member(_ name: String, strings: [String]) {
        key(name)
        beginArray()
        for string in strings { self.string(string) }
        endArray()
    }
}
