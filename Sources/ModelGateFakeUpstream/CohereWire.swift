import NIOCore

/// Cohere's v2 API as the fake speaks it (docs/fake-upstream.md, "Cohere v2").
enum CohereWire {
    /// The `finish_reason`s Cohere ends a failed generation with; `error_type` picks one for
    /// `error_event_after`.
    static let failureReasons: Set<String> = ["ERROR", "TIMEOUT"]

    static func plan(embed: Bool, _ context: RouteContext) -> PlannedResponse {
        let scenario = context.scenario
        let allocator = context.allocator
        let fields = context.fields
        let model = fields.model ?? "command-fake"
        let id = "fake-\(context.seq)"
        func cohereError(_ status: Int, _ message: String, outcome: FakeUpstreamOutcome = .error) -> PlannedResponse {
            context.fixed(status: status, body: errorBody(id: id, message: message, allocator: allocator), outcome: outcome)
        }

        guard context.method == "POST" else {
            return cohereError(405, "method not allowed")
        }
        if case .failure(let error) = context.scan {
            return cohereError(400, "invalid request: invalid json body: \(error.message)")
        }
        // Cohere's errors are `{"id", "message"}`: there is no code to fill, and a type only
        // names the finish reason of an in-stream failure.
        if scenario.errorCode != .unset || scenario.errorType.map({ !failureReasons.contains($0) }) == true {
            return cohereError(400, "the fake upstream's Cohere errors take error_message, and error_type ERROR or TIMEOUT")
        }
        if let status = scenario.status {
            return cohereError(status, scenario.errorMessage ?? defaultMessage(status, model: model), outcome: .completed)
        }
        if embed {
            guard let inputs = fields.inputs, !inputs.isEmpty else {
                return cohereError(400, "invalid request: texts must be a non-empty list of strings")
            }
            let dimensions = fields.dimensions ?? 8
            guard inputs.count <= ServerCore.maxEmbeddingInputs, (1...ServerCore.maxEmbeddingDimensions).contains(dimensions)
            else {
                return cohereError(
                    400,
                    "invalid request: the fake upstream answers at most \(ServerCore.maxEmbeddingInputs) texts of 1...\(ServerCore.maxEmbeddingDimensions) dimensions"
                )
            }
            return context.unary { embedBody(id: id, inputs: inputs, dimensions: dimensions, allocator: allocator) }
        }
        let format = CohereStreamFormat(
            id: id, promptTokens: fields.promptWords, tokens: scenario.tokens, usage: scenario.usage,
            failureReason: scenario.errorType ?? "ERROR",
            failureMessage: scenario.errorMessage ?? "internal server error, this has been reported to our developers")
        if fields.stream {
            return context.stream(format, contentType: "text/event-stream")
        }
        guard scenario.tokens <= ServerCore.maxUnaryTokens else {
            return cohereError(400, "invalid request: unary answers are limited to \(ServerCore.maxUnaryTokens) tokens; stream bigger ones")
        }
        return context.unary(tokens: scenario.tokens) { format.unaryBody(allocator: allocator) }
    }

    /// What Cohere says for `status` (the fake's paraphrase of its usual messages).
    static func defaultMessage(_ status: Int, model: String) -> String {
        switch status {
        case 400: "invalid request: message must be at least 1 token long or tool results must be specified."
        case 401: "no api key supplied"
        case 403: "Forbidden"
        case 404: "model '\(model)' not found, make sure the correct model ID was used and that you have access to the model."
        case 422: "unprocessable entity"
        case 429: "You are past the per minute request limit, please wait and try again later."
        case 498: "invalid api token"
        case 499: "request cancelled"
        case 501: "not implemented"
        case 503: "service unavailable"
        case 504: "gateway timeout"
        default: "internal server error, this has been reported to our developers"
        }
    }

    static func errorBody(id: String, message: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 32 + id.utf8.count + message.utf8.count)
        buffer.writeStaticString("{\"id\":")
        buffer.writeJSONString(id)
        buffer.writeStaticString(",\"message\":")
        buffer.writeJSONString(message)
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }

    /// `{"id", "embeddings": {"float": [[…], …]}, "meta": {"api_version", "billed_units":
    /// {"input_tokens"}}}`; element `j` of input `i` is `(i + 1) * 0.001 * (j + 1)`, as for
    /// OpenAI embeddings, and the billed input tokens are the inputs' words.
    static func embedBody(id: String, inputs: [Int], dimensions: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 160 + inputs.count * (8 + dimensions * 8))
        buffer.writeStaticString("{\"id\":")
        buffer.writeJSONString(id)
        buffer.writeStaticString(",\"embeddings\":{\"float\":[")
        for input in inputs.indices {
            if input > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeFakeEmbedding(input: input, dimensions: dimensions)
        }
        buffer.writeStaticString("]},\"meta\":{\"api_version\":{\"version\":\"2\"},\"billed_units\":{\"input_tokens\":")
        buffer.writeDecimal(inputs.reduce(0, +))
        buffer.writeStaticString("}}}")
        return buffer
    }
}

/// A `/v2/chat` stream as Cohere sends it: `event: TYPE` / `data: {"type": TYPE, …}` events,
/// `message-start` and `content-start` before the first token, one `content-delta` per
/// token, then `content-end` and `message-end` (`COMPLETE`, usage). The model's own token
/// counts (`tokens`) exceed the billed ones (`billed_units`) by the 10 input tokens of the
/// chat template Cohere adds, as in its published examples. A mid-stream failure is a
/// `message-end` with finish reason `ERROR` (or `TIMEOUT`) and an `error` message.
struct CohereStreamFormat: StreamFormat {
    /// Input tokens Cohere adds and does not bill (the template around the prompt).
    static let templateTokens = 10

    var id: String
    var promptTokens: Int
    var tokens: Int
    /// `usage=0` leaves `usage` out of `message-end`.
    var usage: Bool
    var failureReason: String
    var failureMessage: String

    func token(_ index: Int, into buffer: inout ByteBuffer) {
        if index == 1 { self.start(into: &buffer) }
        buffer.writeStaticString(
            "event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"")
        buffer.writeFakeToken(index)
        buffer.writeStaticString("\"}}}}\n\n")
    }

    func end(into buffer: inout ByteBuffer) {
        if self.tokens == 0 { self.start(into: &buffer) }
        buffer.writeStaticString("event: content-end\ndata: {\"type\":\"content-end\",\"index\":0}\n\n")
        self.messageEnd(into: &buffer, reason: "COMPLETE", error: nil)
    }

    func error(into buffer: inout ByteBuffer) {
        self.messageEnd(into: &buffer, reason: self.failureReason, error: self.failureMessage)
    }

    func malformed(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\n\n")
    }

    /// The `"stream": false` answer: all the text in one content part, finish reason, usage.
    func unaryBody(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 384 + self.tokens * 8)
        buffer.writeStaticString("{\"id\":")
        buffer.writeJSONString(self.id)
        buffer.writeStaticString(",\"message\":{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"")
        buffer.writeFakeTokens(upTo: self.tokens)
        buffer.writeStaticString("\"}]},\"finish_reason\":\"COMPLETE\"")
        if self.usage {
            buffer.writeStaticString(",\"usage\":")
            self.writeUsage(into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }

    private func start(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("event: message-start\ndata: {\"id\":")
        buffer.writeJSONString(self.id)
        buffer.writeStaticString(
            ",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[],\"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}}\n\n"
        )
        buffer.writeStaticString(
            "event: content-start\ndata: {\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}\n\n"
        )
    }

    private func messageEnd(into buffer: inout ByteBuffer, reason: String, error: String?) {
        buffer.writeStaticString("event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{")
        if let error {
            buffer.writeStaticString("\"error\":")
            buffer.writeJSONString(error)
            buffer.writeInteger(UInt8(ascii: ","))
        }
        buffer.writeStaticString("\"finish_reason\":")
        buffer.writeJSONString(reason)
        if self.usage {
            buffer.writeStaticString(",\"usage\":")
            self.writeUsage(into: &buffer)
        }
        buffer.writeStaticString("}}\n\n")
    }

    private func writeUsage(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"billed_units\":{\"input_tokens\":")
        buffer.writeDecimal(self.promptTokens)
        buffer.writeStaticString(",\"output_tokens\":")
        buffer.writeDecimal(self.tokens)
        buffer.writeStaticString("},\"tokens\":{\"input_tokens\":")
        buffer.writeDecimal(self.promptTokens + Self.templateTokens)
        buffer.writeStaticString(",\"output_tokens\":")
        buffer.writeDecimal(self.tokens)
        buffer.writeStaticString("}}")
    }
}
