import ModelGateCrypto

/// Percent-encoding for the parts of provider URLs the gateway builds from configuration:
/// model ids in paths (Bedrock's `anthropic.claude-3-haiku-20240307-v1:0`, KServe model names
/// and versions) and the SigV4 canonical request.
package enum URIEncoding {
    /// `text` with every byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`)
    /// written as `%XX` (uppercase hex), as AWS SigV4 requires. A `/` is kept when
    /// `keepingSlash`, so whole paths can be encoded.
    package static func encode(_ text: some Sequence<UInt8>, keepingSlash: Bool = false) -> String {
        var result: [UInt8] = []
        result.reserveCapacity(text.underestimatedCount)
        for byte in text {
            if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                result.append(byte)
            } else {
                result.append(UInt8(ascii: "%"))
                result.append(upperHex[Int(byte >> 4)])
                result.append(upperHex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// One path segment: everything but unreserved characters is escaped, `/` and `:` included.
    package static func pathSegment(_ text: String) -> String {
        encode(text.utf8)
    }

    /// `%XX` escapes decoded (nothing else: `+` stays `+`); nil for a malformed escape.
    package static func decode(_ text: some Sequence<UInt8>) -> [UInt8]? {
        var result: [UInt8] = []
        var iterator = text.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                result.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Hex.value), let low = iterator.next().flatMap(Hex.value) else {
                return nil
            }
            result.append(high << 4 | low)
        }
        return result
    }

    private static let upperHex: [UInt8] = Array("0123456789ABCDEF".utf8)

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
