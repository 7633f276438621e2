/// A parsed JSON text: the original bytes plus a flat index ("tape") of every value in them.
///
/// Parsing validates the whole text once and records where each value starts and ends;
/// nothing is decoded until asked for. Strings are unescaped and numbers converted only when
/// a caller reads them, and looking up a key skips whole subtrees in one step, so extracting a
/// few fields from a provider's chunk costs little more than the validating scan.
///
/// The document is immutable and can be shared between tasks. Navigate it through ``root``.
package final class JSONDocument: Sendable {
    /// The parsed text, exactly as given.
    package let bytes: [UInt8]
    let nodes: [JSONNode]

    /// The default limit on container nesting.
    package static let defaultMaxDepth = 128

    /// Parses `bytes`, which must hold exactly one JSON value (RFC 8259), optionally
    /// surrounded by whitespace.
    /// - Parameter maxDepth: the deepest nesting of arrays and objects accepted.
    /// - Throws: ``JSONParseError`` with the byte offset of the first problem.
    package init(parsing bytes: [UInt8], maxDepth: Int = JSONDocument.defaultMaxDepth) throws(JSONParseError) {
        self.bytes = bytes
        self.nodes = try JSONParser.parse(bytes, maxDepth: maxDepth)
    }

    /// Parses UTF-8 text held elsewhere; the bytes are copied.
    package convenience init(
        parsing buffer: UnsafeRawBufferPointer, maxDepth: Int = JSONDocument.defaultMaxDepth
    ) throws(JSONParseError) {
        try self.init(parsing: Array(buffer), maxDepth: maxDepth)
    }

    /// Parses a string's UTF-8.
    package convenience init(parsing text: String, maxDepth: Int = JSONDocument.defaultMaxDepth) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8), maxDepth: maxDepth)
    }

    /// The top-level value.
    package var root: JSONValue { JSONValue(document: self, index: 0) }
}

/// One entry of a document's tape. Objects are followed by their members as alternating key
/// and value entries, arrays by their elements; `next` lets a reader skip a whole subtree.
struct JSONNode: Sendable {
    enum Kind: UInt8 {
        case null, `false`, `true`, number, string, array, object
    }

    /// For strings: the text contains backslash escapes. For numbers: it has a fraction or exponent.
    static let flagEscapedOrFractional: UInt8 = 1
    /// For numbers: a leading minus sign.
    static let flagNegative: UInt8 = 2

    var kind: Kind
    var flags: UInt8
    /// First byte of the value; for strings, the byte after the opening quote.
    var start: UInt32
    /// One past the last byte; for strings, the offset of the closing quote.
    var end: UInt32
    /// Index of the entry after this value's subtree.
    var next: UInt32
    /// Number of elements (arrays) or members (objects); 0 otherwise.
    var count: UInt32
}
