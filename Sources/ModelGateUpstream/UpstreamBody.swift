import DequeModule
import Synchronization

/// The body of an upstream response, as the chunks the network delivered.
///
/// It has one consumer. Its buffer is bounded: when the consumer falls behind by more than the
/// high-water mark the transfer is paused, and resumed once the consumer has caught up, so a
/// slow caller never makes the gateway buffer without bound. Dropping every copy of the body
/// (or cancelling the task reading it) before the end aborts the transfer.
package struct UpstreamBody: AsyncSequence, Sendable {
    package typealias Element = [UInt8]
    package typealias Failure = any Error

    let source: BodySource
    private let consumer: ConsumerToken

    init(source: BodySource) {
        self.source = source
        self.consumer = ConsumerToken(source: source)
    }

    /// A body that yields `chunks` and then ends, for tests and for responses the gateway
    /// synthesizes.
    package init(chunks: [[UInt8]]) {
        let source = BodySource(highWaterMark: Int.max, lowWaterMark: 0, resume: {}, cancel: {})
        for chunk in chunks {
            _ = source.yield(chunk)
        }
        source.finish(nil)
        self.init(source: source)
    }

    package func makeAsyncIterator() -> Iterator {
        Iterator(source: source, consumer: consumer)
    }

    package struct Iterator: AsyncIteratorProtocol {
        let source: BodySource
        let consumer: ConsumerToken

        package mutating func next() async throws -> [UInt8]? {
            try await source.next()
        }
    }

    /// Reads the whole body.
    /// - Throws: ``UpstreamError`` of kind `.bodyTooLarge` beyond `limit` bytes, or the
    ///   transfer's own error.
    package func collect(upTo limit: Int) async throws -> [UInt8] {
        var result: [UInt8] = []
        for try await chunk in self {
            guard result.count + chunk.count <= limit else {
                throw UpstreamError(.bodyTooLarge, "response body exceeds \(limit) bytes")
            }
            result.append(contentsOf: chunk)
        }
        return result
    }
}

/// Notices when the last copy of an ``UpstreamBody`` goes away.
final class ConsumerToken: Sendable {
    let source: BodySource

    init(source: BodySource) {
        self.source = source
    }

    deinit {
        source.consumerGone()
    }
}

/// The buffer between a transfer (producer, any thread) and the body's reader (a task).
final class BodySource: Sendable {
    enum YieldResult {
        /// The bytes were taken.
        case accepted
        /// The bytes were NOT taken: the buffer is full. Pause and offer them again on resume.
        case full
        /// The consumer is gone; abort.
        case consumerGone
    }

    private struct State {
        var buffer: Deque<[UInt8]> = []
        var bufferedBytes = 0
        var terminal: Result<Void, any Error>?
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        var producerPaused = false
        var consumerGone = false

        /// The oldest buffered chunk, and whether taking it should resume a paused producer.
        mutating func popChunk(lowWaterMark: Int) -> (chunk: [UInt8], resumeProducer: Bool)? {
            guard let chunk = buffer.popFirst() else { return nil }
            bufferedBytes -= chunk.count
            let resume = producerPaused && bufferedBytes <= lowWaterMark
            if resume { producerPaused = false }
            return (chunk, resume)
        }
    }

    private let state = Mutex(State())
    private let highWaterMark: Int
    private let lowWaterMark: Int
    /// Tells the transfer to resume after the reader drained a paused buffer.
    private let resumeProducer: @Sendable () -> Void
    /// Tells the transfer to abort: the reader stopped before the end.
    private let cancelProducer: @Sendable () -> Void

    init(
        highWaterMark: Int, lowWaterMark: Int, resume: @escaping @Sendable () -> Void,
        cancel: @escaping @Sendable () -> Void
    ) {
        self.highWaterMark = highWaterMark
        self.lowWaterMark = lowWaterMark
        self.resumeProducer = resume
        self.cancelProducer = cancel
    }

    /// Offers bytes from the network.
    func yield(_ bytes: [UInt8]) -> YieldResult {
        enum Action {
            case none
            case resume(CheckedContinuation<[UInt8]?, any Error>)
        }
        let (result, action): (YieldResult, Action) = state.withLock { state in
            if state.consumerGone || state.terminal != nil { return (.consumerGone, .none) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (.accepted, .resume(waiter))
            }
            if state.bufferedBytes >= highWaterMark {
                state.producerPaused = true
                return (.full, .none)
            }
            state.buffer.append(bytes)
            state.bufferedBytes += bytes.count
            return (.accepted, .none)
        }
        if case .resume(let waiter) = action {
            waiter.resume(returning: bytes)
        }
        return result
    }

    /// Ends the body: `nil` for a clean end, otherwise the transfer's error.
    func finish(_ error: (any Error)?) {
        let waiter: CheckedContinuation<[UInt8]?, any Error>? = state.withLock { state in
            guard state.terminal == nil else { return nil }
            state.terminal = error.map { .failure($0) } ?? .success(())
            defer { state.waiter = nil }
            return state.waiter
        }
        if let waiter {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
    }

    func next() async throws -> [UInt8]? {
        // A chunk already buffered needs neither a continuation nor a cancellation handler:
        // in a burst, most reads find one.
        enum Ready {
            case chunk([UInt8], resumeProducer: Bool)
            case end
        }
        let ready: Ready? = state.withLock { state in
            if let (chunk, resume) = state.popChunk(lowWaterMark: lowWaterMark) {
                return .chunk(chunk, resumeProducer: resume)
            }
            if case .success = state.terminal { return .end }
            return nil
        }
        switch ready {
        case .chunk(let chunk, let shouldResume)?:
            if shouldResume { resumeProducer() }
            if Task.isCancelled {
                cancel()
                throw CancellationError()
            }
            return chunk
        case .end?:
            return nil
        case nil:
            return try await nextWaiting()
        }
    }

    private func nextWaiting() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                enum Action {
                    case deliver([UInt8]?, resumeProducer: Bool)
                    case fail(any Error)
                    case wait(resumeProducer: Bool)
                }
                let action: Action = state.withLock { state in
                    if Task.isCancelled {
                        return .fail(CancellationError())
                    }
                    if let (chunk, resume) = state.popChunk(lowWaterMark: lowWaterMark) {
                        return .deliver(chunk, resumeProducer: resume)
                    }
                    switch state.terminal {
                    case .success: return .deliver(nil, resumeProducer: false)
                    case .failure(let error): return .fail(error)
                    case nil: break
                    }
                    // Empty buffer: wait for the producer, waking it first if it was paused.
                    state.waiter = continuation
                    defer { state.producerPaused = false }
                    return .wait(resumeProducer: state.producerPaused)
                }
                switch action {
                case .deliver(let chunk, let shouldResume):
                    if shouldResume { resumeProducer() }
                    continuation.resume(returning: chunk)
                case .fail(let error):
                    continuation.resume(throwing: error)
                case .wait(let shouldResume):
                    if shouldResume { resumeProducer() }
                }
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// The reading task was cancelled: fail the read and abort the transfer.
    private func cancel() {
        let waiter: CheckedContinuation<[UInt8]?, any Error>? = state.withLock { state in
            let waiter = state.waiter
            state.waiter = nil
            if state.terminal == nil {
                state.terminal = .failure(CancellationError())
                state.consumerGone = true
            }
            return waiter
        }
        waiter?.resume(throwing: CancellationError())
        cancelProducer()
    }

    func consumerGone() {
        let shouldCancel: Bool = state.withLock { state in
            state.consumerGone = true
            state.buffer.removeAll()
            return state.terminal == nil
        }
        if shouldCancel { cancelProducer() }
    }
}
