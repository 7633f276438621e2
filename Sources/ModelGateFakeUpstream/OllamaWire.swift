import NIOCore

/// Ollama's native API as the fake speaks it (docs/fake-upstream.md, "Ollama").
enum OllamaWire {
    static func plan(embed: Bool, _ context: RouteContext) -> PlannedResponse {
        let scenario = context.scenario
        let allocator = context.allocator
        let fields = context.fields
        let model = fields.model ?? "fake-model"
        func ollamaError(_ status: Int, _ message: String, outcome: FakeUpstreamOutcome = .error) -> PlannedResponse {
            context.fixed(status: status, body: errorBody(message, allocator: allocator), outcome: outcome)
        }

        guard context.method == "POST" else {
            return ollamaError(405, "method not allowed")
        }
        if case .failure(let error) = context.scan {
            return ollamaError(400, "invalid character in request body: \(error.message)")
        }
        // Ollama's errors are bare strings: there is no type or code to fill.
        if scenario.errorType != nil || scenario.errorCode != .unset {
            return ollamaError(400, "the fake upstream's Ollama errors take only error_message")
        }
        if let status = scenario.status {
            return ollamaError(status, scenario.errorMessage ?? defaultMessage(status, model: model), outcome: .completed)
        }
        if embed {
            guard let inputs = fields.inputs, !inputs.isEmpty else {
                return ollamaError(400, "input is required")
            }
            let dimensions = fields.dimensions ?? 8
            guard inputs.count <= ServerCore.maxEmbeddingInputs, (1...ServerCore.maxEmbeddingDimensions).contains(dimensions)
            else {
                return ollamaError(
                    400,
                    "the fake upstream answers at most \(ServerCore.maxEmbeddingInputs) inputs of 1...\(ServerCore.maxEmbeddingDimensions) dimensions"
                )
            }
            return context.unary { embedBody(model: model, inputs: inputs, dimensions: dimensions, allocator: allocator) }
        }
        let format = OllamaStreamFormat(
            model: model, createdAt: RFC3339.format(millisecondsSinceEpoch: WallClock.nowMilliseconds()),
            promptTokens: fields.promptWords, tokens: scenario.tokens, usage: scenario.usage,
            errorMessage: scenario.errorMessage ?? defaultMessage(500, model: model))
        // Ollama streams unless the body says `"stream": false`.
        if !fields.streamGiven || fields.stream {
            return context.stream(format, contentType: "application/x-ndjson")
        }
        guard scenario.tokens <= ServerCore.maxUnaryTokens else {
            return ollamaError(400, "unary answers are limited to \(ServerCore.maxUnaryTokens) tokens; stream bigger ones")
        }
        return context.unary(tokens: scenario.tokens) { format.unaryBody(allocator: allocator) }
    }

    /// What Ollama says for `status`.
    static func defaultMessage(_ status: Int, model: String) -> String {
        switch status {
        case 400: "invalid request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "model \"\(model)\" not found, try pulling it first"
        case 429: "too many requests"
        case 503: "server busy, please try again.  maximum pending requests exceeded"
        default: "an error was encountered while running the model"
        }
    }

    static func errorBody(_ message: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 16 + message.utf8.count)
        buffer.writeStaticString("{\"error\":")
        buffer.writeJSONString(message)
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }

    /// Element `j` of input `i` is `(i + 1) * 0.001 * (j + 1)`, as for OpenAI embeddings.
    static func embedBody(model: String, inputs: [Int], dimensions: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 128 + inputs.count * (8 + dimensions * 8))
        buffer.writeStaticString("{\"model\":")
        buffer.writeJSONString(model)
        buffer.writeStaticString(",\"embeddings\":[")
        for input in inputs.indices {
            if input > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeFakeEmbedding(input: input, dimensions: dimensions)
        }
        let words = inputs.reduce(0, +)
        buffer.writeStaticString("],\"total_duration\":")
        buffer.writeDecimal(1_000_000 + words * 100_000)
        buffer.writeStaticString(",\"load_duration\":1000000,\"prompt_eval_count\":")
        buffer.writeDecimal(words)
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }
}

/// An `/api/chat` NDJSON stream as Ollama sends it: one object per `\n`-terminated line,
/// `"done": false` with `message.content` per token, then a `"done": true` line with
/// `done_reason`, the durations (nanoseconds) and `prompt_eval_count`/`eval_count`. A
/// mid-stream error is an `{"error": "…"}` line.
struct OllamaStreamFormat: StreamFormat {
    var model: String
    var createdAt: String
    var promptTokens: Int
    var tokens: Int
    /// `usage=0` leaves the counts and durations out of the done line.
    var usage: Bool
    var errorMessage: String

    func token(_ index: Int, into buffer: inout ByteBuffer) {
        self.object(into: &buffer, done: false) { $0.writeFakeToken(index) }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    func end(into buffer: inout ByteBuffer) {
        self.object(into: &buffer, done: true) { _ in }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    func error(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"error\":")
        buffer.writeJSONString(self.errorMessage)
        buffer.writeStaticString("}\n")
    }

    func malformed(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"model\":\n")
    }

    /// The `"stream": false` answer: one object with all the text and the done fields.
    func unaryBody(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 384 + self.tokens * 8)
        self.object(into: &buffer, done: true) { $0.writeFakeTokens(upTo: self.tokens) }
        return buffer
    }

    private func object(into buffer: inout ByteBuffer, done: Bool, content: (inout ByteBuffer) -> Void) {
        buffer.writeStaticString("{\"model\":")
        buffer.writeJSONString(self.model)
        buffer.writeStaticString(",\"created_at\":")
        buffer.writeJSONString(self.createdAt)
        buffer.writeStaticString(",\"message\":{\"role\":\"assistant\",\"content\":\"")
        content(&buffer)
        buffer.writeStaticString("\"},")
        guard done else {
            buffer.writeStaticString("\"done\":false}")
            return
        }
        buffer.writeStaticString("\"done_reason\":\"stop\",\"done\":true")
        if self.usage {
            // Plausible durations in nanoseconds: 1 ms to load, 0.1 ms per prompt token,
            // 10 ms per generated token.
            let promptDuration = self.promptTokens * 100_000
            let evalDuration = self.tokens * 10_000_000
            buffer.writeStaticString(",\"total_duration\":")
            buffer.writeDecimal(1_000_000 + promptDuration + evalDuration)
            buffer.writeStaticString(",\"load_duration\":1000000,\"prompt_eval_count\":")
            buffer.writeDecimal(self.promptTokens)
            buffer.writeStaticString(",\"prompt_eval_duration\":")
            buffer.writeDecimal(promptDuration)
            buffer.writeStaticString(",\"eval_count\":")
            buffer.writeDecimal(self.tokens)
            buffer.writeStaticString(",\"eval_duration\":")
            buffer.writeDecimal(evalDuration)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }
}
