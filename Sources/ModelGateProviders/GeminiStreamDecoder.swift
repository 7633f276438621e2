import ModelGateCore
import ModelGateJSON

/// Turns the bytes of a Gemini `streamGenerateContent?alt=sse` body into
/// ``ChatStreamEvent``s.
///
/// - Each SSE event (Google separates them with CRLF CRLF) carries one whole
///   `GenerateContentResponse`, read by ``GeminiResponseReader``.
/// - Gemini has no end marker of its own: a stream is complete when the body ends (EOF)
///   after an event with a `finishReason` (or a blocked prompt). EOF before one, or in the
///   middle of an event, is UNAVAILABLE / UPSTREAM_TRUNCATED. Events after the finish reason
///   are still read, since an error may follow it.
/// - A mid-stream error may arrive as a bare, possibly pretty-printed, JSON object outside
///   the SSE framing (`{"error":{"code":499,"status":"CANCELLED",…}}`). Lines the SSE format
///   does not define are gathered from one starting with `{` until its braces balance, then
///   parsed; an error envelope becomes the mapped error, anything else is
///   UPSTREAM_MALFORMED. Other unknown lines are ignored, as SSE says.
package struct GeminiStreamDecoder: ChatStreamDecoding {
    package let provider: String
    private var events: ServerSentEventDecoder
    private var reader: GeminiResponseReader
    /// The bare JSON object being gathered, lines joined with LF.
    private var bare: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaping = false

    /// Gemini streams end at EOF: there is no marker after which to stop reading.
    package var isDone: Bool { false }

    /// Whether a finish reason arrived.
    package var hasFinished: Bool { reader.hasFinished }

    package init(provider: String, maxEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes) {
        self.provider = provider
        self.events = ServerSentEventDecoder(maxEventBytes: maxEventBytes)
        self.reader = GeminiResponseReader(provider: provider)
    }

    /// Decodes the events completed by `bytes`, appending what they mean to `output`.
    /// - Throws: ``GatewayError``: the mapped error for an error object, UPSTREAM_MALFORMED
    ///   for an event that is not a JSON object or an oversized event.
    package mutating func decode(_ bytes: [UInt8], into output: inout [ChatStreamEvent]) throws(GatewayError) {
        events.append(bytes)
        while true {
            let item: ServerSentEventItem?
            do {
                item = try events.nextItem()
            } catch {
                throw OpenAIResponseDecoding.malformed("a stream event larger than \(error.limit) bytes", provider: provider)
            }
            switch item {
            case nil:
                return
            case .event(let event):
                guard bare.isEmpty else {
                    throw OpenAIResponseDecoding.malformed("an event inside a bare JSON object", provider: provider)
                }
                let response = try OpenAIResponseDecoding.parseObject(event.data, what: "stream event", provider: provider)
                try reader.read(response, into: &output)
            case .unknownLine(let line):
                try gatherBareJSON(line)
            }
        }
    }

    /// The body ended.
    /// - Throws: UNAVAILABLE / UPSTREAM_TRUNCATED unless an event with a finish reason
    ///   arrived and nothing was left half received.
    package func finish() throws(GatewayError) {
        let problem: String
        if !bare.isEmpty {
            problem = "in the middle of a bare JSON object"
        } else if events.hasPartialEvent {
            problem = "in the middle of an event"
        } else if !reader.hasFinished {
            problem = "before a chunk with a finish reason"
        } else {
            return
        }
        throw GatewayError.truncatedStream(provider: provider, problem)
    }

    // MARK: Bare JSON

    private mutating func gatherBareJSON(_ line: [UInt8]) throws(GatewayError) {
        if bare.isEmpty {
            guard let first = line.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }),
                first == UInt8(ascii: "{")
            else { return }  // an unknown SSE field: ignored
        } else {
            bare.append(0x0A)
        }
        guard bare.count + line.count <= events.maxEventBytes else {
            throw OpenAIResponseDecoding.malformed(
                "a bare JSON object larger than \(events.maxEventBytes) bytes", provider: provider)
        }
        bare.append(contentsOf: line)
        for byte in line {
            if inString {
                if escaping {
                    escaping = false
                } else if byte == UInt8(ascii: "\\") {
                    escaping = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                depth -= 1
            }
        }
        guard depth <= 0 else { return }
        let object = try OpenAIResponseDecoding.parseObject(bare, what: "bare JSON object", provider: provider)
        guard object["error"].isPresent else {
            throw OpenAIResponseDecoding.malformed("a bare JSON object that is not an error", provider: provider)
        }
        throw UpstreamErrorMapping.streamError(GeminiResponseDecoding.errorBody(object), provider: provider)
    }
}
