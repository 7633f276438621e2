import ArgumentParser
import Dispatch
import ModelGateFakeUpstream

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `modelgate-fake-upstream`: the fake provider for tests and benchmarks (docs/fake-upstream.md).
struct FakeUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelgate-fake-upstream",
        abstract: "A local HTTP/1.1 server that imitates AI providers, replays recorded streams and injects faults."
    )

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one (printed on the first stdout line).")
    var port = 0

    @Option(help: "Directory that replay= files are read from.")
    var fixtures = "Tests/Fixtures/upstream"

    @Option(help: "Event-loop threads.")
    var threads = 1

    func validate() throws {
        guard (0...65535).contains(self.port) else { throw ValidationError("--port must be in 0...65535") }
        guard self.threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        let server = FakeUpstreamServer(
            configuration: FakeUpstreamConfiguration(
                host: self.host, port: self.port, fixturesDirectory: self.fixtures, threads: self.threads))

        // Signals are handled on a dispatch source, so they must not also kill the process.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                Task { try? await server.shutdown() }
            }
            source.resume()
            return source
        }

        let boundPort = try await server.start()
        let shownHost = self.host.contains(":") ? "[\(self.host)]" : self.host
        // The one line on stdout: launchers wait for it to learn the port. A direct write(2)
        // is unbuffered, so the line is out before anyone connects.
        let line = Array("fake-upstream listening http://\(shownHost):\(boundPort)\n".utf8)
        _ = line.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }

        try await server.run()
        withExtendedLifetime(sources) {}
    }
}

// main.swift cannot use @main, so parse and run the async command by hand.
do {
    let command = try FakeUpstreamCommand.parseAsRoot()
    if let asyncCommand = command as? FakeUpstreamCommand {
        try await asyncCommand.run()
    } else {
        var other = command
        try other.run()
    }
} catch {
    FakeUpstreamCommand.exit(withError: error)
}
