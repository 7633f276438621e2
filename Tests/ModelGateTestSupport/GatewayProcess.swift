import Foundation
import ModelGateClient

/// The real `modelgate` binary, serving a test configuration on a temporary Unix socket and
/// a free TCP port.
package final class GatewayProcess: Sendable {
    package let process: ChildProcess
    package let directory: URL
    package let socketPath: String
    package let unixAddress: GatewayAddress
    package let tcpAddress: GatewayAddress
    package let configPath: String

    /// Starts the gateway.
    /// - Parameters:
    ///   - providers: YAML for the `providers:` section (indented by two spaces per level).
    ///   - models: YAML for the `models:` section; a `mock` model is always added.
    ///   - extra: more top-level YAML (limits, shutdown).
    ///   - unixSection: replaces the default `unix:` listener lines.
    ///   - environment: extra environment variables (provider credentials).
    package init(
        providers: String = "", models: String = "", extra: String = "", directory: URL? = nil,
        unixSection: String? = nil, environment: [String: String] = [:]
    ) throws {
        let directory = try directory ?? TestPaths.temporaryDirectory()
        self.directory = directory
        let defaultSocket = directory.appendingPathComponent("gw.sock").path
        if let unixSection, let line = unixSection.split(separator: "\n").first(where: { $0.contains("path:") }) {
            socketPath = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
        } else {
            socketPath = defaultSocket
        }
        configPath = directory.appendingPathComponent("modelgate.yaml").path
        var yaml = """
            listeners:
            \(unixSection ?? "  unix:\n    path: \(socketPath)")
              tcp:
                host: 127.0.0.1
                port: 0

            """
        yaml += extra.isEmpty ? "" : extra + "\n"
        if !providers.isEmpty { yaml += "providers:\n" + providers + "\n" }
        yaml += "models:\n  mock:\n    provider: mock\n" + models + "\n"
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        process = try ChildProcess(
            executable: TestPaths.gatewayBinary, arguments: ["serve", "--config", configPath, "--log-level", "debug"],
            environment: environment)
        // "modelgate serving unix:///... tcp://127.0.0.1:PORT"
        let words = process.readyLine.split(separator: " ").map(String.init)
        guard words.starts(with: ["modelgate", "serving"]),
            let tcp = words.first(where: { $0.hasPrefix("tcp://") })
        else { throw TestSupportError("unexpected ready line: \(process.readyLine)") }
        unixAddress = .unix(path: socketPath)
        tcpAddress = try GatewayAddress(parsing: tcp)
    }

    /// A new client connection over the Unix socket (or TCP).
    package func connect(tcp: Bool = false) async throws -> GatewayClient {
        try await GatewayClient.connect(to: tcp ? tcpAddress : unixAddress)
    }

    package func stop() {
        process.stop()
    }
}
