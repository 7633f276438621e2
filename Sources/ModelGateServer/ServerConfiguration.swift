/// Where and how the server listens, and its protocol limits.
package struct ServerConfiguration: Sendable, Hashable {
    package struct UnixListener: Sendable, Hashable {
        package var path: String
        /// File mode of the socket, e.g. 0o660.
        package var mode: UInt16

        package init(path: String, mode: UInt16 = 0o660) {
            self.path = path
            self.mode = mode
        }
    }

    package struct TCPListener: Sendable, Hashable {
        package var host: String
        /// 0 picks a free port.
        package var port: Int

        package init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    package struct Limits: Sendable, Hashable {
        package var maxFrameSize: UInt32
        package var maxConcurrentStreams: UInt32
        package var maxConnections: Int
        package var initialWindowSize: UInt32
        package var helloTimeout: Duration

        package init(
            maxFrameSize: UInt32 = 4 * 1024 * 1024,
            maxConcurrentStreams: UInt32 = 100,
            maxConnections: Int = 1024,
            initialWindowSize: UInt32 = 256 * 1024,
            helloTimeout: Duration = .seconds(10)
        ) {
            self.maxFrameSize = maxFrameSize
            self.maxConcurrentStreams = maxConcurrentStreams
            self.maxConnections = maxConnections
            self.initialWindowSize = initialWindowSize
            self.helloTimeout = helloTimeout
        }
    }

    package var unix: UnixListener?
    package var tcp: TCPListener?
    package var limits: Limits
    /// How long in-flight streams may run after SIGTERM before they are ended.
    package var drainTimeout: Duration

    package init(
        unix: UnixListener? = UnixListener(path: "/tmp/modelgate.sock"),
        tcp: TCPListener? = TCPListener(host: "127.0.0.1", port: 7470),
        limits: Limits = Limits(),
        drainTimeout: Duration = .seconds(30)
    ) {
        self.unix = unix
        self.tcp = tcp
        self.limits = limits
        self.drainTimeout = drainTimeout
    }
}
