#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CMemory
import Logging
import ModelGateCore
import ModelGateWire
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A failure to start serving: the process cannot go on.
package struct StartupError: Error, Sendable, CustomStringConvertible {
    package var message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { message }
}

/// The gateway's listeners, as a `Service`.
///
/// `run()` binds the Unix-domain and TCP listeners, reports their addresses, and serves until
/// graceful shutdown (SIGTERM/SIGINT through `ServiceGroup`). It then stops accepting, sends
/// GOAWAY on every connection, lets in-flight streams finish for up to the drain timeout, ends
/// the rest with UNAVAILABLE, and returns once every connection is closed.
package final class GatewayServer: Service {
    private let configuration: ServerConfiguration
    private let registry: ModelRegistry
    private let logger: Logger
    private let group: any EventLoopGroup
    private let onReady: @Sendable ([String]) -> Void

    /// - Parameter onReady: called once every listener is bound, with their addresses in
    ///   client syntax (`unix:///path`, `tcp://host:port`).
    package init(
        configuration: ServerConfiguration,
        registry: ModelRegistry,
        logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onReady: @escaping @Sendable ([String]) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        self.group = group
        self.onReady = onReady
    }

    package func run() async throws {
        let tracker = ConnectionTracker(maxConnections: configuration.limits.maxConnections)
        let serving = ServingState()
        let dispatcher = CallDispatcher(registry: registry, serving: serving, logger: logger)

        var listeners: [any Channel] = []
        var addresses: [String] = []
        do {
            if let unix = configuration.unix, !unix.path.isEmpty {
                let channel = try await bindUnix(unix, tracker: tracker, dispatcher: dispatcher)
                listeners.append(channel)
                addresses.append("unix://\(unix.path)")
            }
            if let tcp = configuration.tcp {
                let channel = try await bindTCP(tcp, tracker: tracker, dispatcher: dispatcher)
                listeners.append(channel)
                let port = channel.localAddress?.port ?? tcp.port
                addresses.append("tcp://\(tcp.host):\(port)")
            }
        } catch {
            for listener in listeners { try? await listener.close() }
            throw error
        }
        logger.info("serving", metadata: ["addresses": "\(addresses.joined(separator: " "))"])
        onReady(addresses)

        // Serve until graceful shutdown (or cancellation) is requested, handing freed heap back
        // to the system whenever the gateway goes idle after load: glibc otherwise keeps the peak
        // (hundreds of MiB after ten thousand streams) resident for good.
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(2))
                    if serving.becameIdle() { MemoryTrim.releaseFreeMemory() }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }

        serving.startDraining()
        for listener in listeners { try? await listener.close() }
        if let unix = configuration.unix, !unix.path.isEmpty {
            unlink(unix.path)
        }
        logger.info("draining", metadata: ["connections": "\(tracker.count)"])
        tracker.drainAll()
        if await !waitForNoConnections(tracker, within: configuration.drainTimeout) {
            logger.warning("drain timeout: ending remaining streams", metadata: ["connections": "\(tracker.count)"])
            tracker.endRemainingStreams()
            if await !waitForNoConnections(tracker, within: .seconds(2)) {
                tracker.closeAll()
                _ = await waitForNoConnections(tracker, within: .seconds(1))
            }
        }
        logger.info("stopped")
    }

    private func waitForNoConnections(_ tracker: ConnectionTracker, within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while tracker.count > 0 {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    private func childInitializer(
        tracker: ConnectionTracker, dispatcher: CallDispatcher
    ) -> @Sendable (any Channel) -> EventLoopFuture<Void> {
        let limits = configuration.limits
        let logger = self.logger
        return { channel in
            channel.eventLoop.makeCompletedFuture {
                let decoder = FrameDecoder(expectsMagic: true, maxFrameSize: limits.maxFrameSize)
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
                try channel.pipeline.syncOperations.addHandler(
                    ConnectionHandler(limits: limits, dispatcher: dispatcher, tracker: tracker, logger: logger))
            }
        }
    }

    private func bindTCP(
        _ listener: ServerConfiguration.TCPListener, tracker: ConnectionTracker, dispatcher: CallDispatcher
    ) async throws -> any Channel {
        do {
            return try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer(childInitializer(tracker: tracker, dispatcher: dispatcher))
                .bind(host: listener.host, port: listener.port)
                .get()
        } catch {
            throw StartupError("cannot listen on tcp://\(listener.host):\(listener.port): \(error)")
        }
    }

    private func bindUnix(
        _ listener: ServerConfiguration.UnixListener, tracker: ConnectionTracker, dispatcher: CallDispatcher
    ) async throws -> any Channel {
        try UnixSocketPath.prepare(listener.path)
        // The socket file is created with the process umask; set it so the file never exists
        // with looser permissions than configured, even for an instant.
        let previous = umask(mode_t(~listener.mode & 0o777))
        defer { umask(previous) }
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .childChannelInitializer(childInitializer(tracker: tracker, dispatcher: dispatcher))
                .bind(unixDomainSocketPath: listener.path, cleanupExistingSocketFile: false)
                .get()
            chmod(listener.path, mode_t(listener.mode))
            return channel
        } catch {
            throw StartupError("cannot listen on unix://\(listener.path): \(error)")
        }
    }
}

/// Returning freed heap memory to the operating system.
enum MemoryTrim {
    static func releaseFreeMemory() {
        _ = cmemory_trim()
    }
}

/// Checks a Unix socket path before binding it.
enum UnixSocketPath {
    /// Removes a stale socket left by a dead process; refuses to take over a live one or to
    /// delete anything that is not a socket.
    static func prepare(_ path: String) throws {
        guard path.utf8.count < 108 else {
            throw StartupError("unix socket path is \(path.utf8.count) bytes; the limit is 107: \(path)")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // nothing there
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw StartupError("\(path) exists and is not a socket; refusing to replace it")
        }
        if isServed(path) {
            throw StartupError("another process is already serving \(path)")
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw StartupError("cannot remove the stale socket \(path): errno \(errno)")
        }
    }

    /// Whether something accepts connections on the socket at `path`.
    private static func isServed(_ path: String) -> Bool {
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        // EAGAIN: the listener's backlog is full, so it is very much alive.
        return result == 0 || errno == EAGAIN
    }
}
