import ModelGateCore
import NIOCore
import ModelGateTestSupport
import Testing

@testable import ModelGateWire

/// Decodes every frame in `bytes`, as a receiver would.
private func decodeFrames(_ bytes: [UInt8], expectsMagic: Bool) throws -> [Frame] {
    var decoder = FrameDecoder(expectsMagic: expectsMagic, maxFrameSize: WireProtocol.defaultMaxFrameSize)
    var buffer = ByteBuffer(bytes: bytes)
    var frames: [Frame] = []
    while let frame = try decoder.decode(buffer: &buffer) {
        frames.append(frame)
    }
    #expect(buffer.readableBytes == 0, "trailing bytes after the last frame")
    return frames
}

/// The `# frames:` header rendering of decoded frames, e.g. `CALL(1) MESSAGE(1,END_STREAM)`.
private func describe(_ frames: [Frame]) -> String {
    frames.map { frame in
        var parts = [String(frame.streamID)]
        if frame.type == .message && frame.flags.contains(.endStream) { parts.append("END_STREAM") }
        if frame.type == .message && frame.flags.contains(.compressed) { parts.append("COMPRESSED") }
        return "\(frame.type)(\(parts.joined(separator: ",")))"
    }.joined(separator: " ")
}

@Suite("Frame decoding against the protocol vectors")
struct FrameCodecTests {
    static let wellFormed = [
        "preface-client", "hello-server", "call-chat-stream", "message-chat-request", "message-chat-chunk",
        "message-chat-chunk-final", "end-ok", "end-rate-limited", "cancel", "window", "ping", "pong", "goaway-drain",
    ]

    @Test("every well-formed vector decodes to the frames its header lists", arguments: wellFormed)
    func wellFormedVectorsDecode(name: String) throws {
        let vector = try ProtocolVector.load(name)
        let frames = try decodeFrames(vector.bytes, expectsMagic: vector.headers["preface"] == "yes")
        #expect(describe(frames) == vector.headers["frames"])
    }

    @Test("a vector split at every byte boundary decodes the same")
    func splitInput() throws {
        let vector = try ProtocolVector.load("preface-client")
        let whole = try decodeFrames(vector.bytes, expectsMagic: true)
        for split in 1..<vector.bytes.count {
            var decoder = FrameDecoder(expectsMagic: true, maxFrameSize: WireProtocol.defaultMaxFrameSize)
            var buffer = ByteBuffer(bytes: vector.bytes[..<split])
            var frames: [Frame] = []
            while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
            buffer.writeBytes(vector.bytes[split...])
            while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
            #expect(frames == whole)
        }
    }

    @Test func badMagicIsRejected() throws {
        let vector = try ProtocolVector.load("bad-magic")
        #expect(throws: FramingError(.badMagic, "connection did not start with the ModelGate protocol magic")) {
            _ = try decodeFrames(vector.bytes, expectsMagic: true)
        }
    }

    @Test func lengthFFFFFFFFIsRejectedFromTheHeaderAlone() throws {
        let vector = try ProtocolVector.load("length-ffffffff")
        #expect(vector.bytes.count == WireProtocol.headerSize)
        var decoder = FrameDecoder(expectsMagic: false, maxFrameSize: WireProtocol.defaultMaxFrameSize)
        var buffer = ByteBuffer(bytes: vector.bytes)
        let error = #expect(throws: FramingError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error?.kind == .frameTooLarge)
        #expect(error?.streamID == 1)
    }

    @Test func oversizedHelloIsRejected() throws {
        let vector = try ProtocolVector.load("oversized-hello")
        let error = #expect(throws: FramingError.self) { _ = try decodeFrames(vector.bytes, expectsMagic: true) }
        #expect(error?.kind == .frameTooLarge)
    }

    @Test func unknownFrameTypeIsRejected() throws {
        let vector = try ProtocolVector.load("unknown-frame-type")
        let error = #expect(throws: FramingError.self) { _ = try decodeFrames(vector.bytes, expectsMagic: false) }
        #expect(error?.kind == .unknownFrameType)
        #expect(error?.message == "unknown frame type 0x42")
    }

    @Test func truncatedFrameWaitsForMoreBytes() throws {
        let vector = try ProtocolVector.load("truncated-frame")
        var decoder = FrameDecoder(expectsMagic: false, maxFrameSize: WireProtocol.defaultMaxFrameSize)
        var buffer = ByteBuffer(bytes: vector.bytes)
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == vector.bytes.count)
    }
}
