/// The type of a JSON value.
package enum JSONKind: Sendable, Hashable {
    case null, bool, number, string, array, object
}

/// A value inside a ``JSONDocument``, or a missing one.
///
/// Lookups never fail: a key or index that is not there, or a lookup on the wrong kind of
/// value, gives a *missing* value whose accessors all return nil. This keeps chains such as
/// `chunk["choices"][0]["delta"]["content"].string` short and allocation-free until the
/// final string is made.
package struct JSONValue: Sendable {
    /// The document the value lives in; nil for a missing value.
    package let document: JSONDocument?
    let index: Int

    init(document: JSONDocument, index: Int) {
        self.document = document
        self.index = index
    }

    private init() {
        self.document = nil
        self.index = 0
    }

    /// A value that is not there.
    package static let missing = JSONValue()

    @inline(__always)
    private var node: JSONNode? { document?.nodes[index] }

    /// The value's type; nil when missing.
    package var kind: JSONKind? {
        guard let node else { return nil }
        switch node.kind {
        case .null: return .null
        case .false, .true: return .bool
        case .number: return .number
        case .string: return .string
        case .array: return .array
        case .object: return .object
        }
    }

    /// Whether the value is present (possibly `null`).
    package var exists: Bool { document != nil }

    /// Whether the value is JSON `null`.
    package var isNull: Bool { node?.kind == .null }

    /// Whether the value is present and not `null`.
    package var isPresent: Bool {
        guard let node else { return false }
        return node.kind != .null
    }

    // MARK: Navigation

    /// The value of an object's member; missing if the value is not an object or has no such
    /// key. When a key appears more than once, the first occurrence wins.
    package subscript(key: String) -> JSONValue {
        guard let document, document.nodes[index].kind == .object else { return .missing }
        let nodes = document.nodes
        let end = Int(nodes[index].next)
        var keyIndex = index + 1
        var key = key
        return key.withUTF8 { wanted in
            while keyIndex < end {
                if document.key(at: keyIndex, equals: wanted) {
                    return JSONValue(document: document, index: keyIndex + 1)
                }
                keyIndex = Int(nodes[keyIndex + 1].next)
            }
            return .missing
        }
    }

    /// An array's element; missing if the value is not an array or `position` is out of range.
    package subscript(position: Int) -> JSONValue {
        guard let document else { return .missing }
        let nodes = document.nodes
        let node = nodes[index]
        guard node.kind == .array, position >= 0, position < Int(node.count) else { return .missing }
        var element = index + 1
        for _ in 0..<position {
            element = Int(nodes[element].next)
        }
        return JSONValue(document: document, index: element)
    }

    /// The number of elements of an array or members of an object; 0 for anything else.
    package var count: Int {
        guard let node else { return 0 }
        return Int(node.count)
    }

    /// An array's elements in order; empty for anything else.
    package var elements: Elements {
        guard let document, document.nodes[index].kind == .array else { return Elements(document: nil, start: 0, end: 0) }
        return Elements(document: document, start: index + 1, end: Int(document.nodes[index].next))
    }

    /// An object's members in order; empty for anything else.
    package var members: Members {
        guard let document, document.nodes[index].kind == .object else { return Members(document: nil, start: 0, end: 0) }
        return Members(document: document, start: index + 1, end: Int(document.nodes[index].next))
    }

    /// A sequence over an array's elements.
    package struct Elements: Sequence, Sendable {
        let document: JSONDocument?
        let start: Int
        let end: Int

        package func makeIterator() -> Iterator {
            Iterator(document: document, position: start, end: end)
        }

        package struct Iterator: IteratorProtocol {
            let document: JSONDocument?
            var position: Int
            let end: Int

            package mutating func next() -> JSONValue? {
                guard let document, position < end else { return nil }
                let value = JSONValue(document: document, index: position)
                position = Int(document.nodes[position].next)
                return value
            }
        }
    }

    /// A sequence over an object's members.
    package struct Members: Sequence, Sendable {
        let document: JSONDocument?
        let start: Int
        let end: Int

        package func makeIterator() -> Iterator {
            Iterator(document: document, position: start, end: end)
        }

        package struct Iterator: IteratorProtocol {
            let document: JSONDocument?
            var position: Int
            let end: Int

            package mutating func next() -> (key: String, value: JSONValue)? {
                guard let document, position < end else { return nil }
                let key = document.decodeString(at: position)
                let value = JSONValue(document: document, index: position + 1)
                position = Int(document.nodes[position + 1].next)
                return (key, value)
            }
        }
    }

    // MARK: Scalars

    /// The unescaped text of a string value; nil for anything else.
    package var string: String? {
        guard let document, document.nodes[index].kind == .string else { return nil }
        return document.decodeString(at: index)
    }

    /// Whether the value is a string equal to `text`, compared without building a String
    /// when the JSON text has no escapes.
    package func isString(_ text: String) -> Bool {
        guard let document, document.nodes[index].kind == .string else { return false }
        var text = text
        return text.withUTF8 { document.key(at: index, equals: $0) }
    }

    /// The value of `true` or `false`; nil for anything else.
    package var bool: Bool? {
        switch node?.kind {
        case .true: true
        case .false: false
        default: nil
        }
    }

    /// The exact text of the value as it appears in the document (strings with their quotes
    /// and escapes); empty when missing.
    package var rawBytes: ArraySlice<UInt8> {
        guard let document, let node else { return [] }
        if node.kind == .string {
            return document.bytes[Int(node.start) - 1..<Int(node.end) + 1]
        }
        return document.bytes[Int(node.start)..<Int(node.end)]
    }

    /// ``rawBytes`` as a String.
    package var rawText: String {
        String(decoding: rawBytes, as: UTF8.self)
    }

    /// A number's text exactly as written (so integers beyond 64 bits keep every digit); nil
    /// for anything else.
    package var numberText: String? {
        guard node?.kind == .number else { return nil }
        return rawText
    }
}

extension JSONDocument {
    /// Compares a string entry's text with UTF-8 bytes, unescaping only when it has escapes.
    func key(at index: Int, equals wanted: UnsafeBufferPointer<UInt8>) -> Bool {
        let node = nodes[index]
        let start = Int(node.start)
        let length = Int(node.end) - start
        if node.flags & JSONNode.flagEscapedOrFractional != 0 {
            var decoded = decodeString(at: index)
            return decoded.withUTF8 { $0.elementsEqual(wanted) }
        }
        guard length == wanted.count else { return false }
        return bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress, let other = wanted.baseAddress else { return length == 0 }
            for offset in 0..<length where base[start + offset] != other[offset] {
                return false
            }
            return true
        }
    }

    /// The unescaped text of the string entry at `index`.
    func decodeString(at index: Int) -> String {
        let node = nodes[index]
        let start = Int(node.start)
        let end = Int(node.end)
        return bytes.withUnsafeBufferPointer { all in
            let raw = UnsafeBufferPointer(rebasing: all[start..<end])
            if node.flags & JSONNode.flagEscapedOrFractional == 0 {
                return String(decoding: raw, as: UTF8.self)
            }
            // Unescaping never lengthens the text: `\uXXXX` (6 bytes) becomes at most 3,
            // a surrogate pair (12) becomes 4, and the short escapes 2 become 1.
            return String(unsafeUninitializedCapacity: raw.count) { output in
                JSONStringUnescaper.unescape(raw, into: output)
            }
        }
    }
}
