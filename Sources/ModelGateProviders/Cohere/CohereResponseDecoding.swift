import ModelGateCore
import ModelGateJSON

/// Reading Cohere v2 answers: the unary `/v2/chat` response, what stream events and unary
/// answers share (finish reasons, usage), embeddings.
package enum CohereResponseDecoding {
    /// The unified finish reason for a Cohere `finish_reason` that ends a generation well.
    ///
    /// `COMPLETE` and `STOP_SEQUENCE` are stop, `MAX_TOKENS` is length, `TOOL_CALL` is tool
    /// calls. `ERROR` and `TIMEOUT` are failures (``generationFailure(_:message:provider:)``),
    /// never a finish reason. Any other value maps to stop, as for OpenAI; the provider's
    /// word is kept alongside.
    package static func finishReason(_ raw: String) -> FinishReason {
        switch raw {
        case "MAX_TOKENS": .length
        case "TOOL_CALL": .toolCalls
        default: .stop
        }
    }

    /// Whether a `finish_reason` says the generation failed.
    static func isFailure(_ raw: String) -> Bool {
        raw == "ERROR" || raw == "TIMEOUT"
    }

    /// The error for a generation Cohere ended with `ERROR` (UNAVAILABLE /
    /// UPSTREAM_UNAVAILABLE) or `TIMEOUT` (UNAVAILABLE / UPSTREAM_TIMEOUT), both retryable
    /// unless output was delivered; `message` is the event's `error` text, if any.
    package static func generationFailure(_ reason: String, message: String, provider: String) -> GatewayError {
        var error = UpstreamErrorMapping.streamError(
            UpstreamErrorBody(message: message, code: reason), provider: provider, status: reason == "TIMEOUT" ? 408 : 500)
        let described = error.detail.upstreamMessage.isEmpty ? "" : ": \(error.detail.upstreamMessage)"
        error.message = "provider \"\(provider)\" ended the generation with finish_reason \(reason)\(described)"
        return error
    }

    /// The usage in a Cohere `usage` object: the model's own counts, `tokens.input_tokens`
    /// and `tokens.output_tokens`, and `cached_tokens` when reported. `billed_units` (what
    /// Cohere charges, which leaves out tokens it adds itself) has no unified field. Nil when
    /// there are no token counts.
    package static func usage(_ value: JSONValue) -> Usage? {
        let tokens = value["tokens"]
        guard tokens.kind == .object else { return nil }
        return Usage(
            inputTokens: tokenCount(tokens["input_tokens"]),
            outputTokens: tokenCount(tokens["output_tokens"]),
            cachedInputTokens: tokenCount(value["cached_tokens"]),
            source: .provider)
    }

    private static func tokenCount(_ value: JSONValue) -> UInt32 {
        value.uint64.map { UInt32(clamping: $0) } ?? 0
    }

    /// Appends the events for the end of a generation (a stream's `message-end` delta, or a
    /// unary answer): the finish reason, then the usage.
    /// - Throws: ``generationFailure(_:message:provider:)`` for `ERROR` and `TIMEOUT`, after
    ///   the usage was appended, so what the failed call cost is still reported.
    static func readEnd(
        finishReason raw: String?, usage: JSONValue, error: JSONValue, provider: String,
        into output: inout [ChatStreamEvent]
    ) throws(GatewayError) {
        if let raw, !isFailure(raw) { output.append(.finished(finishReason(raw), providerReason: raw)) }
        if let usage = self.usage(usage) { output.append(.usage(usage)) }
        if let raw, isFailure(raw) {
            throw generationFailure(raw, message: error.string ?? "", provider: provider)
        }
    }

    // MARK: Unary chat

    /// The unified response for a `/v2/chat` answer (`"stream": false`).
    /// - Throws: UPSTREAM_MALFORMED for bodies that are not a response object; the
    ///   generation failure for `ERROR` and `TIMEOUT`.
    package static func chatResponse(_ body: [UInt8], provider: String, fallbackModel: String) throws(GatewayError)
        -> ChatResponse
    {
        try ProviderDecoding.chatResponse(
            body, reader: CohereResponseReader(provider: provider), what: "chat response", provider: provider,
            fallbackModel: fallbackModel)
    }

    // MARK: Embeddings

    /// The unified response for a `/v2/embed` answer: the vectors of `embeddings.float` (or
    /// of a bare `embeddings` array, the older response type), one per input; usage from
    /// `meta` (`tokens.input_tokens`, else `billed_units.input_tokens`, which is all Cohere
    /// reports for embeddings).
    package static func embedResponse(
        _ body: [UInt8], inputCount: Int, provider: String, model: String
    ) throws(GatewayError) -> EmbedResponse {
        let (root, embeddings) = try ProviderDecoding.embeddings(
            body, inputCount: inputCount, provider: provider, errorBody: UpstreamErrorBody.init
        ) { root in
            let embeddings = root["embeddings"]
            return embeddings.kind == .array ? Array(embeddings.elements) : Array(embeddings["float"].elements)
        }
        let meta = root["meta"]
        let counted = meta["tokens"]["input_tokens"].exists ? meta["tokens"] : meta["billed_units"]
        let usage =
            counted["input_tokens"].uint64.map { Usage(inputTokens: UInt32(clamping: $0), source: .provider) }
            ?? .notReported
        return EmbedResponse(embeddings: embeddings, model: model, provider: provider, usage: usage)
    }
}

/// Reads a unary `/v2/chat` answer: `{"id", "finish_reason", "message": {"content": [{"type":
/// "text"|"thinking", …}], "tool_plan", "tool_calls": [{"id", "function": {"name",
/// "arguments"}}]}, "usage"}` into `.started`, one `.delta` (text; thinking and the tool
/// plan as reasoning; each tool call whole), `.finished` and `.usage`.
struct CohereResponseReader: ResponseObjectReading {
    let provider: String

    mutating func read(_ response: JSONValue, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        guard response["message"].kind == .object || response["finish_reason"].exists else {
            if response["message"].kind == .string {
                // An error body (`{"message", "id"}`) with a 2xx status.
                throw UpstreamErrorMapping.streamError(UpstreamErrorBody(response), provider: provider)
            }
            throw OpenAIResponseDecoding.malformed("a chat response without a message", provider: provider)
        }
        output.append(.started(id: response["id"].string ?? "", model: ""))
        let message = response["message"]
        var text = ""
        var reasoning = ""
        let content = message["content"]
        if let string = content.string {
            text = string
        } else {
            for part in content.elements {
                if let thinking = part["thinking"].string {
                    reasoning += thinking
                } else if let piece = part["text"].string {
                    text += piece
                }
            }
        }
        reasoning += message["tool_plan"].string ?? ""
        var toolCalls: [ToolCallDelta] = []
        for (index, call) in message["tool_calls"].elements.enumerated() {
            let function = call["function"]
            toolCalls.append(
                ToolCallDelta(
                    index: UInt32(index), id: call["id"].string ?? "", name: function["name"].string ?? "",
                    argumentsFragment: OpenAIResponseDecoding.arguments(function["arguments"])))
        }
        let delta = ChatDelta(text: text, reasoning: reasoning, toolCalls: toolCalls)
        if !delta.isEmpty { output.append(.delta(delta)) }
        try CohereResponseDecoding.readEnd(
            finishReason: response["finish_reason"].string, usage: response["usage"], error: response["error"],
            provider: provider, into: &output)
    }
}
