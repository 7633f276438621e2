import ModelGateJSON

/// A published API example in Fern's YAML form (Cohere's OpenAPI `x-fern-examples`):
/// `request:` (the body) and `response:` with either `body:` or `stream:`, a list of
/// `- event: NAME` / `data: {…}` items, each one server-sent event on the wire.
///
/// The examples are read with a small reader of the YAML they use: block mappings and
/// sequences (a sequence item may open a mapping on its own line), plain scalars, and
/// single- or double-quoted scalars, any of them continued on more-indented lines (folded
/// into one line with single spaces, as YAML does). Plain scalars that are JSON numbers,
/// `true`, `false` or `null` (`~`) are those; everything quoted is a string. Anchors, tags,
/// flow collections and block scalars are not used by the examples and are errors.
package struct FernExample: Sendable {
    /// The YAML that was not understood, with its 1-based line.
    package struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        package var line: Int
        package var problem: String

        package var description: String { "line \(line): \(problem)" }
    }

    /// A value of the example.
    indirect enum Value: Sendable, Equatable {
        case quoted(String)
        case plain(String)
        case mapping([(key: String, value: Value)])
        case sequence([Value])

        static func == (lhs: Value, rhs: Value) -> Bool {
            switch (lhs, rhs) {
            case (.quoted(let a), .quoted(let b)), (.plain(let a), .plain(let b)): a == b
            case (.sequence(let a), .sequence(let b)): a == b
            case (.mapping(let a), .mapping(let b)): a.elementsEqual(b) { $0.key == $1.key && $0.value == $1.value }
            default: false
            }
        }

        /// A scalar's text.
        var text: String? {
            switch self {
            case .quoted(let text), .plain(let text): text
            case .mapping, .sequence: nil
            }
        }

        subscript(key: String) -> Value? {
            guard case .mapping(let members) = self else { return nil }
            return members.first { $0.key == key }?.value
        }
    }

    let root: Value

    /// Reads an example.
    /// - Throws: ``SyntaxError`` for YAML outside the subset described on the type.
    package init(yaml text: String) throws(SyntaxError) {
        var reader = Reader(text)
        root = try reader.document()
    }

    /// The request body, as compact JSON.
    package var requestJSON: [UInt8]? {
        root["request"].map { Self.json($0) }
    }

    /// The response's events as an SSE body: `event: NAME\ndata: <compact JSON>\n\n` per
    /// `stream` item, in order; nil when the example's response is not a stream.
    package var serverSentEvents: [UInt8]? {
        guard case .sequence(let items)? = root["response"]?["stream"] else { return nil }
        var body: [UInt8] = []
        for item in items {
            if let name = item["event"]?.text { body += Array("event: \(name)\n".utf8) }
            body += Array("data: ".utf8) + (item["data"].map { Self.json($0) } ?? Array("null".utf8)) + [0x0A, 0x0A]
        }
        return body
    }

    static func json(_ value: Value) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 256)
        write(value, into: &writer)
        return writer.bytes
    }

    private static func write(_ value: Value, into writer: inout JSONWriter) {
        switch value {
        case .quoted(let text):
            writer.string(text)
        case .plain(let text):
            if text == "~" {
                writer.null()
            } else if let scalar = try? JSONFragment(validating: text), scalar.kind != .object, scalar.kind != .array,
                scalar.kind != .string
            {
                writer.fragment(scalar)  // a number, true, false or null
            } else {
                writer.string(text)
            }
        case .mapping(let members):
            writer.beginObject()
            for (key, member) in members {
                writer.key(key)
                write(member, into: &writer)
            }
            writer.endObject()
        case .sequence(let elements):
            writer.beginArray()
            for element in elements { write(element, into: &writer) }
            writer.endArray()
        }
    }

    // MARK: Reading

    private struct Line {
        var number: Int
        var indent: Int
        var text: Substring
    }

    private struct Reader {
        private var lines: [Line] = []
        private var position = 0

        init(_ text: String) {
            var number = 0
            for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
                number += 1
                var line = raw
                if line.last == "\r" { line = line.dropLast() }
                let indent = line.prefix { $0 == " " }.count
                let content = line.dropFirst(indent)
                if content.isEmpty || content.first == "#" { continue }
                lines.append(Line(number: number, indent: indent, text: content))
            }
        }

        mutating func document() throws(SyntaxError) -> Value {
            guard let first = lines.first else { throw SyntaxError(line: 1, problem: "the example is empty") }
            let value = try block(indent: first.indent)
            if position < lines.count {
                throw SyntaxError(line: lines[position].number, problem: "unexpected indentation")
            }
            return value
        }

        private func isItem(_ text: Substring) -> Bool {
            text == "-" || text.hasPrefix("- ")
        }

        /// The mapping or sequence whose lines start at `indent`.
        private mutating func block(indent: Int) throws(SyntaxError) -> Value {
            isItem(lines[position].text) ? try sequence(indent: indent) : try mapping(indent: indent)
        }

        private mutating func sequence(indent: Int) throws(SyntaxError) -> Value {
            var elements: [Value] = []
            while position < lines.count, lines[position].indent == indent, isItem(lines[position].text) {
                let line = lines[position]
                let rest = line.text.dropFirst(1).drop { $0 == " " }
                if rest.isEmpty {
                    position += 1
                    guard position < lines.count, lines[position].indent > indent else {
                        throw SyntaxError(line: line.number, problem: "an empty sequence item")
                    }
                    elements.append(try block(indent: lines[position].indent))
                    continue
                }
                // The item's content continues as if it started on its own line, further in.
                let contentIndent = indent + (line.text.count - rest.count)
                lines[position] = Line(number: line.number, indent: contentIndent, text: rest)
                if isItem(rest) || Self.keySplit(rest) != nil {
                    elements.append(try block(indent: contentIndent))
                } else {
                    elements.append(try scalar(rest, lineIndent: indent))
                }
            }
            return .sequence(elements)
        }

        private mutating func mapping(indent: Int) throws(SyntaxError) -> Value {
            var members: [(key: String, value: Value)] = []
            while position < lines.count, lines[position].indent == indent {
                let line = lines[position]
                guard let (key, rest) = Self.keySplit(line.text) else {
                    throw SyntaxError(line: line.number, problem: "expected \"key: value\"")
                }
                guard !members.contains(where: { $0.key == key }) else {
                    throw SyntaxError(line: line.number, problem: "the key \"\(key)\" appears twice")
                }
                if rest.isEmpty {
                    position += 1
                    if position < lines.count,
                        lines[position].indent > indent || (lines[position].indent == indent && isItem(lines[position].text))
                    {
                        members.append((key, try block(indent: lines[position].indent)))
                    } else {
                        members.append((key, .plain("~")))
                    }
                } else {
                    members.append((key, try scalar(rest, lineIndent: indent)))
                }
            }
            if position < lines.count, lines[position].indent > indent {
                throw SyntaxError(line: lines[position].number, problem: "unexpected indentation")
            }
            return .mapping(members)
        }

        /// `key: rest` (rest possibly empty) for a line that is a mapping entry.
        private static func keySplit(_ text: Substring) -> (String, Substring)? {
            guard let first = text.first, first != "'", first != "\"", first != "{", first != "[" else { return nil }
            var index = text.startIndex
            while index < text.endIndex {
                if text[index] == ":" {
                    let after = text.index(after: index)
                    if after == text.endIndex { return (String(text[..<index]), "") }
                    if text[after] == " " { return (String(text[..<index]), text[after...].drop { $0 == " " }) }
                }
                index = text.index(after: index)
            }
            return nil
        }

        /// A scalar starting with `text` on the current line, continued on the following
        /// lines indented more than `lineIndent`, folded with single spaces.
        private mutating func scalar(_ text: Substring, lineIndent: Int) throws(SyntaxError) -> Value {
            let startLine = lines[position].number
            var pieces = [text]
            position += 1
            while position < lines.count, lines[position].indent > lineIndent {
                pieces.append(lines[position].text)
                position += 1
            }
            let folded = pieces.map { $0.trimmingTrailingSpaces() }.joined(separator: " ")
            guard let quote = folded.first, quote == "'" || quote == "\"" else {
                if let first = folded.first, "{[&*!|>%@`".contains(first) {
                    throw SyntaxError(line: startLine, problem: "\(first) values are not supported in examples")
                }
                return .plain(folded)
            }
            return .quoted(try Self.unquote(folded, quote: quote, line: startLine))
        }

        private static func unquote(_ text: String, quote: Character, line: Int) throws(SyntaxError) -> String {
            var result = ""
            var characters = text.dropFirst()
            while let character = characters.popFirst() {
                if character == quote {
                    if quote == "'", characters.first == "'" {
                        characters.removeFirst()
                        result.append("'")
                        continue
                    }
                    guard characters.allSatisfy({ $0 == " " }) else {
                        throw SyntaxError(line: line, problem: "text after a closing quote")
                    }
                    return result
                }
                if quote == "\"", character == "\\" {
                    switch characters.popFirst() {
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    case "\"": result.append("\"")
                    case "\\": result.append("\\")
                    case "/": result.append("/")
                    default: throw SyntaxError(line: line, problem: "an escape the examples do not use")
                    }
                    continue
                }
                result.append(character)
            }
            throw SyntaxError(line: line, problem: "an unterminated quoted string")
        }
    }
}

extension Substring {
    fileprivate func trimmingTrailingSpaces() -> Substring {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
