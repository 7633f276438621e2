import NIOCore

/// A violation of the framing rules that ends the connection (docs/protocol.md §5).
package struct FramingError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Kind: Sendable, Hashable {
        case badMagic
        case frameTooLarge
        case unknownFrameType
    }

    package var kind: Kind
    package var message: String
    /// The stream the offending frame belonged to, when known.
    package var streamID: UInt32

    package init(_ kind: Kind, _ message: String, streamID: UInt32 = 0) {
        self.kind = kind
        self.message = message
        self.streamID = streamID
    }

    package var description: String { message }
}

/// Splits a byte stream into frames: the server side first expects the magic.
///
/// The payload length is checked against the limit before any payload byte is read or any
/// memory is set aside for it; an oversized or unknown frame throws ``FramingError``.
package struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = Frame

    private var expectsMagic: Bool
    private var helloPending: Bool
    /// The largest payload accepted after the peer's HELLO.
    package var maxFrameSize: UInt32

    /// - Parameters:
    ///   - expectsMagic: true on the server, which reads the client's magic first.
    ///   - maxFrameSize: the largest payload accepted once the first frame (HELLO) is read;
    ///     the first frame itself is limited to ``WireProtocol/maxHelloSize`` on the server.
    package init(expectsMagic: Bool, maxFrameSize: UInt32) {
        self.expectsMagic = expectsMagic
        self.helloPending = expectsMagic
        self.maxFrameSize = maxFrameSize
    }

    package mutating func decode(buffer: inout ByteBuffer) throws -> Frame? {
        if expectsMagic {
            let available = min(buffer.readableBytes, WireProtocol.magic.count)
            guard let prefix = buffer.getBytes(at: buffer.readerIndex, length: available) else { return nil }
            guard prefix.elementsEqual(WireProtocol.magic.prefix(available)) else {
                throw FramingError(.badMagic, "connection did not start with the ModelGate protocol magic")
            }
            guard available == WireProtocol.magic.count else { return nil }
            buffer.moveReaderIndex(forwardBy: available)
            expectsMagic = false
        }
        guard buffer.readableBytes >= WireProtocol.headerSize,
            let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            let rawType = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self),
            let rawFlags = buffer.getInteger(at: buffer.readerIndex + 5, as: UInt8.self),
            let streamID = buffer.getInteger(at: buffer.readerIndex + 6, as: UInt32.self)
        else { return nil }

        let limit = helloPending ? UInt32(WireProtocol.maxHelloSize) : maxFrameSize
        guard length <= limit else {
            throw FramingError(
                .frameTooLarge, "frame of \(length) bytes exceeds the limit of \(limit) bytes", streamID: streamID)
        }
        guard let type = FrameType(rawValue: rawType) else {
            let hex = String(rawType, radix: 16, uppercase: true)
            throw FramingError(.unknownFrameType, "unknown frame type 0x\(hex.count == 1 ? "0" + hex : hex)")
        }
        guard buffer.readableBytes >= WireProtocol.headerSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: WireProtocol.headerSize)
        let payload = buffer.readSlice(length: Int(length)) ?? ByteBuffer()
        helloPending = false
        return Frame(type: type, flags: FrameFlags(rawValue: rawFlags), streamID: streamID, payload: payload)
    }

    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Frame? {
        try decode(buffer: &buffer)
    }
}
