import ModelGateUpstream
import ServiceLifecycle

extension CurlClient: Service {
    /// Runs the upstream thread until graceful shutdown. `ServiceGroup` shuts services down in
    /// reverse order, so listing the client before the server keeps upstream transfers alive
    /// while the server drains.
    package func run() async throws {
        start()
        try? await gracefulShutdown()
        await shutdown()
    }
}
