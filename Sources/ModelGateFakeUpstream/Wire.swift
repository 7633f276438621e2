import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock helpers. Event timestamps are Unix epoch milliseconds so that a test in another
/// process can compare them with its own clock.
enum WallClock {
    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func nowSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}

// Hand-rolled number and JSON-string writers: `String(n)` and `String.description` allocate,
// and these run once per streamed token.
extension ByteBuffer {
    /// Writes `value` in decimal without allocating.
    @discardableResult
    mutating func writeDecimal<I: BinaryInteger>(_ value: I) -> Int {
        var written = 0
        var magnitude = UInt64(value.magnitude)
        if value < 0 {
            written += self.writeInteger(UInt8(ascii: "-"))
        }
        var digits = 1
        var probe = magnitude
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        written += self.writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { out in
            var index = digits - 1
            while index >= 0 {
                out[index] = UInt8(truncatingIfNeeded: 48 + magnitude % 10)
                magnitude /= 10
                index -= 1
            }
            return digits
        }
        return written
    }

    /// Writes `value` in lowercase hexadecimal (HTTP chunk sizes).
    @discardableResult
    mutating func writeHex(_ value: Int) -> Int {
        var remaining = UInt(value)
        var digits = 1
        var probe = remaining
        while probe >= 16 {
            probe >>= 4
            digits += 1
        }
        return self.writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { out in
            var index = digits - 1
            while index >= 0 {
                let nibble = UInt8(truncatingIfNeeded: remaining & 0xF)
                out[index] = nibble < 10 ? 48 + nibble : 87 + nibble
                remaining >>= 4
                index -= 1
            }
            return digits
        }
    }

    /// Writes `string` as a quoted JSON string.
    @discardableResult
    mutating func writeJSONString(_ string: String) -> Int {
        var written = self.writeInteger(UInt8(ascii: "\""))
        written += self.writeJSONStringContents(string)
        written += self.writeInteger(UInt8(ascii: "\""))
        return written
    }

    /// Writes `string` JSON-escaped, without quotes.
    @discardableResult
    mutating func writeJSONStringContents(_ string: String) -> Int {
        var needsEscaping = false
        for byte in string.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            needsEscaping = true
            break
        }
        if !needsEscaping {
            return self.writeString(string)
        }
        var written = 0
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): written += self.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): written += self.writeStaticString("\\\\")
            case UInt8(ascii: "\n"): written += self.writeStaticString("\\n")
            case UInt8(ascii: "\r"): written += self.writeStaticString("\\r")
            case UInt8(ascii: "\t"): written += self.writeStaticString("\\t")
            case 0..<0x20:
                written += self.writeStaticString("\\u00")
                let high = byte >> 4
                let low = byte & 0xF
                written += self.writeInteger(high < 10 ? 48 + high : 87 + high)
                written += self.writeInteger(low < 10 ? 48 + low : 87 + low)
            default:
                written += self.writeInteger(byte)
            }
        }
        return written
    }

    /// Writes a JSON string, or `null` when `string` is nil.
    @discardableResult
    mutating func writeJSONStringOrNull(_ string: String?) -> Int {
        guard let string else { return self.writeStaticString("null") }
        return self.writeJSONString(string)
    }

    /// Writes `k / 1000` (k >= 0) as an exact decimal literal: `0.001`, `0.02`, `1.5`, `2.0`.
    /// An exact decimal parses to the nearest double, which is what `Double(k) / 1000` is.
    mutating func writeThousandths(_ k: Int) {
        self.writeDecimal(k / 1000)
        self.writeInteger(UInt8(ascii: "."))
        let fraction = k % 1000
        let digits = [fraction / 100, (fraction / 10) % 10, fraction % 10]
        var last = 2
        while last > 0 && digits[last] == 0 {
            last -= 1
        }
        for index in 0...last {
            self.writeInteger(UInt8(truncatingIfNeeded: 48 + digits[index]))
        }
    }
}

// Byte-level string tests: `hasPrefix`/`hasSuffix` on String compare Characters (grapheme
// breaking), which showed up in profiles of the request path.
extension Substring {
    func utf8HasPrefix(_ prefix: StaticString) -> Bool {
        let bytes = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        return self.utf8.starts(with: bytes)
    }

    func utf8HasSuffix(_ suffix: StaticString) -> Bool {
        let bytes = UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount)
        let utf8 = self.utf8
        return utf8.count >= bytes.count && utf8.suffix(bytes.count).elementsEqual(bytes)
    }
}

/// HTTP status reason phrases for the codes a provider plausibly sends.
enum HTTPReason {
    static func phrase(_ code: Int) -> String {
        switch code {
        case 100: return "Continue"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 402: return "Payment Required"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 413: return "Payload Too Large"
        case 422: return "Unprocessable Entity"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 529: return "Site Overloaded"
        default: return "Status \(code)"
        }
    }
}

/// How a response body is delimited on the wire.
enum BodyFraming {
    case contentLength(Int)
    case chunked
    /// HTTP/1.0 clients get streams delimited by connection close, since they cannot de-chunk.
    case closeDelimited
}

/// Everything needed to write a response head.
struct ResponseHead {
    var status: Int = 200
    var contentType: String = "application/json"
    var framing: BodyFraming = .contentLength(0)
    var requestSeq: Int?
    var retryAfter: String?
    var retryAfterMilliseconds: String?
    var close = false
    /// HTTP/1.0 clients that asked for keep-alive need it confirmed.
    var keepAliveHeader = false
    /// Provider-specific headers (Bedrock's `x-amzn-RequestId`, `x-amzn-ErrorType`).
    var extraHeaders: [(String, String)] = []

    func write(into buffer: inout ByteBuffer) {
        if self.status == 200 {
            buffer.writeStaticString("HTTP/1.1 200 OK\r\n")
        } else {
            buffer.writeStaticString("HTTP/1.1 ")
            buffer.writeDecimal(self.status)
            buffer.writeInteger(UInt8(ascii: " "))
            buffer.writeString(HTTPReason.phrase(self.status))
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("content-type: ")
        buffer.writeString(self.contentType)
        buffer.writeStaticString("\r\n")
        switch self.framing {
        case .contentLength(let length):
            buffer.writeStaticString("content-length: ")
            buffer.writeDecimal(length)
            buffer.writeStaticString("\r\n")
        case .chunked:
            buffer.writeStaticString("transfer-encoding: chunked\r\n")
        case .closeDelimited:
            break
        }
        if let seq = self.requestSeq {
            buffer.writeStaticString("x-request-id: req_fake_")
            buffer.writeDecimal(seq)
            buffer.writeStaticString("\r\n")
        }
        if let value = self.retryAfter {
            buffer.writeStaticString("retry-after: ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        if let value = self.retryAfterMilliseconds {
            buffer.writeStaticString("retry-after-ms: ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        for (name, value) in self.extraHeaders {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        if self.close {
            buffer.writeStaticString("connection: close\r\n")
        } else if self.keepAliveHeader {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
    }
}

/// Writes HTTP body pieces in the response's framing.
enum BodyWriter {
    /// Frames `length` bytes that the caller writes next; call `end` afterwards.
    @inline(__always)
    static func begin(_ length: Int, framing: BodyFraming, into buffer: inout ByteBuffer) {
        if case .chunked = framing {
            buffer.writeHex(length)
            buffer.writeStaticString("\r\n")
        }
    }

    @inline(__always)
    static func end(framing: BodyFraming, into buffer: inout ByteBuffer) {
        if case .chunked = framing {
            buffer.writeStaticString("\r\n")
        }
    }

    /// Writes the body terminator (the zero-length chunk) when chunked.
    static func finish(framing: BodyFraming, into buffer: inout ByteBuffer) {
        if case .chunked = framing {
            buffer.writeStaticString("0\r\n\r\n")
        }
    }

    /// Writes one framed piece.
    static func piece(_ bytes: ByteBuffer, framing: BodyFraming, into buffer: inout ByteBuffer) {
        self.begin(bytes.readableBytes, framing: framing, into: &buffer)
        var bytes = bytes
        buffer.writeBuffer(&bytes)
        self.end(framing: framing, into: &buffer)
    }
}

/// OpenAI-shaped error bodies: `{"error":{"message","type","param","code"}}`.
struct OpenAIError {
    var message: String
    var type: String
    var param: String?
    var code: String?

    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 128 + self.message.utf8.count)
        buffer.writeStaticString("{\"error\":{\"message\":")
        buffer.writeJSONString(self.message)
        buffer.writeStaticString(",\"type\":")
        buffer.writeJSONString(self.type)
        buffer.writeStaticString(",\"param\":")
        buffer.writeJSONStringOrNull(self.param)
        buffer.writeStaticString(",\"code\":")
        buffer.writeJSONStringOrNull(self.code)
        buffer.writeStaticString("}}")
        return buffer
    }

    /// What OpenAI sends for `status`, for the fields a scenario leaves unset.
    static func defaults(forStatus status: Int) -> OpenAIError {
        switch status {
        case 400:
            return OpenAIError(message: "Invalid request.", type: "invalid_request_error", param: nil, code: nil)
        case 401:
            return OpenAIError(
                message: "Incorrect API key provided.", type: "invalid_request_error", param: nil, code: "invalid_api_key")
        case 403:
            return OpenAIError(
                message: "You are not allowed to access this resource.", type: "invalid_request_error", param: nil,
                code: "unsupported_country_region_territory")
        case 404:
            return OpenAIError(
                message: "The model does not exist or you do not have access to it.", type: "invalid_request_error",
                param: nil, code: "model_not_found")
        case 429:
            return OpenAIError(
                message: "Rate limit reached for requests. Please try again later.", type: "requests", param: nil,
                code: "rate_limit_exceeded")
        case 503:
            return OpenAIError(
                message: "The engine is currently overloaded, please try again later", type: "server_error",
                param: nil, code: nil)
        case 500..<600:
            return OpenAIError(
                message: "The server had an error while processing your request. Sorry about that!",
                type: "server_error", param: nil, code: nil)
        default:
            return OpenAIError(
                message: "Request failed with status \(status).", type: "invalid_request_error", param: nil, code: nil)
        }
    }
}
