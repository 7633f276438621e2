/// Why JSON text was rejected, and where.
package struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong at ``offset``.
    package enum Reason: Sendable, Hashable {
        /// The text ended inside a value.
        case unexpectedEnd
        /// A byte that cannot start or continue a value here.
        case unexpectedByte(UInt8)
        /// A backslash followed by something other than `"\/bfnrtu`.
        case invalidEscape
        /// `\u` not followed by four hex digits.
        case invalidUnicodeEscape
        /// Bytes inside a string that are not UTF-8.
        case invalidUTF8
        /// An unescaped byte below 0x20 inside a string.
        case controlCharacterInString
        /// A number that does not follow the JSON grammar (`01`, `1.`, `-`, `1e`).
        case invalidNumber
        /// Containers nested deeper than the parser's limit.
        case tooDeep(limit: Int)
        /// Something other than whitespace after the top-level value.
        case trailingData
        /// The text is longer than a document can index (4 GiB).
        case tooLarge
    }

    package var reason: Reason
    /// Byte offset of the problem in the parsed text (its length for `unexpectedEnd`).
    package var offset: Int

    package init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    package var description: String {
        let what: String
        switch reason {
        case .unexpectedEnd: what = "unexpected end of JSON"
        case .unexpectedByte(let byte): what = "unexpected byte 0x\(String(byte, radix: 16))"
        case .invalidEscape: what = "invalid escape sequence"
        case .invalidUnicodeEscape: what = "invalid \\u escape"
        case .invalidUTF8: what = "invalid UTF-8 in string"
        case .controlCharacterInString: what = "unescaped control character in string"
        case .invalidNumber: what = "invalid number"
        case .tooDeep(let limit): what = "nesting deeper than \(limit)"
        case .trailingData: what = "data after the JSON value"
        case .tooLarge: what = "JSON text too large"
        }
        return "\(what) at byte \(offset)"
    }
}
