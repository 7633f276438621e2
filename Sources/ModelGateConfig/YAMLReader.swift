/// A YAML value with the line it starts on.
///
/// ModelGate's configuration uses a small, well-defined part of YAML: block mappings and
/// sequences, one-line flow collections (`{a: 1, b: [x, y]}`), plain, single- and
/// double-quoted scalars, and comments. Reading only that keeps the gateway free of Foundation
/// (which a full YAML library pulls in, at ~10 MiB of resident memory) and lets every error name
/// its line. Anchors, aliases, tags, block scalars (`|`, `>`) and multiple documents are
/// rejected with a clear error rather than half-supported.
indirect enum YAMLNode: Equatable {
    case scalar(String, line: Int)
    case mapping([(key: String, keyLine: Int, value: YAMLNode)], line: Int)
    case sequence([YAMLNode], line: Int)

    var line: Int {
        switch self {
        case .scalar(_, let line), .mapping(_, let line), .sequence(_, let line): line
        }
    }

    static func == (lhs: YAMLNode, rhs: YAMLNode) -> Bool {
        switch (lhs, rhs) {
        case (.scalar(let a, let la), .scalar(let b, let lb)): a == b && la == lb
        case (.sequence(let a, let la), .sequence(let b, let lb)): a == b && la == lb
        case (.mapping(let a, let la), .mapping(let b, let lb)):
            la == lb && a.count == b.count
                && zip(a, b).allSatisfy { $0.key == $1.key && $0.keyLine == $1.keyLine && $0.value == $1.value }
        default: false
        }
    }
}

/// A YAML syntax error at a line.
struct YAMLError: Error, Equatable {
    var line: Int
    var message: String
}

/// Reads the YAML subset described on ``YAMLNode``.
struct YAMLReader {
    private struct Line {
        var number: Int
        var indent: Int
        var text: String
    }

    private var lines: [Line] = []
    private var position = 0

    /// The document's root, or nil for an empty document.
    static func read(_ text: String) throws(YAMLError) -> YAMLNode? {
        var reader = YAMLReader()
        try reader.split(text)
        guard let first = reader.lines.first else { return nil }
        let root = try reader.block(indent: first.indent)
        if reader.position < reader.lines.count {
            let line = reader.lines[reader.position]
            throw YAMLError(line: line.number, message: "unexpected indentation")
        }
        return root
    }

    /// Splits into meaningful lines: comments and blank lines dropped, indentation measured.
    private mutating func split(_ text: String) throws(YAMLError) {
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            line = Self.stripComment(line)
            while line.last == " " { line.removeLast() }
            let indent = line.prefix { $0 == " " }.count
            let content = String(line.dropFirst(indent))
            if content.isEmpty { continue }
            if content.hasPrefix("\t") || line.prefix(indent + 1).contains("\t") {
                throw YAMLError(line: number, message: "tabs are not allowed for indentation")
            }
            if content == "---" && lines.isEmpty { continue }
            if content == "---" || content == "..." {
                throw YAMLError(line: number, message: "only one YAML document is allowed")
            }
            lines.append(Line(number: number, indent: indent, text: content))
        }
    }

    /// The line without its comment (a `#` at the start or after a space, outside quotes).
    private static func stripComment(_ line: String) -> String {
        var quote: Character?
        var previous: Character = " "
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if let open = quote {
                if character == open {
                    quote = nil
                } else if character == "\\" && open == "\"" {
                    index = line.index(after: index)
                    if index == line.endIndex { break }
                }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" && (previous == " " || index == line.startIndex) {
                return String(line[..<index])
            }
            previous = character
            index = line.index(after: index)
        }
        return line
    }

    // MARK: Block structure

    private mutating func block(indent: Int) throws(YAMLError) -> YAMLNode {
        let line = lines[position]
        if line.text == "-" || line.text.hasPrefix("- ") {
            return try sequence(indent: indent)
        }
        return try mapping(indent: indent)
    }

    private mutating func sequence(indent: Int) throws(YAMLError) -> YAMLNode {
        let start = lines[position].number
        var items: [YAMLNode] = []
        while position < lines.count, lines[position].indent == indent,
            lines[position].text == "-" || lines[position].text.hasPrefix("- ")
        {
            let line = lines[position]
            let rest = String(line.text.dropFirst(1).drop { $0 == " " })
            if rest.isEmpty {
                position += 1
                items.append(try nested(after: line, parentIndent: indent) ?? .scalar("", line: line.number))
            } else if Self.keyValueSplit(rest) != nil {
                // "- key: value" starts a mapping whose keys sit two columns in.
                let itemIndent = indent + (line.text.count - rest.count)
                lines[position] = Line(number: line.number, indent: itemIndent, text: rest)
                items.append(try mapping(indent: itemIndent))
            } else {
                position += 1
                items.append(try inlineValue(rest, line: line.number))
            }
        }
        return .sequence(items, line: start)
    }

    private mutating func mapping(indent: Int) throws(YAMLError) -> YAMLNode {
        let start = lines[position].number
        var entries: [(key: String, keyLine: Int, value: YAMLNode)] = []
        while position < lines.count, lines[position].indent == indent {
            let line = lines[position]
            if line.text == "-" || line.text.hasPrefix("- ") {
                throw YAMLError(line: line.number, message: "a list item where a mapping key was expected")
            }
            guard let (rawKey, rawValue) = Self.keyValueSplit(line.text) else {
                throw YAMLError(line: line.number, message: "expected \"key: value\"")
            }
            let key = try scalar(rawKey, line: line.number)
            if entries.contains(where: { $0.key == key }) {
                throw YAMLError(line: line.number, message: "duplicate key \"\(key)\"")
            }
            position += 1
            let value: YAMLNode
            if rawValue.isEmpty {
                // A nested block, or a sequence written at the key's own indentation.
                if position < lines.count, lines[position].indent == indent,
                    lines[position].text == "-" || lines[position].text.hasPrefix("- ")
                {
                    value = try sequence(indent: indent)
                } else {
                    value = try nested(after: line, parentIndent: indent) ?? .scalar("", line: line.number)
                }
            } else {
                value = try inlineValue(rawValue, line: line.number)
            }
            entries.append((key, line.number, value))
        }
        if position < lines.count, lines[position].indent > indent {
            throw YAMLError(line: lines[position].number, message: "unexpected indentation")
        }
        return .mapping(entries, line: start)
    }

    /// The block indented under `line`, if any.
    private mutating func nested(after line: Line, parentIndent: Int) throws(YAMLError) -> YAMLNode? {
        guard position < lines.count, lines[position].indent > parentIndent else { return nil }
        return try block(indent: lines[position].indent)
    }

    /// Splits `key: value` at the first `:` followed by a space or the end, outside quotes.
    private static func keyValueSplit(_ text: String) -> (String, String)? {
        var quote: Character?
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                if index == text.startIndex { quote = character }
            } else if character == "{" || character == "[" {
                if index == text.startIndex { return nil }
            } else if character == ":" {
                let next = text.index(after: index)
                if next == text.endIndex || text[next] == " " {
                    let key = String(text[..<index]).trimmingSpaces()
                    let value = next == text.endIndex ? "" : String(text[next...]).trimmingSpaces()
                    return key.isEmpty ? nil : (key, value)
                }
            }
            index = text.index(after: index)
        }
        return nil
    }

    // MARK: Inline values

    private func inlineValue(_ text: String, line: Int) throws(YAMLError) -> YAMLNode {
        if text.hasPrefix("{") || text.hasPrefix("[") {
            var flow = FlowParser(text: Array(text.unicodeScalars), line: line)
            let node = try flow.value()
            try flow.expectEnd()
            return node
        }
        if let first = text.first, "|>&*!".contains(first) {
            throw YAMLError(line: line, message: "YAML feature \"\(first)\" is not supported in ModelGate configuration")
        }
        return .scalar(try scalar(text, line: line), line: line)
    }

    private func scalar(_ text: String, line: Int) throws(YAMLError) -> String {
        var flow = FlowParser(text: Array(text.unicodeScalars), line: line)
        guard case .scalar(let value, _) = try flow.value(inFlow: false) else {
            throw YAMLError(line: line, message: "expected a scalar")
        }
        try flow.expectEnd()
        return value
    }
}

/// Parses one-line flow values: `{k: v, ...}`, `[a, b]`, quoted and plain scalars.
private struct FlowParser {
    let text: [Unicode.Scalar]
    let line: Int
    var index = 0

    init(text: [Unicode.Scalar], line: Int) {
        self.text = text
        self.line = line
    }

    mutating func expectEnd() throws(YAMLError) {
        skipSpaces()
        if index < text.count {
            throw YAMLError(line: line, message: "unexpected text after the value: \"\(String(String.UnicodeScalarView(text[index...])))\"")
        }
    }

    private mutating func skipSpaces() {
        while index < text.count, text[index] == " " { index += 1 }
    }

    mutating func value(inFlow: Bool = true) throws(YAMLError) -> YAMLNode {
        skipSpaces()
        guard index < text.count else { return .scalar("", line: line) }
        switch text[index] {
        case "{" where inFlow || index == 0: return try flowMapping()
        case "[" where inFlow || index == 0: return try flowSequence()
        case "\"": return .scalar(try doubleQuoted(), line: line)
        case "'": return .scalar(try singleQuoted(), line: line)
        default: return .scalar(plain(inFlow: inFlow), line: line)
        }
    }

    private mutating func flowMapping() throws(YAMLError) -> YAMLNode {
        index += 1
        var entries: [(key: String, keyLine: Int, value: YAMLNode)] = []
        skipSpaces()
        if index < text.count, text[index] == "}" {
            index += 1
            return .mapping([], line: line)
        }
        while true {
            guard case .scalar(let key, _) = try value() else {
                throw YAMLError(line: line, message: "flow mapping keys must be scalars")
            }
            skipSpaces()
            guard index < text.count, text[index] == ":" else {
                throw YAMLError(line: line, message: "expected \":\" after \"\(key)\" in a flow mapping")
            }
            index += 1
            if entries.contains(where: { $0.key == key }) {
                throw YAMLError(line: line, message: "duplicate key \"\(key)\"")
            }
            entries.append((key, line, try value()))
            skipSpaces()
            guard index < text.count else { throw YAMLError(line: line, message: "unterminated flow mapping") }
            if text[index] == "," {
                index += 1
                continue
            }
            guard text[index] == "}" else { throw YAMLError(line: line, message: "expected \",\" or \"}\"") }
            index += 1
            return .mapping(entries, line: line)
        }
    }

    private mutating func flowSequence() throws(YAMLError) -> YAMLNode {
        index += 1
        var items: [YAMLNode] = []
        skipSpaces()
        if index < text.count, text[index] == "]" {
            index += 1
            return .sequence([], line: line)
        }
        while true {
            items.append(try value())
            skipSpaces()
            guard index < text.count else { throw YAMLError(line: line, message: "unterminated flow sequence") }
            if text[index] == "," {
                index += 1
                continue
            }
            guard text[index] == "]" else { throw YAMLError(line: line, message: "expected \",\" or \"]\"") }
            index += 1
            return .sequence(items, line: line)
        }
    }

    private mutating func plain(inFlow: Bool) -> String {
        var scalars = String.UnicodeScalarView()
        while index < text.count {
            let character = text[index]
            if inFlow && (character == "," || character == "}" || character == "]") { break }
            if inFlow && character == ":" && (index + 1 == text.count || text[index + 1] == " ") { break }
            scalars.append(character)
            index += 1
        }
        return String(scalars).trimmingSpaces()
    }

    private mutating func singleQuoted() throws(YAMLError) -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        while index < text.count {
            if text[index] == "'" {
                if index + 1 < text.count && text[index + 1] == "'" {
                    scalars.append("'")
                    index += 2
                    continue
                }
                index += 1
                return String(scalars)
            }
            scalars.append(text[index])
            index += 1
        }
        throw YAMLError(line: line, message: "unterminated single-quoted string")
    }

    private mutating func doubleQuoted() throws(YAMLError) -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        while index < text.count {
            let character = text[index]
            index += 1
            if character == "\"" { return String(scalars) }
            guard character == "\\" else {
                scalars.append(character)
                continue
            }
            guard index < text.count else { break }
            let escape = text[index]
            index += 1
            switch escape {
            case "n": scalars.append("\n")
            case "t": scalars.append("\t")
            case "r": scalars.append("\r")
            case "0": scalars.append("\0")
            case "\"", "\\", "/", " ": scalars.append(escape)
            case "u", "x":
                let digits = escape == "u" ? 4 : 2
                guard index + digits <= text.count,
                    let value = UInt32(String(String.UnicodeScalarView(text[index..<(index + digits)])), radix: 16),
                    let scalar = Unicode.Scalar(value)
                else { throw YAMLError(line: line, message: "invalid \\\(escape) escape") }
                scalars.append(scalar)
                index += digits
            default:
                throw YAMLError(line: line, message: "unknown escape \\\(escape)")
            }
        }
        throw YAMLError(line: line, message: "unterminated double-quoted string")
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var result = Substring(self)
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return String(result)
    }
}
