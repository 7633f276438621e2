import ModelGateCore
import ModelGateJSON

/// Reading OpenAI response objects: the parts shared by unary and streamed chat, and the
/// unary chat and embeddings responses.
package enum OpenAIResponseDecoding {
    /// The unified finish reason for an OpenAI-style `finish_reason`.
    ///
    /// OpenAI's own values map one to one (`function_call` is the legacy `tool_calls`).
    /// Synonyms used by compatible servers are folded in: `eos`, `eos_token`, `stop_sequence`,
    /// `end_turn` → stop; `max_tokens`, `model_length` → length; `tool_use` → tool calls;
    /// `safety` → content filter; Mistral's `error` and vLLM's `abort` → error. Any other value
    /// means the model ended on its own for a reason this table does not know yet, so it maps
    /// to stop; the provider's word is always kept in `providerFinishReason`.
    package static func finishReason(_ raw: String) -> FinishReason {
        switch raw {
        case "stop", "eos", "eos_token", "stop_sequence", "end_turn": .stop
        case "length", "max_tokens", "model_length": .length
        case "tool_calls", "function_call", "tool_use": .toolCalls
        case "content_filter", "safety": .contentFilter
        case "error", "abort": .error
        default: .stop
        }
    }

    /// The usage in an OpenAI `usage` object; nil when the value is not an object.
    package static func usage(_ value: JSONValue) -> Usage? {
        guard value.kind == .object else { return nil }
        return Usage(
            inputTokens: tokenCount(value["prompt_tokens"]),
            outputTokens: tokenCount(value["completion_tokens"]),
            cachedInputTokens: tokenCount(value["prompt_tokens_details"]["cached_tokens"]),
            reasoningTokens: tokenCount(value["completion_tokens_details"]["reasoning_tokens"]),
            totalTokens: value["total_tokens"].uint64.map { UInt32(clamping: $0) },
            source: .provider)
    }

    static func tokenCount(_ value: JSONValue) -> UInt32 {
        value.uint64.map { UInt32(clamping: $0) } ?? 0
    }

    /// Adds a message's or delta's `content` to `text`: a string, or (Mistral and others) an
    /// array of parts whose `text` parts are text and whose `thinking` parts are reasoning.
    static func appendContent(_ content: JSONValue, text: inout String, reasoning: inout String) {
        if let string = content.string {
            text += string
            return
        }
        for part in content.elements {
            if part["type"].isString("thinking") {
                let thinking = part["thinking"]
                if let string = thinking.string {
                    reasoning += string
                } else {
                    for inner in thinking.elements { reasoning += inner["text"].string ?? "" }
                }
            } else if let string = part["text"].string {
                text += string
            }
        }
    }

    /// The reasoning text of a message or delta: `reasoning_content` (vLLM, DeepSeek, sglang)
    /// or `reasoning` (newer vLLM, OpenRouter, Groq).
    static func reasoning(of message: JSONValue) -> String? {
        message["reasoning_content"].string ?? message["reasoning"].string
    }

    /// The choice this gateway asked for: it never requests `n > 1`, so that is choice 0 (or
    /// the first, from servers that omit the index).
    static func primaryChoice(_ choices: JSONValue) -> JSONValue {
        if choices.count == 1 { return choices[0] }
        for choice in choices.elements {
            let index = choice["index"]
            if !index.exists || index.int == 0 { return choice }
        }
        return .missing
    }

    /// A tool call's arguments: a string, or an object from servers that send one.
    static func arguments(_ value: JSONValue) -> String {
        value.string ?? (value.kind == .object ? value.rawText : "")
    }

    /// The error for a body that is not what the API promises.
    static func malformed(_ what: String, provider: String) -> GatewayError {
        GatewayError(
            code: .internal,
            message: "provider \"\(provider)\" sent \(what)",
            detail: ErrorDetail(kind: .upstreamMalformed, provider: provider, upstreamStatus: 200))
    }

    /// Parses a JSON object sent by the provider.
    static func parseObject(_ bytes: [UInt8], what: String, provider: String) throws(GatewayError) -> JSONValue {
        let document: JSONDocument
        do {
            document = try JSONDocument(parsing: bytes)
        } catch {
            throw malformed("an unparseable \(what) (\(error))", provider: provider)
        }
        guard document.root.kind == .object else { throw malformed("a \(what) that is not a JSON object", provider: provider) }
        return document.root
    }

    // MARK: Unary chat

    /// The unified response for a `chat.completion` object.
    /// - Throws: UPSTREAM_MALFORMED for bodies that are not a completion, or the mapped
    ///   error when the body is an error object.
    package static func chatResponse(_ body: [UInt8], provider: String, fallbackModel: String) throws(GatewayError)
        -> ChatResponse
    {
        let root = try parseObject(body, what: "chat completion", provider: provider)
        if root["error"].isPresent || root["object"].isString("error") {
            throw UpstreamErrorMapping.streamError(UpstreamErrorBody(root), provider: provider)
        }
        let choice = primaryChoice(root["choices"])
        guard choice.kind == .object else { throw malformed("a chat completion without choices", provider: provider) }
        let message = choice["message"]
        var text = ""
        var reasoning = reasoning(of: message) ?? ""
        appendContent(message["content"], text: &text, reasoning: &reasoning)
        if text.isEmpty, let refusal = message["refusal"].string { text = refusal }

        var toolCalls: [ToolCall] = []
        for call in message["tool_calls"].elements {
            let function = call["function"]
            toolCalls.append(
                ToolCall(
                    id: call["id"].string ?? "", name: function["name"].string ?? "",
                    argumentsJSON: arguments(function["arguments"])))
        }
        let legacyCall = message["function_call"]
        if legacyCall.kind == .object {
            toolCalls.append(
                ToolCall(id: "", name: legacyCall["name"].string ?? "", argumentsJSON: arguments(legacyCall["arguments"])))
        }

        let providerReason = choice["finish_reason"].string ?? ""
        return ChatResponse(
            id: root["id"].string ?? "",
            model: root["model"].string ?? fallbackModel,
            provider: provider,
            text: text,
            reasoning: reasoning,
            toolCalls: toolCalls,
            finishReason: providerReason.isEmpty ? .unspecified : finishReason(providerReason),
            providerFinishReason: providerReason,
            usage: usage(root["usage"]) ?? usage(root["x_groq"]["usage"]) ?? .notReported)
    }

    // MARK: Embeddings

    /// An embedding given as a JSON array of numbers (OpenAI, Bedrock Titan, …).
    static func embeddingVector(_ vector: JSONValue, provider: String) throws(GatewayError) -> [Float] {
        guard vector.kind == .array else {
            throw malformed("an embedding that is not an array of floats", provider: provider)
        }
        var values: [Float] = []
        values.reserveCapacity(vector.count)
        for element in vector.elements {
            guard let value = element.float else {
                throw malformed("an embedding with a non-numeric element", provider: provider)
            }
            values.append(value)
        }
        return values
    }

    /// The unified response for an embeddings `list` object.
    /// - Parameter inputCount: how many inputs were sent; the response must hold exactly one
    ///   vector for each.
    package static func embedResponse(
        _ body: [UInt8], inputCount: Int, provider: String, fallbackModel: String
    ) throws(GatewayError) -> EmbedResponse {
        let root = try parseObject(body, what: "embeddings response", provider: provider)
        if root["error"].isPresent || root["object"].isString("error") {
            throw UpstreamErrorMapping.streamError(UpstreamErrorBody(root), provider: provider)
        }
        let data = root["data"]
        guard data.kind == .array, data.count == inputCount else {
            throw malformed("\(data.count) embeddings for \(inputCount) inputs", provider: provider)
        }
        var slots = [Embedding?](repeating: nil, count: inputCount)
        for (position, item) in data.elements.enumerated() {
            let index = item["index"].exists ? item["index"].int : position
            guard let index, index >= 0, index < inputCount, slots[index] == nil else {
                throw malformed("an embedding with a bad or repeated index", provider: provider)
            }
            slots[index] = Embedding(index: UInt32(index), values: try embeddingVector(item["embedding"], provider: provider))
        }
        let usageValue = root["usage"]
        var usage = Usage.notReported
        if usageValue.kind == .object {
            usage = Usage(
                inputTokens: tokenCount(usageValue["prompt_tokens"]),
                totalTokens: usageValue["total_tokens"].uint64.map { UInt32(clamping: $0) },
                source: .provider)
        }
        return EmbedResponse(
            embeddings: slots.compactMap { $0 },
            model: root["model"].string ?? fallbackModel,
            provider: provider,
            usage: usage)
    }
}
