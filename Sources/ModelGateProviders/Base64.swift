/// Standard base64 (RFC 4648 §4, padded), for inline images in provider requests.
package enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The base64 text of `bytes`.
    package static func encode(_ bytes: [UInt8]) -> String {
        let outputCount = (bytes.count + 2) / 3 * 4
        return String(unsafeUninitializedCapacity: outputCount) { output in
            alphabet.withUnsafeBufferPointer { table in
                var written = 0
                var index = 0
                while index + 3 <= bytes.count {
                    let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                    output[written] = table[Int(group >> 18)]
                    output[written + 1] = table[Int(group >> 12 & 0x3F)]
                    output[written + 2] = table[Int(group >> 6 & 0x3F)]
                    output[written + 3] = table[Int(group & 0x3F)]
                    written += 4
                    index += 3
                }
                let remaining = bytes.count - index
                if remaining > 0 {
                    let second = remaining == 2 ? UInt32(bytes[index + 1]) : 0
                    let group = UInt32(bytes[index]) << 16 | second << 8
                    output[written] = table[Int(group >> 18)]
                    output[written + 1] = table[Int(group >> 12 & 0x3F)]
                    output[written + 2] = remaining == 2 ? table[Int(group >> 6 & 0x3F)] : UInt8(ascii: "=")
                    output[written + 3] = UInt8(ascii: "=")
                    written += 4
                }
                return written
            }
        }
    }

    /// The bytes of padded or unpadded standard base64 text; nil for any other character or
    /// an impossible length.
    package static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count / 4 * 3)
        var group: UInt32 = 0
        var count = 0
        var padding = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            default:
                return nil
            }
            guard padding == 0 else { return nil }  // data after padding
            group = group << 6 | UInt32(value)
            count += 1
            if count == 4 {
                result.append(UInt8(truncatingIfNeeded: group >> 16))
                result.append(UInt8(truncatingIfNeeded: group >> 8))
                result.append(UInt8(truncatingIfNeeded: group))
                group = 0
                count = 0
            }
        }
        switch count {
        case 0:
            guard padding == 0 else { return nil }
        case 2:
            guard padding == 0 || padding == 2 else { return nil }
            result.append(UInt8(truncatingIfNeeded: group >> 4))
        case 3:
            guard padding == 0 || padding == 1 else { return nil }
            result.append(UInt8(truncatingIfNeeded: group >> 10))
            result.append(UInt8(truncatingIfNeeded: group >> 2))
        default:
            return nil
        }
        return result
    }
}
