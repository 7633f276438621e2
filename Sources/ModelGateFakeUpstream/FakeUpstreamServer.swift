import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Settings for a `FakeUpstreamServer`.
package struct FakeUpstreamConfiguration: Sendable {
    /// The address to bind; loopback by default, as the fake never serves the network.
    package var host: String
    /// The port to bind; 0 picks a free one (read it back from `listeningPort`).
    package var port: Int
    /// Where `replay=` files are read from.
    package var fixturesDirectory: String
    /// Event-loop threads. One is enough to outrun a gateway on the same machine and keeps the
    /// fake off the cores it is measuring.
    package var threads: Int
    /// How many request records `/_fake/events` keeps.
    package var maxEvents: Int
    /// How many full requests (headers and body) `/_fake/requests/SEQ` keeps...
    package var maxStoredRequests: Int
    /// ...and their total body bytes.
    package var maxStoredRequestBytes: Int
    /// Larger request bodies are answered with 413.
    package var maxRequestBodyBytes: Int

    package init(
        host: String = "127.0.0.1", port: Int = 0, fixturesDirectory: String = "Tests/Fixtures/upstream",
        threads: Int = 1, maxEvents: Int = 10_000, maxStoredRequests: Int = 1_000,
        maxStoredRequestBytes: Int = 64 << 20, maxRequestBodyBytes: Int = 32 << 20
    ) {
        self.host = host
        self.port = port
        self.fixturesDirectory = fixturesDirectory
        self.threads = threads
        self.maxEvents = maxEvents
        self.maxStoredRequests = maxStoredRequests
        self.maxStoredRequestBytes = maxStoredRequestBytes
        self.maxRequestBodyBytes = maxRequestBodyBytes
    }
}

/// A local HTTP/1.1 server that imitates AI providers for tests and benchmarks: OpenAI chat
/// completions and embeddings, byte-exact replays of recorded streams, paced token streams and
/// injected faults, with a log of every request (see docs/fake-upstream.md).
///
/// ```swift
/// let server = FakeUpstreamServer(configuration: .init(fixturesDirectory: dir))
/// let port = try await server.start()
/// defer { Task { try await server.shutdown() } }
/// ```
package final class FakeUpstreamServer: Sendable {
    package let configuration: FakeUpstreamConfiguration
    /// What the server saw; the same data `/_fake/events` serves.
    package let eventLog: FakeUpstreamEventLog

    private enum State {
        case idle
        case starting
        case running(group: MultiThreadedEventLoopGroup, channel: any Channel, port: Int)
        case stopped
    }

    private let state = Mutex(State.idle)
    private let core: ServerCore

    package init(configuration: FakeUpstreamConfiguration) {
        self.configuration = configuration
        self.eventLog = FakeUpstreamEventLog(
            maxEvents: configuration.maxEvents, maxRequests: configuration.maxStoredRequests,
            maxRequestBytes: configuration.maxStoredRequestBytes)
        self.core = ServerCore(
            log: self.eventLog, fixtures: FixtureStore(directory: configuration.fixturesDirectory),
            maxRequestBodyBytes: configuration.maxRequestBodyBytes)
    }

    /// The bound port while running.
    package var listeningPort: Int? {
        self.state.withLock { state in
            if case .running(_, _, let port) = state { return port }
            return nil
        }
    }

    /// Binds and starts serving; returns the bound port.
    @discardableResult
    package func start() async throws -> Int {
        try self.state.withLock { state in
            guard case .idle = state else { throw FakeUpstreamServerError.alreadyStarted }
            state = .starting
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(self.configuration.threads, 1))
        let core = self.core
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Half-closure off: a client's FIN closes the channel at once, which is what makes
            // `client_closed` prompt.
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(core: core))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: self.configuration.host, port: self.configuration.port).get()
        } catch {
            self.state.withLock { $0 = .idle }
            try? await group.shutdownGracefully()
            throw error
        }
        let port = channel.localAddress?.port ?? self.configuration.port
        let stale = self.state.withLock { state -> Bool in
            guard case .starting = state else { return true }
            state = .running(group: group, channel: channel, port: port)
            return false
        }
        if stale {
            // shutdown() ran while binding.
            try? await channel.close()
            try? await group.shutdownGracefully()
            throw FakeUpstreamServerError.stopped
        }
        return port
    }

    /// Starts if needed and serves until `shutdown()`.
    /// A server already shut down returns at once: a signal can arrive between `start()` and
    /// `run()`, and must not make `run()` start it again.
    package func run() async throws {
        let needsStart = self.state.withLock { state -> Bool in
            if case .idle = state { return true }
            return false
        }
        if needsStart {
            try await self.start()
        }
        let channel = self.state.withLock { state -> (any Channel)? in
            if case .running(_, let channel, _) = state { return channel }
            return nil
        }
        try await channel?.closeFuture.get()
    }

    /// Closes the listener and every connection. Safe to call more than once.
    package func shutdown() async throws {
        let running = self.state.withLock { state -> (MultiThreadedEventLoopGroup, any Channel)? in
            defer { state = .stopped }
            if case .running(let group, let channel, _) = state { return (group, channel) }
            return nil
        }
        guard let (group, channel) = running else { return }
        try? await channel.close()
        try await group.shutdownGracefully()
    }
}

package enum FakeUpstreamServerError: Error {
    case alreadyStarted
    case stopped
}
