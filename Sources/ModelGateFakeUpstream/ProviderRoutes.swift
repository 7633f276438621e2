import NIOCore

/// The endpoints beyond OpenAI's Chat Completions and Embeddings that the fake generates
/// answers for (a `replay` or any path works regardless). Chosen by path:
/// - Gemini: `…/models/NAME:METHOD` (`generateContent`, `streamGenerateContent`,
///   `embedContent`, `batchEmbedContents`), the scenario being NAME;
/// - Ollama: a path ending in `/api/chat` or `/api/embed`;
/// - Anthropic: a path ending in `/v1/messages`;
/// - Azure OpenAI: a path starting `/openai/` (``AzureRoute``);
/// - OpenAI's Responses API: a path ending in `/responses`;
/// - Cohere v2: a path ending in `/v2/chat` or `/v2/embed`.
enum ProviderRoute: Equatable {
    case gemini(method: Substring, sse: Bool)
    case ollamaChat
    case ollamaEmbed
    case anthropicMessages
    case azure(AzureRoute)
    case responses
    case cohereChat
    case cohereEmbed

    /// - Parameters:
    ///   - path: the request target without its query.
    ///   - uri: the whole request target, for Gemini's `alt=sse`.
    init?(path: Substring, uri: String) {
        if path.utf8HasSuffix("/api/chat") {
            self = .ollamaChat
        } else if path.utf8HasSuffix("/api/embed") {
            self = .ollamaEmbed
        } else if path.utf8HasSuffix("/v1/messages") {
            self = .anthropicMessages
        } else if let azure = AzureRoute(path: path) {
            self = .azure(azure)
        } else if path.utf8HasSuffix("/responses") {
            self = .responses
        } else if path.utf8HasSuffix("/v2/chat") {
            self = .cohereChat
        } else if path.utf8HasSuffix("/v2/embed") {
            self = .cohereEmbed
        } else if let models = path.firstRange(of: "/models/"), let colon = path[models.upperBound...].lastIndex(of: ":") {
            let query = uri.firstIndex(of: "?").map { uri[uri.index(after: $0)...] } ?? ""
            self = .gemini(method: path[path.index(after: colon)...], sse: query.split(separator: "&").contains("alt=sse"))
        } else {
            return nil
        }
    }

    /// The scenario the path names (Gemini's model, Azure's deployment), if it names one: it
    /// wins over the body's `model`.
    func scenario(fromPath path: Substring) -> String? {
        switch self {
        case .gemini: ServerCore.modelFromPath(path)
        case .azure(let route): route.deployment
        default: nil
        }
    }

    /// Whether the request asks for a stream, for the event log.
    func streams(_ fields: RequestFields) -> Bool {
        switch self {
        case .gemini(let method, _): method == "streamGenerateContent"
        case .ollamaChat: fields.streamGiven ? fields.stream : true
        case .ollamaEmbed, .cohereEmbed: false
        case .anthropicMessages, .azure, .responses, .cohereChat: fields.stream
        }
    }
}

/// What ``ServerCore/plan(head:path:body:keepAlive:streamFraming:allocator:)`` has worked
/// out when a ``ProviderRoute`` takes over.
struct RouteContext {
    var seq: Int
    var method: String
    var path: Substring
    var baseHead: ResponseHead
    /// The unary defaults: a `reset_after` resets before the head.
    var preamble: Preamble
    var scenario: Scenario
    var scan: Result<RequestFields, JSONScanError>
    var streamFraming: BodyFraming
    var allocator: ByteBufferAllocator

    var fields: RequestFields { (try? scan.get()) ?? RequestFields() }

    /// A complete answer with `status` and `body`, held after its head for `stall_after`.
    func fixed(status: Int, contentType: String = "application/json", body: ByteBuffer, outcome: FakeUpstreamOutcome = .completed)
        -> PlannedResponse
    {
        var head = baseHead
        head.status = status
        head.contentType = contentType
        return PlannedResponse(
            seq: seq,
            producer: FixedResponse(
                head: head, body: body, stallAfterHead: scenario.stallAfter != nil && outcome == .completed,
                finalOutcome: outcome),
            preamble: outcome == .completed ? preamble : Preamble())
    }

    /// A 200 built in full, arriving when its last token would have; `malformed_after` swaps
    /// in broken JSON.
    func unary(tokens: Int = 0, _ body: () -> ByteBuffer) -> PlannedResponse {
        var answer = fixed(
            status: 200, body: scenario.malformedAfter != nil ? ServerCore.malformedBody(allocator: allocator) : body())
        answer.preamble.headerDelayMilliseconds = scenario.firstMilliseconds + scenario.paceMilliseconds * max(tokens - 1, 0)
        return answer
    }

    /// A generated stream in `format`.
    func stream<Format: StreamFormat>(_ format: Format, contentType: String) -> PlannedResponse {
        var head = baseHead
        head.status = 200
        head.contentType = contentType
        head.framing = streamFraming
        var closes = false
        if case .closeDelimited = streamFraming {
            head.close = true
            closes = true
        }
        var streamPreamble = preamble
        streamPreamble.resetBeforeHeaders = scenario.resetAfter == 0
        let faults = StreamFaults(
            resetAfter: scenario.resetAfter, stallAfter: scenario.stallAfter, malformedAfter: scenario.malformedAfter,
            errorEventAfter: scenario.errorEventAfter, noDone: scenario.noDone)
        return PlannedResponse(
            seq: seq,
            producer: FormattedStreamProducer(
                head: head, format: format, tokens: scenario.tokens, paceMilliseconds: scenario.paceMilliseconds,
                faults: faults),
            preamble: streamPreamble, closesConnection: closes)
    }
}

extension ServerCore {
    /// Plans the answer of one of the endpoints above.
    func plan(_ route: ProviderRoute, _ context: RouteContext) -> PlannedResponse {
        switch route {
        case .gemini(let method, let sse):
            return GeminiWire.plan(method: method, sse: sse, context)
        case .ollamaChat, .ollamaEmbed:
            return OllamaWire.plan(embed: route == .ollamaEmbed, context)
        case .anthropicMessages:
            return AnthropicWire.plan(context)
        case .azure(let azure):
            return azure.operation == .responses
                ? ResponsesWire.plan(context, azure: true) : AzureWire.plan(azure, context)
        case .responses:
            return ResponsesWire.plan(context, azure: false)
        case .cohereChat, .cohereEmbed:
            return CohereWire.plan(embed: route == .cohereEmbed, context)
        }
    }
}

/// Timestamps as RFC 3339 text (`2025-10-26T17:15:24.097Z`), without Foundation.
enum RFC3339 {
    static func format(millisecondsSinceEpoch milliseconds: Int64) -> String {
        let seconds = milliseconds / 1000
        var days = seconds / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millisecond = milliseconds % 1000
        let fraction = millisecond < 10 ? "00\(millisecond)" : millisecond < 100 ? "0\(millisecond)" : "\(millisecond)"
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)).\(fraction)Z"
    }
}

extension ByteBuffer {
    /// Token `index` of a generated answer, `tok{index} ` (JSON-safe as it is).
    mutating func writeFakeToken(_ index: Int) {
        self.writeStaticString("tok")
        self.writeDecimal(index)
        self.writeInteger(UInt8(ascii: " "))
    }

    /// The fake embedding of input `input` (0-based) as a JSON array: element `j` is
    /// `(input + 1) * 0.001 * (j + 1)`, written as the exact decimal.
    mutating func writeFakeEmbedding(input: Int, dimensions: Int) {
        self.writeInteger(UInt8(ascii: "["))
        for element in 0..<dimensions {
            if element > 0 { self.writeInteger(UInt8(ascii: ",")) }
            self.writeThousandths((input + 1) * (element + 1))
        }
        self.writeInteger(UInt8(ascii: "]"))
    }

    /// Tokens 1…`count`: the whole text of a unary answer.
    mutating func writeFakeTokens(upTo count: Int) {
        if count > 0 {
            for index in 1...count { self.writeFakeToken(index) }
        }
    }
}
