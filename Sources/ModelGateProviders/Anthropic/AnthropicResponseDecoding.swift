import ModelGateCore
import ModelGateJSON

/// Reading Anthropic Messages responses: stop reasons, usage, the error envelope and the
/// unary message.
package enum AnthropicResponseDecoding {
    /// The unified finish reason for a `stop_reason`.
    ///
    /// `end_turn` and `stop_sequence` → stop; `max_tokens` and
    /// `model_context_window_exceeded` → length; `tool_use` → tool calls (stop when the only
    /// tool was the forced JSON answer, `answeredWithJSONTool`); `refusal` → content filter;
    /// `pause_turn` (a long turn paused unfinished, to be continued by sending it back) →
    /// length, the unified reason for "output stopped before the model was done". Any other
    /// value maps to stop, as for OpenAI; the provider's word is kept alongside.
    package static func finishReason(_ raw: String, answeredWithJSONTool: Bool = false) -> FinishReason {
        switch raw {
        case "end_turn", "stop_sequence": .stop
        case "max_tokens", "model_context_window_exceeded", "pause_turn": .length
        case "tool_use": answeredWithJSONTool ? .stop : .toolCalls
        case "refusal": .contentFilter
        default: .stop
        }
    }

    // MARK: Errors

    /// The fields of Anthropic's error envelope
    /// `{"type": "error", "error": {"type", "message"}, "request_id"}`: the error type is
    /// reported as type and code, and decides the status it stands for (in-stream errors
    /// arrive with HTTP 200).
    package static func errorBody(_ root: JSONValue) -> UpstreamErrorBody {
        let error = root["error"]
        guard error.kind == .object else { return UpstreamErrorBody(root) }
        let type = error["type"].string ?? ""
        return UpstreamErrorBody(
            message: error["message"].string ?? "", type: type, code: type, impliedStatus: impliedStatus(ofErrorType: type))
    }

    /// ``errorBody(_:)`` of raw bytes; anything that is not JSON becomes the message.
    package static func errorBody(parsing bytes: [UInt8]) -> UpstreamErrorBody {
        guard let document = try? JSONDocument(parsing: bytes), document.root.kind == .object else {
            return UpstreamErrorBody(parsing: bytes)
        }
        return errorBody(document.root)
    }

    /// The HTTP status each documented error type comes with, as the gateway classifies it:
    /// `timeout_error` is an upstream timeout (408), and `billing_error` (an account out of
    /// credit) is classified like OpenAI's `insufficient_quota` (429, not retryable).
    static func impliedStatus(ofErrorType type: String) -> Int? {
        switch type {
        case "invalid_request_error": 400
        case "authentication_error": 401
        case "permission_error": 403
        case "not_found_error": 404
        case "timeout_error": 408
        case "request_too_large": 413
        case "rate_limit_error", "billing_error": 429
        case "api_error": 500
        case "overloaded_error": 529
        default: nil
        }
    }

    // MARK: Unary chat

    /// The unified response for a `message` object (a non-streamed `POST /v1/messages`).
    /// - Parameters:
    ///   - jsonResponseTool: the forced tool whose input is the answer's text, if the request
    ///     asked for JSON.
    ///   - secrets: values to redact from an error envelope's message.
    /// - Throws: UPSTREAM_MALFORMED for bodies that are not a message object, the mapped
    ///   error when the body is an error envelope.
    package static func chatResponse(
        _ body: [UInt8], provider: String, fallbackModel: String, jsonResponseTool: String? = nil, secrets: [String] = []
    ) throws(GatewayError) -> ChatResponse {
        try ProviderDecoding.chatResponse(
            body, reader: AnthropicMessageReader(provider: provider, jsonResponseTool: jsonResponseTool, secrets: secrets),
            what: "message", provider: provider, fallbackModel: fallbackModel)
    }
}

/// Anthropic's token counts as reported so far. Counts are cumulative, so a later report
/// replaces a count, and a count a report leaves out (or sends as null) keeps its value.
struct AnthropicUsageCounts: Sendable {
    private var input: UInt64 = 0
    private var output: UInt64 = 0
    private var cacheRead: UInt64 = 0
    private var cacheCreation: UInt64 = 0

    /// Takes in a `usage` object; returns the unified usage, or nil when `value` is not an
    /// object.
    ///
    /// Anthropic's `input_tokens` excludes the prompt cache, while the unified input includes
    /// it: input = `input_tokens` + `cache_read_input_tokens` +
    /// `cache_creation_input_tokens`, of which cached = the reads and cache writes = the
    /// creations. Output is `output_tokens` (thinking included; Anthropic does not report
    /// reasoning tokens apart, so they stay 0).
    mutating func update(_ value: JSONValue) -> Usage? {
        guard value.kind == .object else { return nil }
        if let count = value["input_tokens"].uint64 { input = count }
        if let count = value["output_tokens"].uint64 { output = count }
        if let count = value["cache_read_input_tokens"].uint64 { cacheRead = count }
        if let count = value["cache_creation_input_tokens"].uint64 { cacheCreation = count }
        return Usage(
            inputTokens: UInt32(clamping: input &+ cacheRead &+ cacheCreation),
            outputTokens: UInt32(clamping: output),
            cachedInputTokens: UInt32(clamping: cacheRead),
            cacheWriteInputTokens: UInt32(clamping: cacheCreation),
            source: .provider)
    }
}

/// Turns Anthropic message objects and content-block events into ``ChatStreamEvent``s: the
/// unary answer (one whole `message`) and, driven by ``AnthropicStreamDecoder``, the events
/// of a stream.
///
/// - A message gives `.started` (`id`, `model`), its content blocks, `.finished`
///   (`stop_reason`) and `.usage`.
/// - Blocks: `text` → text, `thinking` → reasoning, `tool_use` → a tool call (id and name,
///   then the `input` object, whole or as `input_json_delta` fragments). Tool calls are
///   numbered 0, 1, … in order of appearance, whatever their block index. The forced JSON
///   tool's input is text instead. Other blocks (`redacted_thinking`, server tools) and
///   deltas (`signature_delta`, `citations_delta`) have no unified field and are skipped.
/// - A streamed tool call that received no input fragment gets `{}` when its block stops: a
///   call without arguments still has an arguments object.
struct AnthropicMessageReader: ResponseObjectReading {
    let provider: String
    let jsonResponseTool: String?
    let secrets: [String]

    private enum Block {
        case text
        case thinking
        case toolCall(UInt32)
        /// The forced tool of a JSON response format: its input is the answer's text.
        case jsonAnswer
        case other
    }

    /// Streamed blocks by their `index`.
    private var blocks: [Int: Block] = [:]
    /// Streamed tool blocks that received at least one input fragment.
    private var blocksWithInput: Set<Int> = []
    private var toolCalls: UInt32 = 0
    private var usage = AnthropicUsageCounts()

    init(provider: String, jsonResponseTool: String?, secrets: [String]) {
        self.provider = provider
        self.jsonResponseTool = jsonResponseTool
        self.secrets = secrets
    }

    /// Reads a unary answer: a `message`, or an error envelope.
    mutating func read(_ object: JSONValue, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        if object["type"].isString("error") {
            throw UpstreamErrorMapping.streamError(
                AnthropicResponseDecoding.errorBody(object), provider: provider, secrets: secrets)
        }
        readMessage(object, into: &output)
    }

    /// A whole `message` object: the unary answer, or a stream's `message_start` (whose
    /// content is still empty).
    mutating func readMessage(_ message: JSONValue, into output: inout [ChatStreamEvent]) {
        output.append(.started(id: message["id"].string ?? "", model: message["model"].string ?? ""))
        var text = ""
        var reasoning = ""
        var calls: [ToolCallDelta] = []
        for block in message["content"].elements {
            switch block["type"].string {
            case "text":
                text += block["text"].string ?? ""
            case "thinking":
                reasoning += block["thinking"].string ?? ""
            case "tool_use":
                let input = block["input"]
                let arguments = input.kind == .object ? input.rawText : "{}"
                let name = block["name"].string ?? ""
                if name == jsonResponseTool {
                    text += arguments
                } else {
                    calls.append(ToolCallDelta(index: nextToolCall(), id: block["id"].string ?? "", name: name, argumentsFragment: arguments))
                }
            default:
                break
            }
        }
        let delta = ChatDelta(text: text, reasoning: reasoning, toolCalls: calls)
        if !delta.isEmpty { output.append(.delta(delta)) }
        finish(message["stop_reason"], into: &output)
        if let usage = usage.update(message["usage"]) { output.append(.usage(usage)) }
    }

    /// `content_block_start {index, content_block}`.
    mutating func blockStarted(_ event: JSONValue, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        let index = try blockIndex(event)
        let block = event["content_block"]
        switch block["type"].string {
        case "text":
            blocks[index] = .text
            if let text = block["text"].string, !text.isEmpty { output.append(.delta(ChatDelta(text: text))) }
        case "thinking":
            blocks[index] = .thinking
            if let thinking = block["thinking"].string, !thinking.isEmpty {
                output.append(.delta(ChatDelta(reasoning: thinking)))
            }
        case "tool_use":
            // The block's `input` is `{}` here; the arguments follow as fragments.
            let name = block["name"].string ?? ""
            if name == jsonResponseTool {
                blocks[index] = .jsonAnswer
            } else {
                let number = nextToolCall()
                blocks[index] = .toolCall(number)
                output.append(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: number, id: block["id"].string ?? "", name: name)])))
            }
        default:
            blocks[index] = .other
        }
    }

    /// `content_block_delta {index, delta}`.
    mutating func blockDelta(_ event: JSONValue, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        let index = try blockIndex(event)
        guard let block = blocks[index] else {
            throw OpenAIResponseDecoding.malformed("a delta for content block \(index), which never started", provider: provider)
        }
        let delta = event["delta"]
        switch delta["type"].string {
        case "text_delta":
            if let text = delta["text"].string, !text.isEmpty { output.append(.delta(ChatDelta(text: text))) }
        case "thinking_delta":
            if let thinking = delta["thinking"].string, !thinking.isEmpty {
                output.append(.delta(ChatDelta(reasoning: thinking)))
            }
        case "input_json_delta":
            // The first fragment is usually empty; it carries nothing.
            guard let fragment = delta["partial_json"].string, !fragment.isEmpty else { return }
            blocksWithInput.insert(index)
            switch block {
            case .toolCall(let number):
                output.append(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: number, argumentsFragment: fragment)])))
            case .jsonAnswer:
                output.append(.delta(ChatDelta(text: fragment)))
            case .text, .thinking, .other:
                break  // server tools' inputs have no unified field
            }
        default:
            break  // signature_delta, citations_delta, and delta types added later
        }
    }

    /// `content_block_stop {index}`.
    mutating func blockStopped(_ event: JSONValue, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        let index = try blockIndex(event)
        guard !blocksWithInput.contains(index) else { return }
        switch blocks[index] {
        case .toolCall(let number):
            output.append(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: number, argumentsFragment: "{}")])))
        case .jsonAnswer:
            output.append(.delta(ChatDelta(text: "{}")))
        default:
            break
        }
    }

    /// `message_delta {delta: {stop_reason}, usage}`: the usage is cumulative.
    mutating func messageDelta(_ event: JSONValue, into output: inout [ChatStreamEvent]) {
        finish(event["delta"]["stop_reason"], into: &output)
        if let usage = usage.update(event["usage"]) { output.append(.usage(usage)) }
    }

    private func finish(_ stopReason: JSONValue, into output: inout [ChatStreamEvent]) {
        guard let reason = stopReason.string, !reason.isEmpty else { return }
        output.append(
            .finished(
                AnthropicResponseDecoding.finishReason(reason, answeredWithJSONTool: jsonResponseTool != nil),
                providerReason: reason))
    }

    private func blockIndex(_ event: JSONValue) throws(GatewayError) -> Int {
        guard let index = event["index"].int else {
            throw OpenAIResponseDecoding.malformed("a content block event without an index", provider: provider)
        }
        return index
    }

    private mutating func nextToolCall() -> UInt32 {
        defer { toolCalls += 1 }
        return toolCalls
    }
}
