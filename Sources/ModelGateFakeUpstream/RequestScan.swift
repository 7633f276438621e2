import NIOCore

/// The few request-body fields the fake upstream acts on.
struct RequestFields: Sendable, Equatable {
    var model: String?
    var stream = false
    /// Whether the body has a `stream` member at all (Ollama streams unless told not to).
    var streamGiven = false
    var includeUsage = false
    /// Words in the chat messages' text (`content` strings and `text` parts): the prompt token count.
    var promptWords = 0
    /// Embeddings: one entry per input, its word count (strings) or token count (token arrays).
    var inputs: [Int]?
    var dimensions: Int?
    var base64Encoding = false
    /// Bedrock Titan embeddings: words in `inputText`.
    var inputTextWords: Int?
    /// `max_tokens`, which Anthropic requires.
    var maxTokens: Int?
    /// Words in a top-level `system` (Anthropic's system prompt: a string or text blocks).
    /// Kept apart from `promptWords` so other providers' counts do not change.
    var systemWords = 0
}

struct JSONScanError: Error, Equatable {
    var message: String
}

/// A one-pass scanner over a JSON request body that extracts `RequestFields` and skips
/// everything else without allocating. It replaces JSONSerialization on the hot path: no
/// Foundation objects, no bridging, and it never recurses on input nesting (deep nesting is
/// skipped with a counter), so hostile bodies cannot blow the stack.
struct RequestScanner {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Scans `body`. An empty body yields the defaults.
    static func scan(_ body: ByteBuffer) -> Result<RequestFields, JSONScanError> {
        body.withUnsafeReadableBytes { raw in
            var scanner = RequestScanner(bytes: raw)
            do {
                return .success(try scanner.scanTopLevel())
            } catch let error as JSONScanError {
                return .failure(error)
            } catch {
                return .failure(JSONScanError(message: "\(error)"))
            }
        }
    }

    private mutating func scanTopLevel() throws -> RequestFields {
        var fields = RequestFields()
        self.skipWhitespace()
        if self.index == self.bytes.count {
            return fields
        }
        try self.forEachMember { scanner, key in
            switch key {
            case "model":
                if let string = try scanner.stringValueOrSkip() { fields.model = string }
            case "stream":
                fields.streamGiven = true
                if let flag = try scanner.boolValueOrSkip() { fields.stream = flag }
            case "stream_options":
                try scanner.objectOrSkip { scanner, key in
                    if key == "include_usage", let flag = try scanner.boolValueOrSkip() {
                        fields.includeUsage = flag
                    } else {
                        try scanner.skipValue()
                    }
                }
            case "messages":
                fields.promptWords += try scanner.countMessageWords()
            case "system":  // Anthropic: a string or text blocks
                fields.systemWords = try scanner.countContentWords()
            case "max_tokens":
                fields.maxTokens = try scanner.integerValueOrSkip()
            case "input", "texts":  // Cohere's /v2/embed says `texts`
                if scanner.isArrayOfObjects() {  // Responses API input items
                    fields.promptWords += try scanner.countMessageWords()
                } else {
                    fields.inputs = try scanner.scanEmbeddingInput()
                }
            case "instructions":  // Responses API
                if scanner.peek() == UInt8(ascii: "\"") {
                    fields.promptWords += try scanner.stringWords()
                } else {
                    try scanner.skipValue()
                }
            case "dimensions", "output_dimension":  // Cohere: `output_dimension`
                fields.dimensions = try scanner.integerValueOrSkip()
            case "encoding_format":
                fields.base64Encoding = try scanner.stringValueOrSkip() == "base64"
            case "contents":  // Gemini generateContent
                fields.promptWords += try scanner.countGeminiContentsWords()
            case "systemInstruction":  // Gemini
                fields.promptWords += try scanner.countGeminiPartsWords()
            case "content":  // Gemini embedContent: one input
                fields.inputs = [try scanner.countGeminiPartsWords()]
            case "requests":  // Gemini batchEmbedContents: one input per request
                fields.inputs = try scanner.scanGeminiEmbedRequests(dimensions: &fields.dimensions)
            case "outputDimensionality":  // Gemini embedContent
                fields.dimensions = try scanner.integerValueOrSkip()
            case "inputText":
                if scanner.peek() == UInt8(ascii: "\"") {
                    fields.inputTextWords = try scanner.stringWords()
                } else {
                    try scanner.skipValue()
                }
            default:
                try scanner.skipValue()
            }
        }
        self.skipWhitespace()
        guard self.index == self.bytes.count else {
            throw JSONScanError(message: "trailing characters after the JSON body")
        }
        return fields
    }

    // MARK: Structure

    /// Keys compare as raw bytes; a key with escapes is decoded first (rare).
    struct Key {
        fileprivate let bytes: UnsafeRawBufferPointer
        fileprivate let decoded: String?

        static func ~= (pattern: StaticString, key: Key) -> Bool {
            key == pattern
        }

        static func == (key: Key, pattern: StaticString) -> Bool {
            if let decoded = key.decoded {
                return decoded == pattern.description
            }
            let patternBytes = UnsafeRawBufferPointer(start: pattern.utf8Start, count: pattern.utf8CodeUnitCount)
            return key.bytes.elementsEqual(patternBytes)
        }
    }

    /// Calls `body` with each member's key, positioned at its value; `body` must consume it.
    private mutating func forEachMember(_ body: (inout RequestScanner, Key) throws -> Void) throws {
        try self.expect(UInt8(ascii: "{"))
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "}") {
            self.index += 1
            return
        }
        while true {
            self.skipWhitespace()
            let (range, escaped) = try self.stringRange()
            let keyBytes = UnsafeRawBufferPointer(rebasing: self.bytes[range])
            let key = Key(bytes: keyBytes, decoded: escaped ? Self.decode(keyBytes) : nil)
            self.skipWhitespace()
            try self.expect(UInt8(ascii: ":"))
            self.skipWhitespace()
            try body(&self, key)
            self.skipWhitespace()
            switch self.next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "}"): return
            default: throw JSONScanError(message: "expected ',' or '}' at byte \(self.index - 1)")
            }
        }
    }

    /// Calls `body` for each element, positioned at it; `body` must consume it.
    private mutating func forEachElement(_ body: (inout RequestScanner) throws -> Void) throws {
        try self.expect(UInt8(ascii: "["))
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "]") {
            self.index += 1
            return
        }
        while true {
            self.skipWhitespace()
            try body(&self)
            self.skipWhitespace()
            switch self.next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "]"): return
            default: throw JSONScanError(message: "expected ',' or ']' at byte \(self.index - 1)")
            }
        }
    }

    private mutating func objectOrSkip(_ body: (inout RequestScanner, Key) throws -> Void) throws {
        if self.peek() == UInt8(ascii: "{") {
            try self.forEachMember(body)
        } else {
            try self.skipValue()
        }
    }

    // MARK: Fields

    private mutating func countMessageWords() throws -> Int {
        guard self.peek() == UInt8(ascii: "[") else {
            try self.skipValue()
            return 0
        }
        var words = 0
        try self.forEachElement { scanner in
            try scanner.objectOrSkip { scanner, key in
                guard key == "content" else {
                    try scanner.skipValue()
                    return
                }
                words += try scanner.countContentWords()
            }
        }
        return words
    }

    /// A message's content: a string, or content parts with `text`.
    private mutating func countContentWords() throws -> Int {
        switch self.peek() {
        case UInt8(ascii: "\""):
            return try self.stringWords()
        case UInt8(ascii: "["):
            return try self.countTextPartsWords()
        default:
            try self.skipValue()
            return 0
        }
    }

    /// An array of content parts (OpenAI's, Gemini's): the words of each one's `text`.
    private mutating func countTextPartsWords() throws -> Int {
        var words = 0
        try self.forEachElement { scanner in
            try scanner.objectOrSkip { scanner, key in
                if key == "text", scanner.peek() == UInt8(ascii: "\"") {
                    words += try scanner.stringWords()
                } else {
                    try scanner.skipValue()
                }
            }
        }
        return words
    }

    /// Gemini `contents`: turns whose `parts` have `text`.
    private mutating func countGeminiContentsWords() throws -> Int {
        guard self.peek() == UInt8(ascii: "[") else {
            try self.skipValue()
            return 0
        }
        var words = 0
        try self.forEachElement { scanner in
            words += try scanner.countGeminiPartsWords()
        }
        return words
    }

    /// A Gemini `Content` (`{"role", "parts": [{"text"}, …]}`): the words of its text parts.
    private mutating func countGeminiPartsWords() throws -> Int {
        var words = 0
        try self.objectOrSkip { scanner, key in
            if key == "parts", scanner.peek() == UInt8(ascii: "[") {
                words += try scanner.countTextPartsWords()
            } else {
                try scanner.skipValue()
            }
        }
        return words
    }

    /// Gemini `batchEmbedContents` `requests`: each one's words; the first
    /// `outputDimensionality` found is the dimensions.
    private mutating func scanGeminiEmbedRequests(dimensions: inout Int?) throws -> [Int] {
        guard self.peek() == UInt8(ascii: "[") else {
            try self.skipValue()
            return []
        }
        var inputs: [Int] = []
        try self.forEachElement { scanner in
            var words = 0
            try scanner.objectOrSkip { scanner, key in
                switch key {
                case "content":
                    words = try scanner.countGeminiPartsWords()
                case "outputDimensionality":
                    let value = try scanner.integerValueOrSkip()
                    if dimensions == nil { dimensions = value }
                default:
                    try scanner.skipValue()
                }
            }
            inputs.append(words)
        }
        return inputs
    }

    /// Whether the value at the cursor is an array whose first element is an object (the
    /// Responses API's input items, unlike any embeddings input). Consumes nothing.
    private func isArrayOfObjects() -> Bool {
        guard self.peek() == UInt8(ascii: "[") else { return false }
        var position = self.index + 1
        while position < self.bytes.count {
            switch self.bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"): position += 1
            case UInt8(ascii: "{"): return true
            default: return false
            }
        }
        return false
    }

    /// `input` is a string, an array of strings, a token array, or an array of token arrays.
    private mutating func scanEmbeddingInput() throws -> [Int]? {
        switch self.peek() {
        case UInt8(ascii: "\""):
            return [try self.stringWords()]
        case UInt8(ascii: "["):
            var inputs: [Int] = []
            var flatTokens = 0
            try self.forEachElement { scanner in
                switch scanner.peek() {
                case UInt8(ascii: "\""):
                    inputs.append(try scanner.stringWords())
                case UInt8(ascii: "["):
                    var tokens = 0
                    try scanner.forEachElement { scanner in
                        try scanner.skipValue()
                        tokens += 1
                    }
                    inputs.append(tokens)
                default:
                    try scanner.skipValue()
                    flatTokens += 1
                }
            }
            if flatTokens > 0 {
                inputs.append(flatTokens)
            }
            return inputs
        default:
            try self.skipValue()
            return nil
        }
    }

    private mutating func stringValueOrSkip() throws -> String? {
        guard self.peek() == UInt8(ascii: "\"") else {
            try self.skipValue()
            return nil
        }
        let (range, escaped) = try self.stringRange()
        let raw = UnsafeRawBufferPointer(rebasing: self.bytes[range])
        return escaped ? Self.decode(raw) : String(decoding: raw, as: UTF8.self)
    }

    private mutating func boolValueOrSkip() throws -> Bool? {
        if self.consumeLiteral("true") { return true }
        if self.consumeLiteral("false") { return false }
        try self.skipValue()
        return nil
    }

    private mutating func integerValueOrSkip() throws -> Int? {
        let start = self.index
        try self.skipValue()
        let raw = UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.index])
        return Int(String(decoding: raw, as: UTF8.self))
    }

    /// Counts whitespace-separated words in the string at the cursor, treating the escapes
    /// `\n`, `\r`, `\t` as whitespace.
    private mutating func stringWords() throws -> Int {
        let (range, _) = try self.stringRange()
        var words = 0
        var inWord = false
        var position = range.lowerBound
        while position < range.upperBound {
            var isSpace: Bool
            let byte = self.bytes[position]
            if byte == UInt8(ascii: "\\"), position + 1 < range.upperBound {
                let escaped = self.bytes[position + 1]
                isSpace = escaped == UInt8(ascii: "n") || escaped == UInt8(ascii: "r") || escaped == UInt8(ascii: "t")
                position += escaped == UInt8(ascii: "u") ? 6 : 2
            } else {
                isSpace = byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t")
                    || byte == UInt8(ascii: "\r")
                position += 1
            }
            if !isSpace && !inWord {
                words += 1
            }
            inWord = !isSpace
        }
        return words
    }

    // MARK: Lexing

    @inline(__always)
    private func peek() -> UInt8? {
        self.index < self.bytes.count ? self.bytes[self.index] : nil
    }

    @inline(__always)
    private mutating func next() -> UInt8? {
        guard self.index < self.bytes.count else { return nil }
        defer { self.index += 1 }
        return self.bytes[self.index]
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard self.next() == byte else {
            throw JSONScanError(message: "expected '\(Character(Unicode.Scalar(byte)))' at byte \(max(self.index - 1, 0))")
        }
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                self.index += 1
            default:
                return
            }
        }
    }

    private mutating func consumeLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard self.index + count <= self.bytes.count else { return false }
        let expected = UnsafeRawBufferPointer(start: literal.utf8Start, count: count)
        guard self.bytes[self.index..<(self.index + count)].elementsEqual(expected) else { return false }
        self.index += count
        return true
    }

    /// Consumes a string; returns the byte range of its contents and whether it has escapes.
    private mutating func stringRange() throws -> (Range<Int>, Bool) {
        try self.expect(UInt8(ascii: "\""))
        let start = self.index
        var escaped = false
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                self.index += 1
                return (start..<(self.index - 1), escaped)
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                self.index += 2
            } else {
                self.index += 1
            }
        }
        throw JSONScanError(message: "unterminated string")
    }

    /// Skips one value. Containers are skipped by bracket depth, not recursion.
    private mutating func skipValue() throws {
        self.skipWhitespace()
        guard let first = self.peek() else { throw JSONScanError(message: "unexpected end of body") }
        switch first {
        case UInt8(ascii: "\""):
            _ = try self.stringRange()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            repeat {
                guard let byte = self.peek() else { throw JSONScanError(message: "unexpected end of body") }
                switch byte {
                case UInt8(ascii: "\""):
                    _ = try self.stringRange()
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                default:
                    break
                }
                self.index += 1
            } while depth > 0
        case UInt8(ascii: "t"):
            guard self.consumeLiteral("true") else { throw JSONScanError(message: "bad literal at byte \(self.index)") }
        case UInt8(ascii: "f"):
            guard self.consumeLiteral("false") else { throw JSONScanError(message: "bad literal at byte \(self.index)") }
        case UInt8(ascii: "n"):
            guard self.consumeLiteral("null") else { throw JSONScanError(message: "bad literal at byte \(self.index)") }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = self.index
            while let byte = self.peek(),
                byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            {
                self.index += 1
            }
            if self.index == start { throw JSONScanError(message: "bad number at byte \(start)") }
        default:
            throw JSONScanError(message: "unexpected character at byte \(self.index)")
        }
    }

    /// Decodes a JSON string body with escapes (cold path).
    private static func decode(_ raw: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var position = 0
        func hex(at start: Int) -> UInt32? {
            guard start + 4 <= raw.count else { return nil }
            var value: UInt32 = 0
            for byte in raw[start..<(start + 4)] {
                value <<= 4
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value |= UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value |= UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): value |= UInt32(byte - UInt8(ascii: "A") + 10)
                default: return nil
                }
            }
            return value
        }
        while position < raw.count {
            let byte = raw[position]
            guard byte == UInt8(ascii: "\\"), position + 1 < raw.count else {
                out.append(byte)
                position += 1
                continue
            }
            let escape = raw[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "r"): out.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard var scalar = hex(at: position) else { continue }
                position += 4
                // A surrogate pair spells one scalar across two escapes.
                if (0xD800..<0xDC00).contains(scalar), position + 1 < raw.count, raw[position] == UInt8(ascii: "\\"),
                    raw[position + 1] == UInt8(ascii: "u"), let low = hex(at: position + 2), (0xDC00..<0xE000).contains(low)
                {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    position += 6
                }
                let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: String(Character(character)).utf8)
            default: out.append(escape)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
