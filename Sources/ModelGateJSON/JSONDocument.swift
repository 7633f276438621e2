/// A parsed JSON text: a copy of the text plus a flat index ("tape") of every value in it.
///
/// Parsing validates the whole text once and records where each value starts and ends;
/// nothing is decoded until asked for. Strings are unescaped and numbers converted only when
/// a caller reads them, and looking up a key skips whole subtrees in one step, so extracting a
/// few fields from a provider's chunk costs little more than the validating scan.
///
/// The document is immutable and can be shared between tasks. Navigate it through ``root``.
package final class JSONDocument: @unchecked Sendable {
    // @unchecked: `text` and `nodes` are written only by `init` and read-only afterwards, so
    // concurrent readers never race; the class owns both allocations and frees them in
    // `deinit`. Raw storage rather than arrays keeps lookups free of reference counting.

    /// A copy of the parsed text.
    let text: UnsafeMutablePointer<UInt8>
    let textCount: Int
    let nodes: UnsafeMutablePointer<JSONNode>
    let nodeCount: Int

    /// The default limit on container nesting.
    package static let defaultMaxDepth = 128

    /// Parses `bytes`, which must hold exactly one JSON value (RFC 8259) in UTF-8, optionally
    /// surrounded by whitespace. The bytes are copied.
    /// - Parameter maxDepth: the deepest nesting of arrays and objects accepted.
    /// - Throws: ``JSONParseError`` with the byte offset of the first problem.
    package init(parsing bytes: [UInt8], maxDepth: Int = JSONDocument.defaultMaxDepth) throws(JSONParseError) {
        let storage = bytes.withUnsafeBytes { Self.parse(copying: $0, maxDepth: maxDepth) }
        (text, textCount, nodes, nodeCount) = try storage.get()
    }

    /// Parses UTF-8 text held elsewhere; the bytes are copied.
    package init(parsing buffer: UnsafeRawBufferPointer, maxDepth: Int = JSONDocument.defaultMaxDepth)
        throws(JSONParseError)
    {
        (text, textCount, nodes, nodeCount) = try Self.parse(copying: buffer, maxDepth: maxDepth).get()
    }

    private typealias Storage = (
        text: UnsafeMutablePointer<UInt8>, textCount: Int, nodes: UnsafeMutablePointer<JSONNode>, nodeCount: Int
    )

    private static func parse(copying buffer: UnsafeRawBufferPointer, maxDepth: Int) -> Result<Storage, JSONParseError> {
        guard buffer.count < Int(UInt32.max) else { return .failure(JSONParseError(.tooLarge, at: 0)) }
        let text = UnsafeMutablePointer<UInt8>.allocate(capacity: max(buffer.count, 1))
        if let source = buffer.baseAddress, buffer.count > 0 {
            UnsafeMutableRawPointer(text).copyMemory(from: source, byteCount: buffer.count)
        }
        do throws(JSONParseError) {
            let tape = try JSONParser.parse(text, count: buffer.count, maxDepth: maxDepth)
            return .success((text, buffer.count, tape.pointer, tape.count))
        } catch {
            text.deallocate()
            return .failure(error)
        }
    }

    /// Parses a string's UTF-8.
    package convenience init(parsing text: String, maxDepth: Int = JSONDocument.defaultMaxDepth) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8), maxDepth: maxDepth)
    }

    deinit {
        text.deallocate()
        nodes.deallocate()
    }

    /// The top-level value.
    package var root: JSONValue { JSONValue(document: self, index: 0) }

    /// The parsed text.
    package var bytes: [UInt8] { Array(UnsafeBufferPointer(start: text, count: textCount)) }
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

/// The growable tape the parser writes. A plain buffer rather than an Array: appending is
/// the parser's innermost operation and needs no uniqueness or bounds checks.
struct JSONTape {
    private(set) var pointer: UnsafeMutablePointer<JSONNode>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 4)
        self.pointer = .allocate(capacity: self.capacity)
    }

    @inline(__always)
    mutating func append(_ node: JSONNode) {
        if count == capacity { grow() }
        (pointer + count).initialize(to: node)
        count += 1
    }

    @inline(__always)
    subscript(index: Int) -> JSONNode {
        get { pointer[index] }
        nonmutating set { pointer[index] = newValue }
    }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<JSONNode>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: pointer, count: count)
        pointer.deallocate()
        pointer = larger
        capacity *= 2
    }

    /// Frees the storage of a tape that will not become a document.
    func discard() {
        pointer.deallocate()
    }
}
