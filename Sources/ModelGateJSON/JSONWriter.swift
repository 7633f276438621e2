/// Builds JSON text into a byte array.
///
/// The writer inserts commas and colons itself; the caller is responsible for the structure
/// (a key before every object member's value, balanced begin/end calls), as with any
/// streaming writer. Output is compact: no whitespace.
///
/// ```swift
/// var writer = JSONWriter()
/// writer.object { body in
///     body.member("model", string: "gpt-4o")
///     body.member("temperature", float: 0.7)
/// }
/// // {"model":"gpt-4o","temperature":0.7}
/// ```
package struct JSONWriter: Sendable {
    /// The text written so far.
    package private(set) var bytes: [UInt8]
    /// A value was just completed at the current level, so the next key or value needs a comma.
    private var needsComma = false

    package init(reservingCapacity capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    // MARK: Structure

    package mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    package mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    package mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    package mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes an object member's key; the next call writes its value.
    package mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes an object whose members `body` writes.
    package mutating func object(_ body: (inout JSONWriter) throws -> Void) rethrows {
        beginObject()
        try body(&self)
        endObject()
    }

    /// Writes an array whose elements `body` writes.
    package mutating func array(_ body: (inout JSONWriter) throws -> Void) rethrows {
        beginArray()
        try body(&self)
        endArray()
    }

    // MARK: Values

    /// A string, escaped: `"`, `\` and the control characters below U+0020; everything else,
    /// U+2028 and U+2029 included, is written as UTF-8.
    package mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    package mutating func int(_ value: Int64) {
        separate()
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            appendDigits(value.magnitude)
        } else {
            appendDigits(UInt64(value))
        }
        needsComma = true
    }

    package mutating func int(_ value: Int) {
        int(Int64(value))
    }

    package mutating func uint(_ value: UInt64) {
        separate()
        appendDigits(value)
        needsComma = true
    }

    /// A `Double` in the shortest form that reads back as the same value. JSON has no
    /// infinity or NaN: those are written as `null`.
    package mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        bytes.append(contentsOf: value.description.utf8)
        needsComma = true
    }

    /// A `Float` in the shortest form that reads back as the same `Float`, so 0.7 is written
    /// `0.7`, not the `0.699999988` its `Double` widening would print. Non-finite: `null`.
    package mutating func float(_ value: Float) {
        guard value.isFinite else { return null() }
        separate()
        bytes.append(contentsOf: value.description.utf8)
        needsComma = true
    }

    package mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: value ? "true".utf8 : "false".utf8)
        needsComma = true
    }

    package mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    /// Splices in a validated JSON value verbatim.
    package mutating func fragment(_ fragment: JSONFragment) {
        separate()
        bytes.append(contentsOf: fragment.bytes)
        needsComma = true
    }

    // MARK: Members

    package mutating func member(_ name: String, string value: String) {
        key(name)
        string(value)
    }

    package mutating func member(_ name: String, int value: Int64) {
        key(name)
        int(value)
    }

    package mutating func member(_ name: String, uint value: UInt64) {
        key(name)
        uint(value)
    }

    package mutating func member(_ name: String, double value: Double) {
        key(name)
        double(value)
    }

    package mutating func member(_ name: String, float value: Float) {
        key(name)
        float(value)
    }

    package mutating func member(_ name: String, bool value: Bool) {
        key(name)
        bool(value)
    }

    package mutating func member(_ name: String, fragment value: JSONFragment) {
        key(name)
        fragment(value)
    }

    // MARK: Helpers

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendDigits(_ value: UInt64) {
        var digitCount = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            digitCount += 1
        }
        var position = bytes.count + digitCount - 1
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digitCount))
        var rest = value
        repeat {
            bytes[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            position -= 1
        } while rest > 0
    }

    private mutating func appendQuoted(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            var runStart = 0
            for position in 0..<utf8.count {
                let byte = utf8[position]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < position {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position]))
                }
                appendEscape(for: byte)
                runStart = position + 1
            }
            if runStart < utf8.count {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    private mutating func appendEscape(for byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        default:
            let hex: StaticString = "0123456789abcdef"
            bytes.append(contentsOf: "u00".utf8)
            bytes.append(hex.utf8Start[Int(byte >> 4)])
            bytes.append(hex.utf8Start[Int(byte & 0x0F)])
        }
    }
}
