/// A complete JSON value held as text, known to be valid, ready to be spliced into a
/// ``JSONWriter``'s output.
///
/// Fragments come from outside (a caller's tool parameter schema, say); validating them here
/// means spliced text can never break the surrounding document or inject members into it.
package struct JSONFragment: Sendable, Hashable {
    /// The value's text, without surrounding whitespace.
    package let bytes: [UInt8]
    /// The kind of the value.
    package let kind: JSONKind

    /// Validates that `bytes` hold exactly one JSON value.
    /// - Throws: ``JSONParseError`` when they do not.
    package init(validating bytes: [UInt8], maxDepth: Int = JSONDocument.defaultMaxDepth) throws(JSONParseError) {
        let document = try JSONDocument(parsing: bytes, maxDepth: maxDepth)
        self.init(document.root)
    }

    /// Validates that `text` is exactly one JSON value.
    package init(validating text: String, maxDepth: Int = JSONDocument.defaultMaxDepth) throws(JSONParseError) {
        try self.init(validating: Array(text.utf8), maxDepth: maxDepth)
    }

    /// The text of a value already parsed. A missing value becomes `null`.
    package init(_ value: JSONValue) {
        if let kind = value.kind {
            self.bytes = value.rawBytes
            self.kind = kind
        } else {
            self.bytes = Array("null".utf8)
            self.kind = .null
        }
    }

    /// The fragment as a String.
    package var text: String { String(decoding: bytes, as: UTF8.self) }
}
