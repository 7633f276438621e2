#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import ModelGateConfig
import ModelGateCore
import ModelGateServer
import ModelGateUpstream
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the gateway until SIGTERM or SIGINT, then drain.")

    @Option(name: .long, help: "YAML configuration file (default: the embedded defaults).")
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level \(logLevel)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "modelgate")
        do {
            let gatewayConfig = try ConfigFile.load(config)
            let upstream = CurlClient(
                configuration: CurlClient.Configuration(userAgent: "modelgate/\(ModelGateVersion.current)"),
                logger: Logger(label: "modelgate.upstream"))
            let registry = try GatewayAssembly.registry(
                gatewayConfig, providers: GatewayAssembly.providers(gatewayConfig, client: upstream))
            let server = GatewayServer(
                configuration: GatewayAssembly.serverConfiguration(gatewayConfig), registry: registry, logger: logger,
                onReady: { addresses in
                    // The one line on stdout: tests and scripts wait for it.
                    StandardStreams.writeOut("modelgate serving \(addresses.joined(separator: " "))\n")
                })
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    // Shut down in reverse: the server drains first, then the upstream client.
                    services: [.init(service: upstream), .init(service: server)],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger))
            try await group.run()
        } catch let failure as CommandFailure {
            throw failureExit(failure.message)
        } catch let error as StartupError {
            throw failureExit(error.message)
        }
    }

    private func failureExit(_ message: String) -> ExitCode {
        StandardStreams.writeError("modelgate: error: \(message)\n")
        return ExitCode.failure
    }
}
