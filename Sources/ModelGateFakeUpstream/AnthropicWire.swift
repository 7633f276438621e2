import NIOCore

/// Anthropic's Messages API as the fake speaks it (docs/fake-upstream.md, "Anthropic").
enum AnthropicWire {
    static func plan(_ context: RouteContext) -> PlannedResponse {
        var context = context
        let requestID = "req_fake_\(context.seq)"
        context.baseHead.extraHeaders.append(("request-id", requestID))
        let scenario = context.scenario
        let allocator = context.allocator
        func anthropicError(_ status: Int, _ message: String, outcome: FakeUpstreamOutcome = .error) -> PlannedResponse {
            var error = AnthropicError(status: status, requestID: requestID)
            error.message = message
            return context.fixed(status: status, body: error.body(allocator: allocator), outcome: outcome)
        }

        guard context.method == "POST" else {
            return anthropicError(405, "Method Not Allowed")
        }
        if case .failure(let error) = context.scan {
            return anthropicError(400, "There was an issue with the JSON body of your request: \(error.message)")
        }
        // Anthropic's errors have a type and a message, nothing to put a code in.
        if scenario.errorCode != .unset {
            return anthropicError(400, "the fake upstream's Anthropic errors take error_type and error_message, not error_code")
        }
        if let status = scenario.status {
            var error = AnthropicError(status: status, requestID: requestID)
            error.apply(scenario)
            return context.fixed(status: status, body: error.body(allocator: allocator))
        }
        let fields = context.fields
        guard fields.maxTokens != nil else {
            return anthropicError(400, "max_tokens: Field required")
        }
        var format = AnthropicStreamFormat(
            model: fields.model ?? "claude-fake", messageID: "msg_fake_\(context.seq)", promptTokens: fields.promptWords + fields.systemWords,
            tokens: scenario.tokens, usage: scenario.usage, toolCall: scenario.toolCall,
            sendsMessageStop: !scenario.noDone, error: AnthropicError(status: 529, requestID: requestID))
        format.error.apply(scenario)
        if fields.stream {
            // `no_done` leaves out only `message_stop` (the format's own end), so the finish
            // reason and usage still arrive.
            context.scenario.noDone = false
            return context.stream(format, contentType: "text/event-stream; charset=utf-8")
        }
        guard scenario.tokens <= ServerCore.maxUnaryTokens else {
            return anthropicError(400, "Unary answers are limited to \(ServerCore.maxUnaryTokens) tokens; stream bigger ones.")
        }
        return context.unary(tokens: scenario.tokens) { format.unaryBody(allocator: allocator) }
    }
}

/// Anthropic's error envelope: `{"type":"error","error":{"type","message"},"request_id"}`.
struct AnthropicError {
    var type: String
    var message: String
    var requestID: String

    /// Anthropic's error type and usual message for an HTTP status.
    init(status: Int, requestID: String) {
        self.requestID = requestID
        switch status {
        case 400: (self.type, self.message) = ("invalid_request_error", "There was an issue with the format or content of your request.")
        case 401: (self.type, self.message) = ("authentication_error", "invalid x-api-key")
        case 403: (self.type, self.message) = ("permission_error", "Your API key does not have permission to use the specified resource.")
        case 404: (self.type, self.message) = ("not_found_error", "The requested resource could not be found.")
        case 413: (self.type, self.message) = ("request_too_large", "Request exceeds the maximum allowed number of bytes.")
        case 429: (self.type, self.message) = ("rate_limit_error", "Your account has hit a rate limit.")
        case 504: (self.type, self.message) = ("timeout_error", "Request timed out.")
        case 529: (self.type, self.message) = ("overloaded_error", "Overloaded")
        case 500...599: (self.type, self.message) = ("api_error", "Internal server error")
        default: (self.type, self.message) = ("invalid_request_error", "Request failed with status \(status).")
        }
    }

    /// The scenario's `error_type` and `error_message`.
    mutating func apply(_ scenario: Scenario) {
        if let type = scenario.errorType { self.type = type }
        if let message = scenario.errorMessage { self.message = message }
    }

    func write(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"type\":\"error\",\"error\":{\"type\":")
        buffer.writeJSONString(self.type)
        buffer.writeStaticString(",\"message\":")
        buffer.writeJSONString(self.message)
        buffer.writeStaticString("},\"request_id\":")
        buffer.writeJSONString(self.requestID)
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 96 + self.message.utf8.count)
        self.write(into: &buffer)
        return buffer
    }
}

/// A Messages stream as Anthropic sends it: named events ended by a blank line.
/// `message_start` (usage with the prompt's words as `input_tokens`, an early
/// `output_tokens` of 1), `content_block_start` of a text block, a `ping`, one
/// `content_block_delta` per token, `content_block_stop`; with `tool_call` a `tool_use`
/// block whose input arrives in fragments; `message_delta` (stop reason, the cumulative
/// `output_tokens`), `message_stop`. A mid-stream error is `event: error`.
struct AnthropicStreamFormat: StreamFormat {
    var model: String
    var messageID: String
    var promptTokens: Int
    var tokens: Int
    /// `usage=0` leaves the usage objects out.
    var usage: Bool
    var toolCall: Bool
    /// `no_done` leaves out `message_stop` alone.
    var sendsMessageStop: Bool
    var error: AnthropicError

    /// The tool call's input, in the fragments `tool_call` streams.
    static let toolInputFragments = ["", "{\"city\": \"Par", "is\"}"]

    func begin(into buffer: inout ByteBuffer) {
        event("message_start", into: &buffer) { buffer in
            buffer.writeStaticString("{\"type\":\"message_start\",\"message\":")
            self.message(into: &buffer, streamed: true) { _ in }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
        event("content_block_start", into: &buffer) {
            $0.writeStaticString("{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
        }
        event("ping", into: &buffer) { $0.writeStaticString("{\"type\": \"ping\"}") }
    }

    func token(_ index: Int, into buffer: inout ByteBuffer) {
        event("content_block_delta", into: &buffer) {
            $0.writeStaticString("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"")
            $0.writeFakeToken(index)
            $0.writeStaticString("\"}}")
        }
    }

    func end(into buffer: inout ByteBuffer) {
        event("content_block_stop", into: &buffer) { $0.writeStaticString("{\"type\":\"content_block_stop\",\"index\":0}") }
        if self.toolCall {
            event("content_block_start", into: &buffer) {
                $0.writeStaticString(
                    "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_fake\",\"name\":\"get_weather\",\"input\":{}}}"
                )
            }
            for fragment in Self.toolInputFragments {
                event("content_block_delta", into: &buffer) {
                    $0.writeStaticString(
                        "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":")
                    $0.writeJSONString(fragment)
                    $0.writeStaticString("}}")
                }
            }
            event("content_block_stop", into: &buffer) { $0.writeStaticString("{\"type\":\"content_block_stop\",\"index\":1}") }
        }
        event("message_delta", into: &buffer) {
            $0.writeStaticString("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":")
            $0.writeJSONString(self.stopReason)
            $0.writeStaticString(",\"stop_sequence\":null}")
            if self.usage {
                $0.writeStaticString(",\"usage\":{\"output_tokens\":")
                $0.writeDecimal(self.tokens)
                $0.writeInteger(UInt8(ascii: "}"))
            }
            $0.writeInteger(UInt8(ascii: "}"))
        }
        if self.sendsMessageStop {
            event("message_stop", into: &buffer) { $0.writeStaticString("{\"type\":\"message_stop\"}") }
        }
    }

    func error(into buffer: inout ByteBuffer) {
        event("error", into: &buffer) { self.error.write(into: &$0) }
    }

    func malformed(into buffer: inout ByteBuffer) {
        event("content_block_delta", into: &buffer) { $0.writeStaticString("{\"type\":\"content_block_delta\",") }
    }

    /// The non-streamed answer: one `message` object with all the tokens (and the tool call).
    func unaryBody(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 512 + self.tokens * 8)
        self.message(into: &buffer, streamed: false) { buffer in
            buffer.writeStaticString("{\"type\":\"text\",\"text\":\"")
            buffer.writeFakeTokens(upTo: self.tokens)
            buffer.writeStaticString("\"}")
            if self.toolCall {
                buffer.writeStaticString(
                    ",{\"type\":\"tool_use\",\"id\":\"toolu_fake\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}")
            }
        }
        return buffer
    }

    private var stopReason: String { self.toolCall ? "tool_use" : "end_turn" }

    /// A `message` object: empty content and no stop reason at the start of a stream, where
    /// `output_tokens` is an early count of 1; the whole answer otherwise.
    private func message(into buffer: inout ByteBuffer, streamed: Bool, content: (inout ByteBuffer) -> Void) {
        buffer.writeStaticString("{\"id\":")
        buffer.writeJSONString(self.messageID)
        buffer.writeStaticString(",\"type\":\"message\",\"role\":\"assistant\",\"model\":")
        buffer.writeJSONString(self.model)
        buffer.writeStaticString(",\"content\":[")
        content(&buffer)
        buffer.writeStaticString("],\"stop_reason\":")
        if streamed {
            buffer.writeStaticString("null")
        } else {
            buffer.writeJSONString(self.stopReason)
        }
        buffer.writeStaticString(",\"stop_sequence\":null")
        if self.usage {
            buffer.writeStaticString(",\"usage\":{\"input_tokens\":")
            buffer.writeDecimal(self.promptTokens)
            buffer.writeStaticString(",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":")
            buffer.writeDecimal(streamed ? 1 : self.tokens)
            buffer.writeInteger(UInt8(ascii: "}"))
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// `event: NAME`, the data line `body` writes, and the blank line that dispatches it.
    private func event(_ name: StaticString, into buffer: inout ByteBuffer, _ body: (inout ByteBuffer) -> Void) {
        buffer.writeStaticString("event: ")
        buffer.writeStaticString(name)
        buffer.writeStaticString("\ndata: ")
        body(&buffer)
        buffer.writeStaticString("\n\n")
    }
}
