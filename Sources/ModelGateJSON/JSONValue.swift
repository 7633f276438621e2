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
    /// key. When a key appears more than once, the first occurrence wins. Cost: one comparison
    /// per member before the match (most fail on length alone), nothing per nested value.
    package subscript(key: String) -> JSONValue {
        guard let document, let member = document.member(of: index, named: key) else { return .missing }
        return JSONValue(document: document, index: member)
    }

    /// An array's element; missing if the value is not an array or `position` is out of range.
    /// It walks the elements before it, so iterate with ``elements`` rather than indexing in a loop.
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
        Elements(children: children(of: .array))
    }

    /// An object's members in order; empty for anything else.
    package var members: Members {
        Members(children: children(of: .object))
    }

    private func children(of kind: JSONNode.Kind) -> Children {
        guard let document, document.nodes[index].kind == kind else { return Children(document: nil, position: 0, end: 0) }
        return Children(document: document, position: index + 1, end: Int(document.nodes[index].next))
    }

    /// Walks the tape entries of an array's elements, or of an object's keys (each followed by
    /// its value), skipping nested subtrees.
    struct Children: Sendable {
        let document: JSONDocument?
        var position: Int
        let end: Int

        /// The next child's tape index; `valueOffset` is 1 for objects (the value follows its key).
        mutating func next(valueOffset: Int) -> (JSONDocument, Int)? {
            guard let document, position < end else { return nil }
            let child = position
            position = Int(document.nodes[position + valueOffset].next)
            return (document, child)
        }
    }

    /// A sequence over an array's elements.
    package struct Elements: Sequence, IteratorProtocol, Sendable {
        var children: Children

        package mutating func next() -> JSONValue? {
            guard let (document, child) = children.next(valueOffset: 0) else { return nil }
            return JSONValue(document: document, index: child)
        }
    }

    /// A sequence over an object's members.
    package struct Members: Sequence, IteratorProtocol, Sendable {
        var children: Children

        package mutating func next() -> (key: String, value: JSONValue)? {
            guard let (document, key) = children.next(valueOffset: 1) else { return nil }
            return (document.decodeString(at: key), JSONValue(document: document, index: key + 1))
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
        return document.string(at: index, equals: text)
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
    package var rawBytes: [UInt8] {
        guard let document else { return [] }
        return Array(document.rawText(at: index))
    }

    /// ``rawBytes`` as a String.
    package var rawText: String {
        guard let document else { return "" }
        return String(decoding: document.rawText(at: index), as: UTF8.self)
    }

    /// A number's text exactly as written (so integers beyond 64 bits keep every digit); nil
    /// for anything else.
    package var numberText: String? {
        guard node?.kind == .number else { return nil }
        return rawText
    }
}

extension JSONDocument {
    /// The tape index of the value of the first member named `key` of the object at
    /// `object`; nil when there is none or `object` is not an object.
    func member(of object: Int, named key: String) -> Int? {
        guard nodes[object].kind == .object else { return nil }
        if let found = key.utf8.withContiguousStorageIfAvailable({ member(of: object, named: $0) }) {
            return found
        }
        var key = key
        return key.withUTF8 { member(of: object, named: $0) }
    }

    private func member(of object: Int, named wanted: UnsafeBufferPointer<UInt8>) -> Int? {
        let end = Int(nodes[object].next)
        var keyIndex = object + 1
        while keyIndex < end {
            if string(at: keyIndex, equals: wanted) { return keyIndex + 1 }
            keyIndex = Int(nodes[keyIndex + 1].next)
        }
        return nil
    }

    /// Whether the string entry at `index` is `expected`.
    func string(at index: Int, equals expected: String) -> Bool {
        if let result = expected.utf8.withContiguousStorageIfAvailable({ string(at: index, equals: $0) }) {
            return result
        }
        var expected = expected
        return expected.withUTF8 { string(at: index, equals: $0) }
    }

    /// Compares a string entry's text with UTF-8 bytes, unescaping only when it has escapes.
    @inline(__always)
    private func string(at index: Int, equals wanted: UnsafeBufferPointer<UInt8>) -> Bool {
        let node = nodes[index]
        let start = Int(node.start)
        let length = Int(node.end) - start
        if node.flags & JSONNode.flagEscapedOrFractional != 0 {
            var decoded = decodeString(at: index)
            return decoded.withUTF8 { $0.elementsEqual(wanted) }
        }
        guard length == wanted.count else { return false }
        guard let other = wanted.baseAddress else { return true }  // both empty
        var offset = 0
        while offset < length {
            if text[start + offset] != other[offset] { return false }
            offset += 1
        }
        return true
    }

    /// The exact text of the entry at `index` (strings with their quotes).
    func rawText(at index: Int) -> UnsafeBufferPointer<UInt8> {
        let node = nodes[index]
        if node.kind == .string {
            return UnsafeBufferPointer(start: text + Int(node.start) - 1, count: Int(node.end - node.start) + 2)
        }
        return UnsafeBufferPointer(start: text + Int(node.start), count: Int(node.end - node.start))
    }

    /// The unescaped text of the string entry at `index`.
    func decodeString(at index: Int) -> String {
        let node = nodes[index]
        let raw = UnsafeBufferPointer(start: text + Int(node.start), count: Int(node.end - node.start))
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
