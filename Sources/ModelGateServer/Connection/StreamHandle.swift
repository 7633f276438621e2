import ModelGateCore
import ModelGateWire
import NIOCore

/// What a call's task uses to answer on its stream.
///
/// Calls run on their connection's event loop (``EventLoopTaskExecutor``), so every method
/// here reaches the connection directly; should a task ever run elsewhere, the work hops to
/// the loop instead.
struct StreamHandle: Sendable {
    let connection: NIOLoopBound<ConnectionHandler>
    let eventLoop: any EventLoop
    let streamID: UInt32

    /// Why the stream was stopped, if it was.
    var cancellation: StreamCancellation? {
        get async {
            let id = streamID
            do {
                return try await onLoop { $0.cancellation(of: id) }
            } catch {
                return .connectionClosed  // the event loop is gone, and the connection with it
            }
        }
    }

    /// Sends a message, first waiting for flow-control credit when `flowControlled`.
    /// - Throws: `CancellationError` when the stream was stopped meanwhile; ``GatewayError``
    ///   when the message is too large for the client.
    /// - Parameter flush: false when ``finish(_:)`` follows at once (a unary response).
    func send<M: WireMessage>(_ message: M, flowControlled: Bool = true, flush: Bool = true) async throws {
        // The common case, once per token: the task runs on the connection's loop and reaches
        // the connection directly, without the closures and hops of `onLoop`.
        guard eventLoop.inEventLoop else {
            return try await sendFromElsewhere(message, flowControlled: flowControlled, flush: flush)
        }
        let id = streamID
        while flowControlled, try !connection.value.creditAvailable(on: id) {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                connection.value.park(waiter, on: id)
            }
            guard eventLoop.inEventLoop else {
                return try await sendFromElsewhere(message, flowControlled: flowControlled, flush: flush)
            }
        }
        try connection.value.sendMessage(message, on: id, flowControlled: flowControlled, flush: flush)
    }

    /// Sends a flow-controlled message at once if the caller runs on the connection's loop and
    /// the stream has credit; false when ``send(_:flowControlled:flush:)`` must wait instead.
    func sendNow<M: WireMessage>(_ message: M) throws -> Bool {
        guard eventLoop.inEventLoop, try connection.value.creditAvailable(on: streamID) else { return false }
        try connection.value.sendMessage(message, on: streamID, flowControlled: true)
        return true
    }

    private func sendFromElsewhere<M: WireMessage>(_ message: M, flowControlled: Bool, flush: Bool) async throws {
        let id = streamID
        if flowControlled {
            while try await onLoop({ try $0.creditAvailable(on: id) }) == false {
                try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                    onLoop { $0.park(waiter, on: id) }
                }
            }
        }
        try await onLoop { try $0.sendMessage(message, on: id, flowControlled: flowControlled, flush: flush) }
    }

    private func onLoop<T: Sendable>(_ body: @escaping @Sendable (ConnectionHandler) throws -> T) async throws -> T {
        if eventLoop.inEventLoop { return try body(connection.value) }
        let connection = self.connection
        return try await eventLoop.submit { try body(connection.value) }.get()
    }

    private func onLoop(_ body: @escaping @Sendable (ConnectionHandler) -> Void) {
        if eventLoop.inEventLoop { return body(connection.value) }
        let connection = self.connection
        eventLoop.execute { body(connection.value) }
    }

    /// Ends the stream. Only the first call has an effect.
    func finish(_ status: EndStatus) {
        let id = streamID
        onLoop { $0.finish(id, with: status) }
    }
}
