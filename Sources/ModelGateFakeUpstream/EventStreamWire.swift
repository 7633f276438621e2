import ModelGateCrypto
import NIOCore

/// Writes `application/vnd.amazon.eventstream` messages (AWS's binary framing, as Bedrock's
/// ConverseStream sends it): prelude (total length, headers length, prelude CRC), string
/// headers, payload, message CRC. Written independently of the gateway's decoder, so the two
/// check each other.
enum EventStreamWire {
    /// One message with string headers (type 7) and `payload`.
    static func message(
        headers: [(String, String)], payload: ByteBuffer, allocator: ByteBufferAllocator, corruptChecksum: Bool = false
    ) -> ByteBuffer {
        var headerBytes = allocator.buffer(capacity: 64)
        for (name, value) in headers {
            headerBytes.writeInteger(UInt8(truncatingIfNeeded: name.utf8.count))
            headerBytes.writeString(name)
            headerBytes.writeInteger(UInt8(7))
            headerBytes.writeInteger(UInt16(truncatingIfNeeded: value.utf8.count))
            headerBytes.writeString(value)
        }
        let total = 16 + headerBytes.readableBytes + payload.readableBytes
        var out = allocator.buffer(capacity: total)
        out.writeInteger(UInt32(total))
        out.writeInteger(UInt32(headerBytes.readableBytes))
        out.writeInteger(out.withUnsafeReadableBytes { CRC32.checksum($0) })
        out.writeImmutableBuffer(headerBytes)
        out.writeImmutableBuffer(payload)
        var crc = out.withUnsafeReadableBytes { CRC32.checksum($0) }
        if corruptChecksum { crc ^= 0xFFFF_FFFF }
        out.writeInteger(crc)
        return out
    }

    /// A Bedrock event: `:event-type`, `:content-type: application/json`, `:message-type: event`.
    static func event(_ type: String, json: ByteBuffer, allocator: ByteBufferAllocator, corruptChecksum: Bool = false)
        -> ByteBuffer
    {
        message(
            headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")],
            payload: json, allocator: allocator, corruptChecksum: corruptChecksum)
    }

    /// A modelled exception (`:message-type: exception`, `:exception-type`), payload
    /// `{"message": …}`.
    static func exception(_ type: String, message: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        self.message(
            headers: [(":exception-type", type), (":content-type", "application/json"), (":message-type", "exception")],
            payload: BedrockError(type: type, message: message).body(allocator: allocator), allocator: allocator)
    }
}
