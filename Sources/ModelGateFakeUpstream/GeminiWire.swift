import NIOCore

/// The Gemini API as the fake speaks it (docs/fake-upstream.md, "Gemini").
enum GeminiWire {
    static func plan(method: Substring, sse: Bool, _ context: RouteContext) -> PlannedResponse {
        var context = context
        // Google names the retry delay in the error body (RetryInfo), not in a header.
        let retryDelay = context.baseHead.retryAfter
        context.baseHead.retryAfter = nil
        let scenario = context.scenario
        let allocator = context.allocator
        func googleError(_ status: Int, _ message: String? = nil, outcome: FakeUpstreamOutcome = .error) -> PlannedResponse {
            var error = GoogleError(status: status)
            if let message { error.message = message }
            return context.fixed(status: status, body: error.body(allocator: allocator), outcome: outcome)
        }

        let streaming = method == "streamGenerateContent"
        let embedding = method == "embedContent" || method == "batchEmbedContents"
        guard streaming || embedding || method == "generateContent" else {
            return googleError(404, "Method \(method) is not served by the fake upstream.")
        }
        if case .failure(let error) = context.scan {
            return googleError(400, "Invalid JSON payload received. \(error.message)")
        }
        if streaming && !sse {
            return googleError(400, "The fake upstream streams only with alt=sse (Server-Sent Events).")
        }
        if let status = scenario.status {
            var error = GoogleError(status: status)
            error.apply(scenario, retryDelay: retryDelay)
            return context.fixed(status: status, body: error.body(allocator: allocator))
        }
        let fields = context.fields
        let model = ServerCore.modelFromPath(context.path) ?? "gemini-fake"
        if embedding {
            let inputs = fields.inputs ?? []
            let dimensions = fields.dimensions ?? 8
            guard !inputs.isEmpty, method == "batchEmbedContents" || inputs.count == 1 else {
                return googleError(400, "* EmbedContentRequest.content: contents must not be empty")
            }
            guard inputs.count <= ServerCore.maxEmbeddingInputs, (1...ServerCore.maxEmbeddingDimensions).contains(dimensions)
            else {
                return googleError(
                    400,
                    "The fake upstream answers at most \(ServerCore.maxEmbeddingInputs) inputs of 1...\(ServerCore.maxEmbeddingDimensions) dimensions."
                )
            }
            return context.unary {
                embeddingsBody(batch: method == "batchEmbedContents", count: inputs.count, dimensions: dimensions, allocator: allocator)
            }
        }
        var format = GeminiStreamFormat(
            model: model, responseID: "fake-\(context.seq)", promptTokens: fields.promptWords, tokens: scenario.tokens,
            usage: scenario.usage)
        format.error.apply(scenario, retryDelay: retryDelay)
        if streaming {
            return context.stream(format, contentType: "text/event-stream")
        }
        guard scenario.tokens <= ServerCore.maxUnaryTokens else {
            return googleError(400, "Unary answers are limited to \(ServerCore.maxUnaryTokens) tokens; stream bigger ones.")
        }
        return context.unary(tokens: scenario.tokens) { format.unaryBody(allocator: allocator) }
    }

    /// Element `j` of input `i` is `(i + 1) * 0.001 * (j + 1)`, as for OpenAI embeddings.
    static func embeddingsBody(batch: Bool, count: Int, dimensions: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64 + count * (32 + dimensions * 8))
        buffer.writeStaticString(batch ? "{\n  \"embeddings\": [" : "{\n  \"embedding\":")
        for input in 0..<count {
            if input > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeStaticString(" {\"values\": [")
            for element in 0..<dimensions {
                if element > 0 { buffer.writeStaticString(", ") }
                buffer.writeThousandths((input + 1) * (element + 1))
            }
            buffer.writeStaticString("]}")
        }
        buffer.writeStaticString(batch ? "]\n}\n" : "\n}\n")
        return buffer
    }
}

/// Google's error envelope, pretty-printed as Google sends it:
/// `{"error": {"code", "message", "status", "details"?}}`.
struct GoogleError {
    var code: Int
    var message: String
    var status: String
    /// An `ErrorInfo` detail's reason (`error_code=`).
    var reason: String?
    /// A `RetryInfo` detail's delay in seconds (`retry_after=`).
    var retryDelay: String?

    /// Google's status name and usual message for an HTTP status.
    init(status code: Int) {
        self.code = code
        self.reason = nil
        self.retryDelay = nil
        switch code {
        case 400: (self.status, self.message) = ("INVALID_ARGUMENT", "Request contains an invalid argument.")
        case 401:
            (self.status, self.message) = (
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."
            )
        case 403: (self.status, self.message) = ("PERMISSION_DENIED", "The caller does not have permission")
        case 404: (self.status, self.message) = ("NOT_FOUND", "Requested entity was not found.")
        case 409: (self.status, self.message) = ("ABORTED", "The operation was aborted.")
        case 429: (self.status, self.message) = ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
        case 499: (self.status, self.message) = ("CANCELLED", "The operation was cancelled.")
        case 503: (self.status, self.message) = ("UNAVAILABLE", "The model is overloaded. Please try again later.")
        case 504: (self.status, self.message) = ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete.")
        case 500...599:
            (self.status, self.message) = (
                "INTERNAL",
                "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
            )
        default: (self.status, self.message) = ("FAILED_PRECONDITION", "Request failed with status \(code).")
        }
    }

    /// The scenario's `error_message`, `error_type` (the status name) and `error_code` (an
    /// `ErrorInfo` reason; `null` for none), and the retry delay.
    mutating func apply(_ scenario: Scenario, retryDelay: String?) {
        if let message = scenario.errorMessage { self.message = message }
        if let type = scenario.errorType { self.status = type }
        if case .value(let reason) = scenario.errorCode { self.reason = reason }
        self.retryDelay = retryDelay
    }

    func write(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\n  \"error\": {\n    \"code\": ")
        buffer.writeDecimal(self.code)
        buffer.writeStaticString(",\n    \"message\": ")
        buffer.writeJSONString(self.message)
        buffer.writeStaticString(",\n    \"status\": ")
        buffer.writeJSONString(self.status)
        if self.reason != nil || self.retryDelay != nil {
            buffer.writeStaticString(",\n    \"details\": [")
            if let reason = self.reason {
                buffer.writeStaticString("\n      {\n        \"@type\": \"type.googleapis.com/google.rpc.ErrorInfo\",\n        \"reason\": ")
                buffer.writeJSONString(reason)
                buffer.writeStaticString(",\n        \"domain\": \"googleapis.com\"\n      }")
            }
            if let delay = self.retryDelay {
                if self.reason != nil { buffer.writeInteger(UInt8(ascii: ",")) }
                buffer.writeStaticString("\n      {\n        \"@type\": \"type.googleapis.com/google.rpc.RetryInfo\",\n        \"retryDelay\": ")
                buffer.writeJSONString(delay + "s")
                buffer.writeStaticString("\n      }")
            }
            buffer.writeStaticString("\n    ]")
        }
        buffer.writeStaticString("\n  }\n}\n")
    }

    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 192 + self.message.utf8.count)
        self.write(into: &buffer)
        return buffer
    }
}

/// A `streamGenerateContent?alt=sse` body as Google sends it: one `data:` event per
/// `GenerateContentResponse`, events separated by CRLF CRLF, `usageMetadata` on every
/// event (cumulative: `candidatesTokenCount` only on the last), and a last event whose
/// candidate has `"finishReason": "STOP"` and empty text. No `[DONE]`: the body just ends.
/// A mid-stream error is Google's error envelope, pretty-printed, outside the SSE framing.
struct GeminiStreamFormat: StreamFormat {
    var model: String
    var responseID: String
    var promptTokens: Int
    var tokens: Int
    /// `usage=0` leaves `usageMetadata` out.
    var usage: Bool
    var error = GoogleError(status: 500)

    func token(_ index: Int, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: ")
        self.response(into: &buffer, finished: false) { $0.writeFakeToken(index) }
        buffer.writeStaticString("\r\n\r\n")
    }

    func end(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: ")
        self.response(into: &buffer, finished: true) { _ in }
        buffer.writeStaticString("\r\n\r\n")
    }

    func error(into buffer: inout ByteBuffer) {
        self.error.write(into: &buffer)
    }

    func malformed(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: {\"candidates\": [\r\n\r\n")
    }

    /// The whole answer in one `GenerateContentResponse` (pretty-printing aside, Google's
    /// unary answers have the same fields).
    func unaryBody(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 512 + self.tokens * 8)
        self.response(into: &buffer, finished: true) { $0.writeFakeTokens(upTo: self.tokens) }
        buffer.writeInteger(UInt8(ascii: "\n"))
        return buffer
    }

    private func response(into buffer: inout ByteBuffer, finished: Bool, text: (inout ByteBuffer) -> Void) {
        buffer.writeStaticString("{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"")
        text(&buffer)
        buffer.writeStaticString("\"}],\"role\": \"model\"}")
        if finished {
            buffer.writeStaticString(",\"finishReason\": \"STOP\"")
        }
        buffer.writeStaticString(",\"index\": 0}]")
        if self.usage {
            buffer.writeStaticString(",\"usageMetadata\": {\"promptTokenCount\": ")
            buffer.writeDecimal(self.promptTokens)
            if finished {
                buffer.writeStaticString(",\"candidatesTokenCount\": ")
                buffer.writeDecimal(self.tokens)
            }
            buffer.writeStaticString(",\"totalTokenCount\": ")
            buffer.writeDecimal(self.promptTokens + (finished ? self.tokens : 0))
            buffer.writeStaticString(",\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": ")
            buffer.writeDecimal(self.promptTokens)
            buffer.writeStaticString("}]}")
        }
        buffer.writeStaticString(",\"modelVersion\": ")
        buffer.writeJSONString(self.model)
        buffer.writeStaticString(",\"responseId\": ")
        buffer.writeJSONString(self.responseID)
        buffer.writeInteger(UInt8(ascii: "}"))
    }
}
