/// The behaviour a request asks for: `;`-separated `key=value` items or bare flags, carried in the
/// upstream model name or an `X-Fake-Scenario` header. See docs/fake-upstream.md for the table.
struct Scenario: Sendable, Equatable {
    var tokens = 8
    var firstMilliseconds = 0
    var paceMilliseconds = 0
    var usage = true
    var replay: String?
    var chunkBytes: Int?
    var chunkDelayMilliseconds: Int?
    var status: Int?
    var retryAfter: String?
    var retryAfterMilliseconds: String?
    var errorCode: ErrorField = .unset
    var errorType: String?
    var errorMessage: String?
    var resetAfter: Int?
    var stallHeaders = false
    var stallAfter: Int?
    var malformedAfter: Int?
    var errorEventAfter: Int?
    var noDone = false
    /// With `replay`: serve one part of the file (a named vector of a `.hex` file, a member of a
    /// `.json` file, the request or response body of a `.http` file).
    var part: String?
    /// Bedrock streams and Responses API answers: end with a tool call (`get_weather`).
    var toolCall = false
    /// OpenAI-family answers: the finish reason to report instead of `stop` (Responses API:
    /// the `incomplete_details.reason` of an incomplete response).
    var finishReason: String?

    /// `error_code=null` must be able to force a JSON null, so "unset" and "null" differ.
    enum ErrorField: Sendable, Equatable {
        case unset
        case null
        case value(String)
    }

    /// Why a scenario string was rejected; the message names the offending item.
    struct ParseError: Error, Equatable {
        var message: String
        var code: String
    }

    /// Upper bounds keep a typo from asking for a day-long stall or a terabyte stream.
    private static let maxMilliseconds = 3_600_000
    private static let maxTokens = 50_000_000

    /// Parses `text`. With `allowingModelName`, a string without `;` or `=` that is not a flag
    /// is a plain model name and means the default scenario; an `X-Fake-Scenario` header gets no
    /// such leniency, so a typo there is a 400.
    static func parse(_ text: String, allowingModelName: Bool = true) -> Result<Scenario, ParseError> {
        var scenario = Scenario()
        let utf8 = text.utf8
        // Fast path for plain model names, checked on bytes: this runs on every request.
        if allowingModelName && !utf8.contains(where: { $0 == UInt8(ascii: ";") || $0 == UInt8(ascii: "=") }) {
            let bare = Substring(text).trimmingASCIIWhitespace()
            if !bare.utf8.elementsEqual("stall_headers".utf8) && !bare.utf8.elementsEqual("no_done".utf8)
                && !bare.utf8.elementsEqual("tool_call".utf8)
            {
                return .success(scenario)
            }
        }
        var givenKeys: [Substring] = []
        for rawItem in text.split(separator: ";", omittingEmptySubsequences: true) {
            let item = rawItem.trimmingASCIIWhitespace()
            if item.isEmpty { continue }
            let key: Substring
            let value: String?
            if let equals = item.firstIndex(of: "=") {
                key = item[..<equals].trimmingASCIIWhitespace()
                guard let decoded = percentDecode(item[item.index(after: equals)...].trimmingASCIIWhitespace()) else {
                    return .failure(ParseError(message: "scenario item \"\(item)\" has a bad %-escape", code: "bad_scenario_value"))
                }
                value = decoded
            } else {
                key = item
                value = nil
            }
            if let error = scenario.apply(key: key, value: value) {
                return .failure(error)
            }
            givenKeys.append(key)
        }
        return scenario.validated(givenKeys: givenKeys)
    }

    private mutating func apply(key: Substring, value: String?) -> ParseError? {
        func integer(_ range: ClosedRange<Int>) -> Result<Int, ParseError> {
            guard let value else {
                return .failure(ParseError(message: "scenario key \"\(key)\" needs a value", code: "bad_scenario_value"))
            }
            guard let number = Int(value), range.contains(number) else {
                return .failure(
                    ParseError(
                        message: "scenario key \"\(key)\" wants an integer in \(range.lowerBound)...\(range.upperBound), got \"\(value)\"",
                        code: "bad_scenario_value"))
            }
            return .success(number)
        }
        func text() -> Result<String, ParseError> {
            guard let value else {
                return .failure(ParseError(message: "scenario key \"\(key)\" needs a value", code: "bad_scenario_value"))
            }
            return .success(value)
        }
        func headerText() -> Result<String, ParseError> {
            text().flatMap { value in
                // The value goes into a response header verbatim; CR/LF would split the head.
                value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F })
                    ? .failure(ParseError(message: "scenario key \"\(key)\" has control characters", code: "bad_scenario_value"))
                    : .success(value)
            }
        }
        func flag() -> ParseError? {
            value == nil ? nil : ParseError(message: "scenario flag \"\(key)\" takes no value", code: "bad_scenario_value")
        }

        do {
            switch key {
            case "tokens": self.tokens = try integer(0...Self.maxTokens).get()
            case "first_ms": self.firstMilliseconds = try integer(0...Self.maxMilliseconds).get()
            case "pace_ms": self.paceMilliseconds = try integer(0...Self.maxMilliseconds).get()
            case "usage": self.usage = try integer(0...1).get() == 1
            case "replay": self.replay = try text().get()
            case "chunk": self.chunkBytes = try integer(1...(64 << 20)).get()
            case "chunk_delay_ms": self.chunkDelayMilliseconds = try integer(0...Self.maxMilliseconds).get()
            case "status": self.status = try integer(100...599).get()
            case "retry_after": self.retryAfter = try headerText().get()
            case "retry_after_ms": self.retryAfterMilliseconds = try headerText().get()
            case "error_code":
                let code = try text().get()
                self.errorCode = code == "null" ? .null : .value(code)
            case "error_type": self.errorType = try text().get()
            case "error_message": self.errorMessage = try text().get()
            case "reset_after": self.resetAfter = try integer(0...Self.maxTokens).get()
            case "stall_after": self.stallAfter = try integer(0...Self.maxTokens).get()
            case "malformed_after": self.malformedAfter = try integer(0...Self.maxTokens).get()
            case "error_event_after": self.errorEventAfter = try integer(0...Self.maxTokens).get()
            case "stall_headers":
                if let error = flag() { return error }
                self.stallHeaders = true
            case "no_done":
                if let error = flag() { return error }
                self.noDone = true
            case "part": self.part = try text().get()
            case "tool_call":
                if let error = flag() { return error }
                self.toolCall = true
            case "finish_reason": self.finishReason = try text().get()
            default:
                return ParseError(message: "unknown fake-upstream scenario key \"\(key)\"", code: "unknown_scenario_key")
            }
        } catch {
            return error
        }
        return nil
    }

    /// Rejects combinations that would silently do nothing, so a test never passes by accident.
    private func validated(givenKeys: [Substring]) -> Result<Scenario, ParseError> {
        if self.replay == nil {
            if let key = givenKeys.first(where: { $0 == "chunk" || $0 == "chunk_delay_ms" || $0 == "part" }) {
                return .failure(ParseError(message: "scenario key \"\(key)\" needs \"replay\"", code: "bad_scenario_combination"))
            }
        } else {
            let generatorOnly: Set<Substring> = [
                "tokens", "pace_ms", "usage", "malformed_after", "error_event_after", "no_done", "tool_call",
                "finish_reason",
            ]
            if let key = givenKeys.first(where: { generatorOnly.contains($0) }) {
                return .failure(
                    ParseError(message: "scenario key \"\(key)\" cannot be combined with \"replay\"", code: "bad_scenario_combination"))
            }
        }
        return .success(self)
    }

    /// The error body for a `status=` answer or an `error_event_after` event.
    func openAIError(status: Int) -> OpenAIError {
        var error = OpenAIError.defaults(forStatus: status)
        if let message = self.errorMessage { error.message = message }
        if let type = self.errorType { error.type = type }
        switch self.errorCode {
        case .unset: break
        case .null: error.code = nil
        case .value(let code): error.code = code
        }
        return error
    }
}

extension Substring {
    func trimmingASCIIWhitespace() -> Substring {
        let utf8 = self.utf8
        var start = utf8.startIndex
        var end = utf8.endIndex
        while start < end, utf8[start] == UInt8(ascii: " ") || utf8[start] == UInt8(ascii: "\t") {
            start = utf8.index(after: start)
        }
        while end > start {
            let before = utf8.index(before: end)
            guard utf8[before] == UInt8(ascii: " ") || utf8[before] == UInt8(ascii: "\t") else { break }
            end = before
        }
        return self[start..<end]
    }
}

/// Decodes `%XX` escapes (values may need `;` or spaces); nil on a malformed escape.
func percentDecode<S: StringProtocol>(_ text: S) -> String? {
    guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count)
    var iterator = text.utf8.makeIterator()
    func hexValue(_ byte: UInt8?) -> UInt8? {
        guard let byte else { return nil }
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
    while let byte = iterator.next() {
        if byte == UInt8(ascii: "%") {
            guard let high = hexValue(iterator.next()), let low = hexValue(iterator.next()) else { return nil }
            bytes.append(high << 4 | low)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
