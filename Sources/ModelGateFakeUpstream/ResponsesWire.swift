import NIOCore

/// OpenAI's Responses API as the fake speaks it (docs/fake-upstream.md, "Responses API"), on
/// OpenAI's paths (`…/responses`) and Azure's (`/openai/v1/responses`, `/openai/responses`).
enum ResponsesWire {
    static func plan(_ context: RouteContext, azure: Bool) -> PlannedResponse {
        let scenario = context.scenario
        let allocator = context.allocator
        let fields = context.fields
        func errorAnswer(_ status: Int, message: String? = nil, outcome: FakeUpstreamOutcome = .error) -> PlannedResponse {
            var body: ByteBuffer
            if azure {
                var error = AzureError.defaults(forStatus: status).applying(scenario)
                if let message { error.message = message }
                body = error.body(allocator: allocator)
            } else {
                var error = scenario.openAIError(status: status)
                if let message { error.message = message }
                body = error.body(allocator: allocator)
            }
            return context.fixed(status: status, body: body, outcome: outcome)
        }
        guard context.method == "POST" else { return errorAnswer(405, message: "Method not allowed") }
        if case .failure(let error) = context.scan {
            return errorAnswer(400, message: "We could not parse the JSON body of your request. \(error.message)")
        }
        if let status = scenario.status {
            return errorAnswer(status, outcome: .completed)
        }
        var format = ResponsesStreamFormat(
            seq: context.seq, model: fields.model ?? "fake-model", createdAt: WallClock.nowSeconds(),
            promptTokens: fields.promptWords, tokens: scenario.tokens, usage: scenario.usage, toolCall: scenario.toolCall)
        if let reason = scenario.finishReason, reason != "stop" { format.incompleteReason = reason }
        if case .value(let code) = scenario.errorCode { format.failureCode = code }
        if let message = scenario.errorMessage { format.failureMessage = message }
        if fields.stream {
            return context.stream(format, contentType: "text/event-stream; charset=utf-8")
        }
        guard scenario.tokens <= ServerCore.maxUnaryTokens else {
            return errorAnswer(400, message: "unary answers are limited to \(ServerCore.maxUnaryTokens) tokens; stream bigger ones")
        }
        return context.unary(tokens: scenario.tokens) {
            var buffer = allocator.buffer(capacity: 1024 + scenario.tokens * 8)
            format.response(into: &buffer, status: format.incompleteReason == nil ? "completed" : "incomplete", finished: true)
            return buffer
        }
    }
}

/// A Responses API event stream as OpenAI sends it: named events (`event:` line and a `type`
/// repeating it), no `[DONE]`. `response.created`, `response.in_progress`, the message item and
/// its text part added, one `response.output_text.delta` per token, the `.done` events with the
/// whole text, then (with `tool_call`) a `get_weather` function call whose arguments
/// `{"city":"Paris"}` arrive in two deltas, and `response.completed` with usage (or
/// `response.incomplete` for a `finish_reason`). A mid-stream error is `response.failed`.
/// Events carry no `sequence_number`, like the documented example.
struct ResponsesStreamFormat: StreamFormat {
    var seq: Int
    var model: String
    var createdAt: Int64
    var promptTokens: Int
    var tokens: Int
    /// `usage=0` sends `"usage": null`.
    var usage: Bool
    var toolCall: Bool
    /// The `incomplete_details.reason` of an incomplete response (`max_output_tokens`, …).
    var incompleteReason: String?
    var failureCode = "server_error"
    var failureMessage = "The server had an error while processing your request. Sorry about that!"

    /// A response with only a function call has no message item.
    private var hasMessage: Bool { tokens > 0 || !toolCall }

    func begin(into buffer: inout ByteBuffer) {
        event("response.created", into: &buffer) { self.responseMember(into: &$0, status: "in_progress", finished: false) }
        event("response.in_progress", into: &buffer) { self.responseMember(into: &$0, status: "in_progress", finished: false) }
        guard hasMessage else { return }
        event("response.output_item.added", into: &buffer) {
            $0.writeStaticString(",\"output_index\":0,\"item\":")
            self.messageItem(into: &$0, finished: false)
        }
        event("response.content_part.added", into: &buffer) {
            self.partLocation(into: &$0)
            $0.writeStaticString(",\"part\":{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}")
        }
    }

    func token(_ index: Int, into buffer: inout ByteBuffer) {
        event("response.output_text.delta", into: &buffer) {
            self.partLocation(into: &$0)
            $0.writeStaticString(",\"delta\":\"")
            $0.writeFakeToken(index)
            $0.writeInteger(UInt8(ascii: "\""))
        }
    }

    func end(into buffer: inout ByteBuffer) {
        if hasMessage {
            event("response.output_text.done", into: &buffer) {
                self.partLocation(into: &$0)
                $0.writeStaticString(",\"text\":\"")
                $0.writeFakeTokens(upTo: self.tokens)
                $0.writeInteger(UInt8(ascii: "\""))
            }
            event("response.content_part.done", into: &buffer) {
                self.partLocation(into: &$0)
                $0.writeStaticString(",\"part\":")
                self.textPart(into: &$0)
            }
            event("response.output_item.done", into: &buffer) {
                $0.writeStaticString(",\"output_index\":0,\"item\":")
                self.messageItem(into: &$0, finished: true)
            }
        }
        if toolCall {
            let index = hasMessage ? 1 : 0
            event("response.output_item.added", into: &buffer) {
                $0.writeStaticString(",\"output_index\":")
                $0.writeDecimal(index)
                $0.writeStaticString(",\"item\":")
                self.functionCallItem(into: &$0, finished: false)
            }
            for fragment in ["{\\\"city\\\":", "\\\"Paris\\\"}"] {
                event("response.function_call_arguments.delta", into: &buffer) {
                    self.callLocation(into: &$0, index: index)
                    $0.writeStaticString(",\"delta\":\"")
                    $0.writeString(fragment)
                    $0.writeInteger(UInt8(ascii: "\""))
                }
            }
            event("response.function_call_arguments.done", into: &buffer) {
                self.callLocation(into: &$0, index: index)
                $0.writeStaticString(",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"")
            }
            event("response.output_item.done", into: &buffer) {
                $0.writeStaticString(",\"output_index\":")
                $0.writeDecimal(index)
                $0.writeStaticString(",\"item\":")
                self.functionCallItem(into: &$0, finished: true)
            }
        }
        let status = incompleteReason == nil ? "completed" : "incomplete"
        event("response.\(status)", into: &buffer) { self.responseMember(into: &$0, status: status, finished: true) }
    }

    func error(into buffer: inout ByteBuffer) {
        event("response.failed", into: &buffer) { self.responseMember(into: &$0, status: "failed", finished: false) }
    }

    func malformed(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("event: response.output_text.delta\ndata: {\"type\":\n\n")
    }

    /// `event: NAME` and `data: {"type":NAME…}`; `members` writes the rest, each starting
    /// with a comma.
    private func event(_ name: String, into buffer: inout ByteBuffer, members: (inout ByteBuffer) -> Void) {
        buffer.writeStaticString("event: ")
        buffer.writeString(name)
        buffer.writeStaticString("\ndata: {\"type\":")
        buffer.writeJSONString(name)
        members(&buffer)
        buffer.writeStaticString("}\n\n")
    }

    private func responseMember(into buffer: inout ByteBuffer, status: String, finished: Bool) {
        buffer.writeStaticString(",\"response\":")
        response(into: &buffer, status: status, finished: finished)
    }

    /// The `response` object: id, status, error and incomplete details, model, output (only
    /// once finished), usage (only once finished, unless `usage=0`).
    func response(into buffer: inout ByteBuffer, status: String, finished: Bool) {
        buffer.writeStaticString("{\"id\":\"resp_fake")
        buffer.writeDecimal(seq)
        buffer.writeStaticString("\",\"object\":\"response\",\"created_at\":")
        buffer.writeDecimal(createdAt)
        buffer.writeStaticString(",\"status\":")
        buffer.writeJSONString(status)
        buffer.writeStaticString(",\"error\":")
        if status == "failed" {
            buffer.writeStaticString("{\"code\":")
            buffer.writeJSONString(failureCode)
            buffer.writeStaticString(",\"message\":")
            buffer.writeJSONString(failureMessage)
            buffer.writeInteger(UInt8(ascii: "}"))
        } else {
            buffer.writeStaticString("null")
        }
        buffer.writeStaticString(",\"incomplete_details\":")
        if status == "incomplete", let reason = incompleteReason {
            buffer.writeStaticString("{\"reason\":")
            buffer.writeJSONString(reason)
            buffer.writeInteger(UInt8(ascii: "}"))
        } else {
            buffer.writeStaticString("null")
        }
        buffer.writeStaticString(",\"model\":")
        buffer.writeJSONString(model)
        buffer.writeStaticString(",\"output\":[")
        if finished {
            if hasMessage { messageItem(into: &buffer, finished: true) }
            if toolCall {
                if hasMessage { buffer.writeInteger(UInt8(ascii: ",")) }
                functionCallItem(into: &buffer, finished: true)
            }
        }
        buffer.writeStaticString("],\"parallel_tool_calls\":true,\"tool_choice\":\"auto\",\"usage\":")
        if finished && usage {
            let output = tokens + (toolCall ? 5 : 0)
            buffer.writeStaticString("{\"input_tokens\":")
            buffer.writeDecimal(promptTokens)
            buffer.writeStaticString(",\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":")
            buffer.writeDecimal(output)
            buffer.writeStaticString(",\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":")
            buffer.writeDecimal(promptTokens + output)
            buffer.writeInteger(UInt8(ascii: "}"))
        } else {
            buffer.writeStaticString("null")
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    private func partLocation(into buffer: inout ByteBuffer) {
        buffer.writeStaticString(",\"item_id\":\"msg_fake")
        buffer.writeDecimal(seq)
        buffer.writeStaticString("\",\"output_index\":0,\"content_index\":0")
    }

    private func callLocation(into buffer: inout ByteBuffer, index: Int) {
        buffer.writeStaticString(",\"item_id\":\"fc_fake")
        buffer.writeDecimal(seq)
        buffer.writeStaticString("\",\"output_index\":")
        buffer.writeDecimal(index)
    }

    private func textPart(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"type\":\"output_text\",\"text\":\"")
        buffer.writeFakeTokens(upTo: tokens)
        buffer.writeStaticString("\",\"annotations\":[]}")
    }

    private func messageItem(into buffer: inout ByteBuffer, finished: Bool) {
        buffer.writeStaticString("{\"id\":\"msg_fake")
        buffer.writeDecimal(seq)
        buffer.writeStaticString("\",\"type\":\"message\",\"status\":")
        buffer.writeStaticString(finished ? "\"completed\"" : "\"in_progress\"")
        buffer.writeStaticString(",\"role\":\"assistant\",\"content\":[")
        if finished { textPart(into: &buffer) }
        buffer.writeStaticString("]}")
    }

    private func functionCallItem(into buffer: inout ByteBuffer, finished: Bool) {
        buffer.writeStaticString("{\"id\":\"fc_fake")
        buffer.writeDecimal(seq)
        buffer.writeStaticString("\",\"type\":\"function_call\",\"status\":")
        buffer.writeStaticString(finished ? "\"completed\"" : "\"in_progress\"")
        buffer.writeStaticString(",\"call_id\":\"call_fake")
        buffer.writeDecimal(seq)
        buffer.writeStaticString("\",\"name\":\"get_weather\",\"arguments\":\"")
        if finished { buffer.writeStaticString("{\\\"city\\\":\\\"Paris\\\"}") }
        buffer.writeStaticString("\"}")
    }
}
