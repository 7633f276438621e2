import ModelGateCore

/// Receives a provider's stream events and sends the resulting chunks on the call's stream.
///
/// `@unchecked Sendable`: the ``ChatEventSink`` contract is that one task, the call's, sends
/// events one after another; the assembler is only touched from that task, never concurrently.
final class StreamSink: ChatEventSink, @unchecked Sendable {
    private let stream: StreamHandle
    private var assembler: ChatStreamAssembler

    init(stream: StreamHandle, assembler: ChatStreamAssembler) {
        self.stream = stream
        self.assembler = assembler
    }

    var deliveredChunks: UInt64 { assembler.deliveredChunks }

    func send(_ event: ChatStreamEvent) async throws {
        if let chunk = assembler.consume(event) {
            try await stream.send(chunk)
        }
    }

    func finalChunk(error: GatewayError?) -> ChatChunk {
        assembler.finalChunk(error: error)
    }
}
