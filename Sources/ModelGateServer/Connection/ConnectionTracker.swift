import NIOCore
import Synchronization

/// A connection as the server-wide tracker sees it: enough to drain or close it.
struct ConnectionControl: Sendable {
    let handler: NIOLoopBound<ConnectionHandler>

    func run(_ body: @escaping @Sendable (ConnectionHandler) -> Void) {
        let handler = self.handler
        handler.eventLoop.execute { body(handler.value) }
    }
}

/// Counts the server's connections, enforces the connection limit, and drains them all.
final class ConnectionTracker: Sendable {
    enum Registration {
        case accepted
        case overLimit
        case draining
    }

    private struct State {
        var connections: [ObjectIdentifier: ConnectionControl] = [:]
        var draining = false
    }

    let maxConnections: Int
    private let state = Mutex(State())

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    var count: Int { state.withLock { $0.connections.count } }

    func register(_ id: ObjectIdentifier, control: ConnectionControl) -> Registration {
        state.withLock { state in
            if state.draining { return .draining }
            guard state.connections.count < maxConnections else { return .overLimit }
            state.connections[id] = control
            return .accepted
        }
    }

    func unregister(_ id: ObjectIdentifier) {
        _ = state.withLock { $0.connections.removeValue(forKey: id) }
    }

    /// Sends GOAWAY on every connection; new connections are turned away from now on.
    func drainAll() {
        let controls = state.withLock { state in
            state.draining = true
            return Array(state.connections.values)
        }
        for control in controls { control.run { $0.drain() } }
    }

    /// Ends the streams still running after the drain period.
    func endRemainingStreams() {
        for control in state.withLock({ Array($0.connections.values) }) {
            control.run { $0.endRemainingStreams() }
        }
    }

    func closeAll() {
        for control in state.withLock({ Array($0.connections.values) }) {
            control.run { $0.close() }
        }
    }
}
