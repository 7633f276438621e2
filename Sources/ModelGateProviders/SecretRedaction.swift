/// Removes things that look like credentials from text that came from a provider before it
/// is put in an error the caller (and the logs) will see.
///
/// Providers echo keys back: OpenAI's 401 message quotes a masked key
/// (`Incorrect API key provided: sk-proj-****…abcd`), and proxies in front of compatible
/// servers sometimes echo request headers. The rules are deliberately simple:
/// 1. every exact occurrence of a configured secret (8 bytes or longer) is replaced;
/// 2. a token starting with `sk-`, `sk_`, `gsk_`, `xai-` or `AIza` (OpenAI, Anthropic, Groq,
///    xAI, Google key shapes) at a word boundary, with at least 8 more key characters
///    (letters, digits, `-`, `_`, `*`), is replaced whole;
/// 3. the word after `Bearer ` (any case) is replaced.
/// The result is then cut to ``maxLength`` bytes on a character boundary.
package enum SecretRedaction {
    /// What replaces a secret.
    package static let placeholder = "[REDACTED]"
    /// The longest upstream message kept, in UTF-8 bytes.
    package static let maxLength = 1024

    private static let keyPrefixes: [[UInt8]] = ["sk-", "sk_", "gsk_", "xai-", "AIza"].map { Array($0.utf8) }
    private static let minimumKeyTail = 8

    /// `text` with secrets replaced by ``placeholder`` and cut to ``maxLength`` bytes.
    package static func redact(_ text: String, secrets: [String] = []) -> String {
        var bytes = Array(text.utf8)
        for secret in secrets where secret.utf8.count >= 8 {
            bytes = replacingOccurrences(of: Array(secret.utf8), in: bytes)
        }
        bytes = redactKeyShapedTokens(bytes)
        bytes = redactBearerTokens(bytes)
        return truncated(bytes)
    }

    private static func isKeyCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "*"):
            true
        default:
            false
        }
    }

    private static func replacingOccurrences(of secret: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == secret[0], index + secret.count <= bytes.count,
                bytes[index..<index + secret.count].elementsEqual(secret)
            {
                result.append(contentsOf: placeholder.utf8)
                index += secret.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }

    private static func redactKeyShapedTokens(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let atBoundary = index == 0 || !isKeyCharacter(bytes[index - 1])
            if atBoundary, let prefix = keyPrefixes.first(where: { bytes[index...].starts(with: $0) }) {
                var end = index + prefix.count
                while end < bytes.count, isKeyCharacter(bytes[end]) { end += 1 }
                if end - index - prefix.count >= minimumKeyTail {
                    result.append(contentsOf: placeholder.utf8)
                    index = end
                    continue
                }
            }
            result.append(bytes[index])
            index += 1
        }
        return result
    }

    private static func redactBearerTokens(_ bytes: [UInt8]) -> [UInt8] {
        let word = Array("bearer ".utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if index + word.count < bytes.count,
                zip(bytes[index..<index + word.count], word).allSatisfy({ $0 | 0x20 == $1 })
            {
                result.append(contentsOf: bytes[index..<index + word.count])
                var end = index + word.count
                while end < bytes.count, bytes[end] != UInt8(ascii: " "), bytes[end] != UInt8(ascii: "\""),
                    bytes[end] >= 0x20
                {
                    end += 1
                }
                if end > index + word.count { result.append(contentsOf: placeholder.utf8) }
                index = end
                continue
            }
            result.append(bytes[index])
            index += 1
        }
        return result
    }

    private static func truncated(_ bytes: [UInt8]) -> String {
        guard bytes.count > maxLength else { return String(decoding: bytes, as: UTF8.self) }
        var end = maxLength
        // Back up to the start of a UTF-8 sequence so no character is split.
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: bytes[..<end], as: UTF8.self) + "…"
    }
}
