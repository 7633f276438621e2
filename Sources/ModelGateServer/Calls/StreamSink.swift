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
        guard let chunk = assembler.consume(event) else { return }
        try await deliver(chunk)
    }

    func send(contentsOf events: [ChatStreamEvent]) async throws {
        for event in events {
            guard let chunk = assembler.consume(event) else { continue }
            try await deliver(chunk)
        }
    }

    // Not inlined: inlined into `send(contentsOf:)`'s loop it crashes the Swift 6.3 optimizer
    // (coroutine splitting).
    @inline(never)
    private func deliver(_ chunk: ChatChunk) async throws {
        do {
            // Without a suspension point when the stream has credit: once per token.
            if try !stream.sendNow(chunk) {
                try await stream.send(chunk)
            }
        } catch {
            assembler.discardLastChunk()
            throw error
        }
    }

    func finalChunk(error: GatewayError?) -> ChatChunk {
        assembler.finalChunk(error: error)
    }
}
