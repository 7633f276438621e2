import ModelGateCore
import NIOCore

/// A message the protocol carries: a control-frame payload or a Gateway request or response.
/// ``WireCodec`` encodes and decodes every conforming type with protobuf-c.
package protocol WireMessage: Sendable {
    static func decode(from payload: ByteBuffer, using codec: WireCodec) throws(WireDecodingError) -> Self
    func encode(into buffer: inout ByteBuffer, using codec: WireCodec)
}

extension ProtobufCMessageConvertible {
    package static func decode(from payload: ByteBuffer, using codec: WireCodec) throws(WireDecodingError) -> Self {
        try codec.decode(Self.self, from: payload)
    }

    package func encode(into buffer: inout ByteBuffer, using codec: WireCodec) {
        codec.encode(self, into: &buffer)
    }
}

extension HelloMessage: WireMessage {}
extension CallHeader: WireMessage {}
extension EndStatus: WireMessage {}
extension GoAwayMessage: WireMessage {}
extension ChatRequest: WireMessage {}
extension ChatResponse: WireMessage {}
extension ChatChunk: WireMessage {}
extension EmbedRequest: WireMessage {}
extension EmbedResponse: WireMessage {}
extension PredictRequest: WireMessage {}
extension PredictResponse: WireMessage {}
extension ListModelsRequest: WireMessage {}
extension ListModelsResponse: WireMessage {}
extension HealthRequest: WireMessage {}
extension HealthStatus: WireMessage {}

extension WireCodec {
    /// Decodes a frame payload as `M`.
    package func decode<M: WireMessage>(_: M.Type = M.self, _ payload: ByteBuffer) throws(WireDecodingError) -> M {
        try M.decode(from: payload, using: self)
    }

    /// Appends a frame carrying `message` to `buffer`.
    package func writeFrame<M: WireMessage>(
        _ type: FrameType, flags: FrameFlags = [], streamID: UInt32, _ message: M, into buffer: inout ByteBuffer
    ) {
        buffer.writeFrame(type, flags: flags, streamID: streamID) { payload in
            message.encode(into: &payload, using: self)
        }
    }
}
