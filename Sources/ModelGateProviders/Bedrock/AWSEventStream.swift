import ModelGateCrypto

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
        guard let frame = try nextFrame() else { return nil }
        let parsed = buffer.withUnsafeBytes { bytes in
            Result { () throws(AWSEventStreamError) in
                AWSEventStreamMessage(
                    headers: try Self.parseHeaders(UnsafeRawBufferPointer(rebasing: bytes[frame.headers])),
                    payload: Array(bytes[frame.payload]))
            }
        }
        return try parsed.get()
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

    private static func bigEndianInteger(_ bytes: UnsafeRawBufferPointer, at offset: Int, count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in offset..<offset + count {
            value = value << 8 | UInt64(bytes[index])
        }
        return value
    }

    private static func parseHeaders(_ bytes: UnsafeRawBufferPointer) throws(AWSEventStreamError)
        -> [AWSEventStreamHeader]
    {
        var headers: [AWSEventStreamHeader] = []
        var offset = 0
        func take(_ count: Int, _ what: String) throws(AWSEventStreamError) -> Int {
            guard count <= bytes.count - offset else { throw .invalidHeader("\(what) runs past the headers") }
            defer { offset += count }
            return offset
        }
        while offset < bytes.count {
            let nameLength = Int(bytes[try take(1, "name length")])
            let nameStart = try take(nameLength, "name")
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameStart + nameLength]), as: UTF8.self)
            let type = bytes[try take(1, "value type")]
            let value: AWSEventStreamHeaderValue
            switch type {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2: value = .byte(Int8(bitPattern: bytes[try take(1, "byte value")]))
            case 3:
                value = .int16(Int16(truncatingIfNeeded: bigEndianInteger(bytes, at: try take(2, "int16 value"), count: 2)))
            case 4:
                value = .int32(Int32(truncatingIfNeeded: bigEndianInteger(bytes, at: try take(4, "int32 value"), count: 4)))
            case 5:
                value = .int64(Int64(truncatingIfNeeded: bigEndianInteger(bytes, at: try take(8, "int64 value"), count: 8)))
            case 6, 7:
                let length = Int(bigEndianInteger(bytes, at: try take(2, "value length"), count: 2))
                let valueStart = try take(length, "value")
                let raw = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueStart + length])
                value = type == 6 ? .byteArray(Array(raw)) : .string(String(decoding: raw, as: UTF8.self))
            case 8:
                value = .timestamp(
                    Int64(truncatingIfNeeded: bigEndianInteger(bytes, at: try take(8, "timestamp value"), count: 8)))
            case 9:
                let valueStart = try take(16, "uuid value")
                value = .uuid(Array(UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueStart + 16])))
            default:
                throw .invalidHeader("unknown value type \(type) for \"\(name)\"")
            }
            guard !headers.contains(where: { $0.name == name }) else { throw .duplicateHeader(name) }
            headers.append(AWSEventStreamHeader(name, value))
        }
        return headers
    }
}
