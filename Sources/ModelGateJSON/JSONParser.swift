/// The validating scanner that builds a document's tape.
///
/// Recursive descent; the recursion depth is bounded by `maxDepth`, and every byte is looked
/// at a constant number of times, so hostile input costs linear time and bounded stack.
struct JSONParser {
    private let base: UnsafePointer<UInt8>
    private let count: Int
    private let maxDepth: Int
    private var pos = 0
    private var nodes: JSONTape

    private init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.base = base
        self.count = count
        self.maxDepth = maxDepth
        // A typical provider chunk has one entry per 8-10 bytes; start close to that so most
        // chunks need a single allocation, and let big documents grow geometrically.
        self.nodes = JSONTape(capacity: count / 8 + 4)
    }

    /// Validates the `count` bytes at `base` and returns their tape; the caller owns the
    /// tape's storage.
    static func parse(_ base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) throws(JSONParseError) -> JSONTape {
        guard count > 0 else { throw JSONParseError(.unexpectedEnd, at: 0) }
        var parser = JSONParser(base: base, count: count, maxDepth: maxDepth)
        do {
            try parser.parseDocument()
            return parser.nodes
        } catch {
            parser.nodes.discard()
            throw error
        }
    }

    private mutating func parseDocument() throws(JSONParseError) {
        skipWhitespace()
        try parseValue(depth: 0)
        skipWhitespace()
        if pos != count { throw JSONParseError(.trailingData, at: pos) }
    }

    // MARK: Values

    private mutating func parseValue(depth: Int) throws(JSONParseError) {
        guard pos < count else { throw JSONParseError(.unexpectedEnd, at: pos) }
        switch base[pos] {
        case UInt8(ascii: "\""): try parseString()
        case UInt8(ascii: "{"): try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): try parseArray(depth: depth + 1)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber()
        case UInt8(ascii: "t"): try parseLiteral("true", kind: .true)
        case UInt8(ascii: "f"): try parseLiteral("false", kind: .false)
        case UInt8(ascii: "n"): try parseLiteral("null", kind: .null)
        default: throw JSONParseError(.unexpectedByte(base[pos]), at: pos)
        }
    }

    @inline(__always)
    private mutating func parseLiteral(_ literal: StaticString, kind: JSONNode.Kind) throws(JSONParseError) {
        let start = pos
        let text = literal.utf8Start
        for i in 0..<literal.utf8CodeUnitCount {
            let expected = text[i]
            guard pos < count else { throw JSONParseError(.unexpectedEnd, at: pos) }
            guard base[pos] == expected else { throw JSONParseError(.unexpectedByte(base[pos]), at: pos) }
            pos += 1
        }
        appendLeaf(kind, flags: 0, start: start, end: pos)
    }

    @inline(__always)
    private mutating func appendLeaf(_ kind: JSONNode.Kind, flags: UInt8, start: Int, end: Int) {
        let index = UInt32(truncatingIfNeeded: nodes.count)
        nodes.append(
            JSONNode(
                kind: kind, flags: flags, start: UInt32(truncatingIfNeeded: start),
                end: UInt32(truncatingIfNeeded: end), next: index &+ 1, count: 0))
    }

    private mutating func openContainer(_ kind: JSONNode.Kind, depth: Int) throws(JSONParseError) -> Int {
        guard depth <= maxDepth else { throw JSONParseError(.tooDeep(limit: maxDepth), at: pos) }
        let index = nodes.count
        nodes.append(JSONNode(kind: kind, flags: 0, start: UInt32(truncatingIfNeeded: pos), end: 0, next: 0, count: 0))
        pos += 1
        return index
    }

    private mutating func closeContainer(_ index: Int, count elements: Int) {
        nodes[index].end = UInt32(truncatingIfNeeded: pos)
        nodes[index].next = UInt32(truncatingIfNeeded: nodes.count)
        nodes[index].count = UInt32(truncatingIfNeeded: elements)
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) {
        let index = try openContainer(.object, depth: depth)
        var members = 0
        if isEmptyContainer(closing: UInt8(ascii: "}")) {
            closeContainer(index, count: 0)
            return
        }
        repeat {
            guard pos < count else { throw JSONParseError(.unexpectedEnd, at: pos) }
            guard base[pos] == UInt8(ascii: "\"") else { throw JSONParseError(.unexpectedByte(base[pos]), at: pos) }
            try parseString()
            skipWhitespace()
            guard pos < count else { throw JSONParseError(.unexpectedEnd, at: pos) }
            guard base[pos] == UInt8(ascii: ":") else { throw JSONParseError(.unexpectedByte(base[pos]), at: pos) }
            pos += 1
            skipWhitespace()
            try parseValue(depth: depth)
            members += 1
        } while try !endsContainer(closing: UInt8(ascii: "}"))
        closeContainer(index, count: members)
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) {
        let index = try openContainer(.array, depth: depth)
        var elements = 0
        if isEmptyContainer(closing: UInt8(ascii: "]")) {
            closeContainer(index, count: 0)
            return
        }
        repeat {
            try parseValue(depth: depth)
            elements += 1
        } while try !endsContainer(closing: UInt8(ascii: "]"))
        closeContainer(index, count: elements)
    }

    /// Just after the opening bracket: consumes `closing` if the container is empty.
    @inline(__always)
    private mutating func isEmptyContainer(closing: UInt8) -> Bool {
        skipWhitespace()
        guard pos < count, base[pos] == closing else { return false }
        pos += 1
        return true
    }

    /// After a member or element: consumes a comma (false: another item follows) or the
    /// closing bracket (true).
    @inline(__always)
    private mutating func endsContainer(closing: UInt8) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard pos < count else { throw JSONParseError(.unexpectedEnd, at: pos) }
        let byte = base[pos]
        pos += 1
        if byte == closing { return true }
        guard byte == UInt8(ascii: ",") else { throw JSONParseError(.unexpectedByte(byte), at: pos - 1) }
        skipWhitespace()
        return false
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while pos < count {
            switch base[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    // MARK: Strings

    @inline(__always)
    private mutating func parseString() throws(JSONParseError) {
        pos += 1  // opening quote
        let start = pos
        var flags: UInt8 = 0
        while true {
            pos = Self.skipPlainStringBytes(base, from: pos, count: count)
            guard pos < count else { throw JSONParseError(.unexpectedEnd, at: pos) }
            let byte = base[pos]
            if byte == UInt8(ascii: "\"") {
                appendLeaf(.string, flags: flags, start: start, end: pos)
                pos += 1
                return
            } else if byte == UInt8(ascii: "\\") {
                flags = JSONNode.flagEscapedOrFractional
                try skipEscape()
            } else if byte < 0x20 {
                throw JSONParseError(.controlCharacterInString, at: pos)
            } else {
                try skipUTF8Sequence()
            }
        }
    }

    /// The offset of the first byte at or after `position` that is a quote, a backslash, a
    /// control character or non-ASCII, or `count`. Checks eight bytes per step (SWAR), since
    /// string bodies are most of a provider chunk's bytes.
    @inline(__always)
    private static func skipPlainStringBytes(_ base: UnsafePointer<UInt8>, from position: Int, count: Int) -> Int {
        var index = position
        let raw = UnsafeRawPointer(base)
        while index + 8 <= count {
            let word = SWAR.load(raw, at: index)
            let special =
                SWAR.bytesBelow(word, 0x20) | SWAR.bytes(word, equalTo: UInt8(ascii: "\"")) | SWAR.bytes(word, equalTo: UInt8(ascii: "\\"))
                | (word & SWAR.highBits)
            if special != 0 { return index + SWAR.firstFlaggedByte(special) }
            index += 8
        }
        while index < count {
            let byte = base[index]
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else { break }
            index += 1
        }
        return index
    }

    private mutating func skipEscape() throws(JSONParseError) {
        let escapeStart = pos
        pos += 1
        guard pos < count else { throw JSONParseError(.unexpectedEnd, at: pos) }
        switch base[pos] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            pos += 1
        case UInt8(ascii: "u"):
            pos += 1
            for _ in 0..<4 {
                guard pos < count else { throw JSONParseError(.unexpectedEnd, at: pos) }
                guard hexValue(base[pos]) != nil else { throw JSONParseError(.invalidUnicodeEscape, at: escapeStart) }
                pos += 1
            }
        default:
            throw JSONParseError(.invalidEscape, at: escapeStart)
        }
    }

    /// Validates one multi-byte UTF-8 sequence (Unicode 15, table 3-7): no overlong forms,
    /// no encoded surrogates, nothing above U+10FFFF.
    private mutating func skipUTF8Sequence() throws(JSONParseError) {
        let lead = base[pos]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: throw JSONParseError(.invalidUTF8, at: pos)
        }
        guard pos + length <= count else { throw JSONParseError(.unexpectedEnd, at: count) }
        let second = base[pos + 1]
        guard second >= lower, second <= upper else { throw JSONParseError(.invalidUTF8, at: pos) }
        for i in 2..<length where base[pos + i] & 0xC0 != 0x80 {
            throw JSONParseError(.invalidUTF8, at: pos)
        }
        pos += length
    }

    // MARK: Numbers

    @inline(__always)
    private mutating func parseNumber() throws(JSONParseError) {
        let start = pos
        var flags: UInt8 = 0
        if base[pos] == UInt8(ascii: "-") {
            flags |= JSONNode.flagNegative
            pos += 1
        }
        guard pos < count else { throw JSONParseError(.unexpectedEnd, at: pos) }
        if base[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if isDigit(base[pos]) {
            skipDigits()
        } else {
            throw JSONParseError(.invalidNumber, at: start)
        }
        if pos < count, base[pos] == UInt8(ascii: ".") {
            flags |= JSONNode.flagEscapedOrFractional
            pos += 1
            guard pos < count, isDigit(base[pos]) else { throw JSONParseError(.invalidNumber, at: start) }
            skipDigits()
        }
        if pos < count, base[pos] | 0x20 == UInt8(ascii: "e") {
            flags |= JSONNode.flagEscapedOrFractional
            pos += 1
            if pos < count, base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-") {
                pos += 1
            }
            guard pos < count, isDigit(base[pos]) else { throw JSONParseError(.invalidNumber, at: start) }
            skipDigits()
        }
        appendLeaf(.number, flags: flags, start: start, end: pos)
    }

    @inline(__always)
    private mutating func skipDigits() {
        while pos < count, isDigit(base[pos]) { pos += 1 }
    }
}

@inline(__always)
func isDigit(_ byte: UInt8) -> Bool {
    byte &- UInt8(ascii: "0") < 10
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt32? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte &- UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte &- UInt8(ascii: "a") &+ 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte &- UInt8(ascii: "A") &+ 10)
    default: nil
    }
}
