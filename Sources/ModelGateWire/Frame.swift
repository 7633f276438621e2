import NIOCore

/// Frame types of the native protocol (docs/protocol.md §2).
package enum FrameType: UInt8, Sendable, Hashable, CustomStringConvertible {
    case hello = 0x01
    case call = 0x02
    case message = 0x03
    case end = 0x04
    case cancel = 0x05
    case window = 0x06
    case ping = 0x07
    case pong = 0x08
    case goAway = 0x09

    package var description: String {
        switch self {
        case .hello: "HELLO"
        case .call: "CALL"
        case .message: "MESSAGE"
        case .end: "END"
        case .cancel: "CANCEL"
        case .window: "WINDOW"
        case .ping: "PING"
        case .pong: "PONG"
        case .goAway: "GOAWAY"
        }
    }
}

/// Frame flag bits (docs/protocol.md §2.1).
package struct FrameFlags: OptionSet, Sendable, Hashable {
    package var rawValue: UInt8

    package init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// MESSAGE: the sender sends no more MESSAGEs on this stream.
    package static let endStream = FrameFlags(rawValue: 0x01)
    /// MESSAGE: reserved for compression, which v1 does not support.
    package static let compressed = FrameFlags(rawValue: 0x02)
}

/// A decoded frame: its header fields and its payload bytes.
package struct Frame: Sendable, Hashable {
    package var type: FrameType
    package var flags: FrameFlags
    package var streamID: UInt32
    package var payload: ByteBuffer

    package init(type: FrameType, flags: FrameFlags = [], streamID: UInt32, payload: ByteBuffer = ByteBuffer()) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.payload = payload
    }
}

/// Constants of protocol version 1.
package enum WireProtocol {
    /// `\x89MGW\r\n\x1a\n`, sent by the client before its HELLO.
    package static let magic: [UInt8] = [0x89, 0x4D, 0x47, 0x57, 0x0D, 0x0A, 0x1A, 0x0A]
    package static let version: UInt32 = 1
    /// Bytes in a frame header: length (4), type (1), flags (1), stream id (4).
    package static let headerSize = 10
    /// Largest payload of the client's HELLO, read before any limits are agreed.
    package static let maxHelloSize = 16 * 1024
    package static let defaultMaxFrameSize: UInt32 = 4 * 1024 * 1024
    package static let defaultMaxConcurrentStreams: UInt32 = 100
    package static let defaultInitialWindowSize: UInt32 = 256 * 1024
    /// Largest stream credit a receiver may grant (2^31 - 1).
    package static let maxWindow: Int64 = Int64(Int32.max)
}

extension ByteBuffer {
    /// Appends one frame: header, then `payload`.
    package mutating func writeFrame(
        _ type: FrameType, flags: FrameFlags = [], streamID: UInt32, payload: ByteBuffer
    ) {
        writeFrameHeader(type, flags: flags, streamID: streamID, length: UInt32(payload.readableBytes))
        writeImmutableBuffer(payload)
    }

    /// Appends a frame header; the caller then writes exactly `length` payload bytes.
    package mutating func writeFrameHeader(_ type: FrameType, flags: FrameFlags = [], streamID: UInt32, length: UInt32) {
        writeInteger(length)
        writeInteger(type.rawValue)
        writeInteger(flags.rawValue)
        writeInteger(streamID)
    }

    /// Appends a frame whose payload is written by `body`; the length is patched in afterwards.
    @discardableResult
    package mutating func writeFrame(
        _ type: FrameType, flags: FrameFlags = [], streamID: UInt32, body: (inout ByteBuffer) throws -> Void
    ) rethrows -> Int {
        let headerIndex = writerIndex
        writeFrameHeader(type, flags: flags, streamID: streamID, length: 0)
        let start = writerIndex
        try body(&self)
        let length = writerIndex - start
        setInteger(UInt32(length), at: headerIndex)
        return length
    }
}
