import ModelGateCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A header value of the `application/vnd.amazon.eventstream` framing.
package enum AWSEventStreamHeaderValue: Sendable, Hashable {
    case bool(Bool)
    case byte(Int8)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case byteArray([UInt8])
    case string(String)
    /// Milliseconds since the Unix epoch.
    case timestamp(Int64)
    /// 16 bytes.
    case uuid([UInt8])
}

/// One header of an event-stream message.
package struct AWSEventStreamHeader: Sendable, Hashable {
    package var name: String
    package var value: AWSEventStreamHeaderValue

    package init(_ name: String, _ value: AWSEventStreamHeaderValue) {
        self.name = name
        self.value = value
    }
}

/// One decoded message: its headers in wire order and its payload.
package struct AWSEventStreamMessage: Sendable, Hashable {
    package var headers: [AWSEventStreamHeader]
    package var payload: [UInt8]

    package init(headers: [AWSEventStreamHeader], payload: [UInt8]) {
        self.headers = headers
        self.payload = payload
    }

    /// The value of the header called `name` (names are case-sensitive).
    package subscript(header name: String) -> AWSEventStreamHeaderValue? {
        headers.first { $0.name == name }?.value
    }

    /// The header called `name` when it is a string.
    package func string(_ name: String) -> String? {
        if case .string(let text) = self[header: name] { return text }
        return nil
    }
}

/// Why event-stream bytes were rejected. Every case is fatal for the stream: after a bad frame
/// there is no way to find the next one.
package enum AWSEventStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The CRC of the 8 length bytes does not match: the lengths cannot be trusted.
    case preludeChecksumMismatch(expected: UInt32, computed: UInt32)
    /// The CRC of the whole message does not match.
    case messageChecksumMismatch(expected: UInt32, computed: UInt32)
    /// `total_length` is below the 16-byte minimum.
    case invalidTotalLength(UInt32)
    /// `headers_length` exceeds the limit or does not fit in the message.
    case invalidHeadersLength(UInt32)
    /// `total_length` exceeds the limit (checked before anything is buffered for it).
    case messageTooLarge(UInt32, limit: Int)
    case duplicateHeader(String)
    /// Truncated or unknown header encoding.
    case invalidHeader(String)

    package var description: String {
        switch self {
        case .preludeChecksumMismatch(let expected, let computed):
            "prelude CRC mismatch (sent \(expected), computed \(computed))"
        case .messageChecksumMismatch(let expected, let computed):
            "message CRC mismatch (sent \(expected), computed \(computed))"
        case .invalidTotalLength(let length): "invalid message length \(length)"
        case .invalidHeadersLength(let length): "invalid headers length \(length)"
        case .messageTooLarge(let length, let limit): "message of \(length) bytes exceeds the \(limit)-byte limit"
        case .duplicateHeader(let name): "duplicate header \"\(name)\""
        case .invalidHeader(let problem): "invalid header: \(problem)"
        }
    }
}

/// Incremental decoder of the `application/vnd.amazon.eventstream` binary framing (Bedrock
/// ConverseStream, InvokeModelWithResponseStream, Transcribe, …).
///
/// ```
/// total_length u32 BE | headers_length u32 BE | prelude_crc u32 BE = CRC32(bytes 0..<8)
/// headers (headers_length bytes) | payload | message_crc u32 BE = CRC32(bytes 0..<total-4)
/// header := name_len u8, name, type u8, value   (types 0…9: true, false, i8, i16, i32, i64,
///           u16-length bytes, u16-length string, i64 timestamp, 16-byte uuid)
/// ```
///
/// The prelude CRC is checked before the lengths are believed, and the lengths against the
/// limits before a single byte more is buffered for the message, so a corrupt or hostile
/// length cannot make the gateway allocate. Feed bytes as they arrive with ``append(_:)``,
/// then call ``next()`` until it returns nil; the result does not depend on how the input was
/// split.
package struct AWSEventStreamDecoder: Sendable {
    /// aws-c-event-stream's and botocore's limits.
    package static let defaultMaxMessageBytes = 24 << 20
    package static let defaultMaxHeaderBytes = 128 << 10
    private static let preludeBytes = 12
    private static let minimumMessageBytes = 16

    private let maxMessageBytes: Int
    private let maxHeaderBytes: Int
    private var buffer: [UInt8] = []
    /// Where the next message starts in `buffer`.
    private var start = 0
    /// Where the current message's headers are, reused across messages.
    private var headerTable: [AWSEventStreamMessageView.HeaderLocation] = []

    package init(maxMessageBytes: Int = defaultMaxMessageBytes, maxHeaderBytes: Int = defaultMaxHeaderBytes) {
        self.maxMessageBytes = maxMessageBytes
        self.maxHeaderBytes = maxHeaderBytes
    }

    /// Bytes received but not yet returned as a message.
    package var bufferedByteCount: Int { buffer.count - start }

    /// Whether part of a message is pending (the input ended mid-message if no more comes).
    package var hasPartialMessage: Bool { bufferedByteCount > 0 }

    /// Adds received bytes.
    package mutating func append(_ bytes: some Collection<UInt8>) {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 0, start >= buffer.count / 2 {
            // Drop consumed messages once they are most of the buffer, so it cannot grow
            // without bound and compaction copies at most as much as it frees.
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, or nil until more bytes arrive.
    package mutating func next() throws(AWSEventStreamError) -> AWSEventStreamMessage? {
        try nextMessage { AWSEventStreamMessage(headers: $0.headerList, payload: Array($0.payload)) }
    }

    /// Hands the next complete, checksum-verified message to `body` without copying it (the
    /// view is valid only inside `body`), and returns what `body` made of it; nil until more
    /// bytes arrive. The relay path uses this: looking a header up or parsing the payload
    /// needs no allocation for the message itself.
    package mutating func nextMessage<R>(_ body: (AWSEventStreamMessageView) -> R) throws(AWSEventStreamError) -> R? {
        guard let frame = try nextFrame() else { return nil }
        // The header table is reused from message to message (moved out and back, so filling
        // it never copies).
        var headers = headerTable
        headerTable = []
        defer { headerTable = headers }
        let result = buffer.withUnsafeBytes { bytes in
            Result { () throws(AWSEventStreamError) -> R in
                let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[frame.headers])
                try AWSEventStreamMessageView.index(headerBytes, into: &headers)
                return headers.withUnsafeBufferPointer { table in
                    body(
                        AWSEventStreamMessageView(
                            headerBytes: headerBytes, headers: table,
                            payload: UnsafeRawBufferPointer(rebasing: bytes[frame.payload])))
                }
            }
        }
        return try result.get()
    }

    /// The byte ranges of the next complete, checksum-verified message; consumes it.
    private mutating func nextFrame() throws(AWSEventStreamError) -> (headers: Range<Int>, payload: Range<Int>)? {
        let available = buffer.count - start
        guard available >= Self.preludeBytes else { return nil }
        let totalLength = bigEndianUInt32(at: start)
        let headersLength = bigEndianUInt32(at: start + 4)
        let expectedPreludeCRC = bigEndianUInt32(at: start + 8)
        let preludeCRC = checksum(start..<start + 8)
        guard expectedPreludeCRC == preludeCRC else {
            throw .preludeChecksumMismatch(expected: expectedPreludeCRC, computed: preludeCRC)
        }
        guard totalLength >= UInt32(Self.minimumMessageBytes) else { throw .invalidTotalLength(totalLength) }
        guard Int(headersLength) <= maxHeaderBytes, headersLength <= totalLength - UInt32(Self.minimumMessageBytes)
        else { throw .invalidHeadersLength(headersLength) }
        guard Int(totalLength) <= maxMessageBytes else { throw .messageTooLarge(totalLength, limit: maxMessageBytes) }
        let total = Int(totalLength)
        guard available >= total else { return nil }

        let messageStart = start
        let crcOffset = messageStart + total - 4
        let expectedMessageCRC = bigEndianUInt32(at: crcOffset)
        let messageCRC = checksum(messageStart..<crcOffset)
        guard expectedMessageCRC == messageCRC else {
            throw .messageChecksumMismatch(expected: expectedMessageCRC, computed: messageCRC)
        }
        start += total
        let headersStart = messageStart + Self.preludeBytes
        let payloadStart = headersStart + Int(headersLength)
        return (headersStart..<payloadStart, payloadStart..<crcOffset)
    }

    private func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(buffer[offset]) << 24 | UInt32(buffer[offset + 1]) << 16 | UInt32(buffer[offset + 2]) << 8
            | UInt32(buffer[offset + 3])
    }

    private func checksum(_ range: Range<Int>) -> UInt32 {
        buffer.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
}

/// One message of an event stream, as bytes inside the decoder's buffer (valid only in the
/// closure given to ``AWSEventStreamDecoder/nextMessage(_:)``). Its headers were validated:
/// known value types, within bounds, no name twice.
package struct AWSEventStreamMessageView {
    /// Where one header's name and value are in the headers block.
    struct HeaderLocation {
        var name: Range<Int>
        var type: UInt8
        var value: Range<Int>
    }

    /// The encoded headers and where each one is.
    let headerBytes: UnsafeRawBufferPointer
    let headers: UnsafeBufferPointer<HeaderLocation>
    package let payload: UnsafeRawBufferPointer

    /// More headers than any real message has; bounds the duplicate check's cost.
    static let maxHeaderCount = 1024

    /// The value bytes of string header `name` (type 7); nil when absent or of another type.
    package func stringValue(_ name: StaticString) -> UnsafeRawBufferPointer? {
        let wanted = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        for header in headers where header.type == 7 && Self.equal(slice(header.name), wanted) {
            return slice(header.value)
        }
        return nil
    }

    /// String header `name` as a String.
    package func string(_ name: StaticString) -> String? {
        stringValue(name).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every header, decoded.
    package var headerList: [AWSEventStreamHeader] {
        headers.map { header in
            let value = slice(header.value)
            func integer() -> UInt64 { value.reduce(0) { $0 << 8 | UInt64($1) } }
            let decoded: AWSEventStreamHeaderValue
            switch header.type {
            case 0: decoded = .bool(true)
            case 1: decoded = .bool(false)
            case 2: decoded = .byte(Int8(truncatingIfNeeded: integer()))
            case 3: decoded = .int16(Int16(truncatingIfNeeded: integer()))
            case 4: decoded = .int32(Int32(truncatingIfNeeded: integer()))
            case 5: decoded = .int64(Int64(truncatingIfNeeded: integer()))
            case 6: decoded = .byteArray(Array(value))
            case 7: decoded = .string(String(decoding: value, as: UTF8.self))
            case 8: decoded = .timestamp(Int64(truncatingIfNeeded: integer()))
            default: decoded = .uuid(Array(value))
            }
            return AWSEventStreamHeader(String(decoding: slice(header.name), as: UTF8.self), decoded)
        }
    }

    private func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: headerBytes[range])
    }

    static func equal(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        guard left.count == right.count else { return false }
        guard let leftStart = left.baseAddress, let rightStart = right.baseAddress else { return true }
        return memcmp(leftStart, rightStart, left.count) == 0
    }

    /// Finds every header of `bytes` (`name_len u8, name, type u8, value`; value sizes by
    /// type: 0 for the booleans, 1, 2, 4, 8 for the integers, a u16 length then the bytes for
    /// byte arrays and strings, 8 for timestamps, 16 for UUIDs) and checks them: complete, of
    /// a known type, no name twice.
    static func index(_ bytes: UnsafeRawBufferPointer, into table: inout [HeaderLocation]) throws(AWSEventStreamError) {
        table.removeAll(keepingCapacity: true)
        var offset = 0
        func take(_ count: Int, _ what: StaticString) throws(AWSEventStreamError) -> Int {
            guard count <= bytes.count - offset else { throw .invalidHeader("\(what) runs past the headers") }
            defer { offset += count }
            return offset
        }
        while offset < bytes.count {
            guard table.count < maxHeaderCount else { throw .invalidHeader("more than \(maxHeaderCount) headers") }
            let nameLength = Int(bytes[try take(1, "name length")])
            let nameStart = try take(nameLength, "name")
            let name = nameStart..<nameStart + nameLength
            let type = bytes[try take(1, "value type")]
            let valueLength: Int
            switch type {
            case 0, 1: valueLength = 0
            case 2: valueLength = 1
            case 3: valueLength = 2
            case 4: valueLength = 4
            case 5, 8: valueLength = 8
            case 6, 7:
                let lengthStart = try take(2, "value length")
                valueLength = Int(bytes[lengthStart]) << 8 | Int(bytes[lengthStart + 1])
            case 9: valueLength = 16
            default:
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[name]), as: UTF8.self)
                throw .invalidHeader("unknown value type \(type) for \"\(text)\"")
            }
            let valueStart = try take(valueLength, "value")
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[name])
            for earlier in table where equal(UnsafeRawBufferPointer(rebasing: bytes[earlier.name]), nameBytes) {
                throw .duplicateHeader(String(decoding: nameBytes, as: UTF8.self))
            }
            table.append(HeaderLocation(name: name, type: type, value: valueStart..<valueStart + valueLength))
        }
    }
}
