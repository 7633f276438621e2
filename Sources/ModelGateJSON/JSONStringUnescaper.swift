/// Turns the validated body of a JSON string (between its quotes) into UTF-8.
enum JSONStringUnescaper {
    /// Writes the unescaped bytes of `raw` into `output` and returns how many were written.
    ///
    /// `raw` was validated by the parser, so every escape is complete. A `\u` escape naming a
    /// lone surrogate cannot be represented in UTF-8; it becomes U+FFFD rather than failing
    /// the whole document, because models do emit broken surrogate pairs when a stream splits
    /// an emoji.
    static func unescape(_ raw: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var read = 0
        var written = 0
        let count = raw.count

        func put(_ byte: UInt8) {
            output[written] = byte
            written += 1
        }

        func putScalar(_ value: UInt32) {
            switch value {
            case 0..<0x80:
                put(UInt8(value))
            case 0x80..<0x800:
                put(UInt8(0xC0 | (value >> 6)))
                put(UInt8(0x80 | (value & 0x3F)))
            case 0x800..<0x10000:
                put(UInt8(0xE0 | (value >> 12)))
                put(UInt8(0x80 | ((value >> 6) & 0x3F)))
                put(UInt8(0x80 | (value & 0x3F)))
            default:
                put(UInt8(0xF0 | (value >> 18)))
                put(UInt8(0x80 | ((value >> 12) & 0x3F)))
                put(UInt8(0x80 | ((value >> 6) & 0x3F)))
                put(UInt8(0x80 | (value & 0x3F)))
            }
        }

        /// The four hex digits at `offset`, or nil if they are not there.
        func hex4(at offset: Int) -> UInt32? {
            guard offset + 4 <= count else { return nil }
            var value: UInt32 = 0
            for i in 0..<4 {
                guard let digit = hexValue(raw[offset + i]) else { return nil }
                value = value << 4 | digit
            }
            return value
        }

        while read < count {
            let byte = raw[read]
            guard byte == UInt8(ascii: "\\") else {
                put(byte)
                read += 1
                continue
            }
            let escape = raw[read + 1]
            read += 2
            switch escape {
            case UInt8(ascii: "n"): put(0x0A)
            case UInt8(ascii: "t"): put(0x09)
            case UInt8(ascii: "r"): put(0x0D)
            case UInt8(ascii: "b"): put(0x08)
            case UInt8(ascii: "f"): put(0x0C)
            case UInt8(ascii: "u"):
                let unit = hex4(at: read) ?? 0xFFFD
                read += 4
                switch unit {
                case 0xD800..<0xDC00:
                    // A high surrogate must be followed by `\u` and a low surrogate.
                    if read + 6 <= count, raw[read] == UInt8(ascii: "\\"), raw[read + 1] == UInt8(ascii: "u"),
                        let low = hex4(at: read + 2), (0xDC00..<0xE000).contains(low)
                    {
                        putScalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                        read += 6
                    } else {
                        putScalar(0xFFFD)
                    }
                case 0xDC00..<0xE000:
                    putScalar(0xFFFD)
                default:
                    putScalar(unit)
                }
            default:
                put(escape)  // `"`, `\` and `/` stand for themselves
            }
        }
        return written
    }
}
