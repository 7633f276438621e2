import Foundation

/// The fake upstream and the gateway under test, started from release binaries, plus the
/// process accounting the report needs (CPU time from /proc/PID/stat, RSS from /proc/PID/status).
final class BenchEnvironment {
    let upstream: Process
    let gateway: Process
    let upstreamPort: Int
    let unix: Endpoint
    let tcp: Endpoint
    let directory: URL
    let gatewayStartup: Duration
    let binaries: String

    init(binaries: String) throws {
        self.binaries = binaries
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("mgbench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fixtures = URL(fileURLWithPath: binaries).appendingPathComponent("../../../Tests/Fixtures/upstream").path
        (upstream, _) = try Self.launch(
            binaries + "/modelgate-fake-upstream", ["--port", "0", "--fixtures", fixtures], expect: "fake-upstream listening")
        guard let port = Self.lastLine.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw BenchError("fake upstream did not report its port")
        }
        upstreamPort = port
        let socket = directory.appendingPathComponent("gw.sock").path
        let config = directory.appendingPathComponent("bench.yaml").path
        try """
            listeners:
              unix: { path: \(socket) }
              tcp: { host: 127.0.0.1, port: 0 }
            limits:
              max_concurrent_streams: 1000
            providers:
              fake:
                kind: openai
                base_url: http://127.0.0.1:\(port)/v1
            models:
              mock: { provider: mock }
              bench-unary: { provider: fake, upstream_model: "tokens=16" }
              bench-stream: { provider: fake, upstream_model: "tokens=256" }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        (gateway, _) = try Self.launch(
            binaries + "/modelgate", ["serve", "--config", config, "--log-level", "warning"], expect: "modelgate serving")
        gatewayStartup = ContinuousClock.now - started
        guard let tcpAddress = Self.lastLine.split(separator: " ").first(where: { $0.hasPrefix("tcp://") }),
            let tcpPort = tcpAddress.split(separator: ":").last.flatMap({ Int($0) })
        else { throw BenchError("gateway did not report its TCP port") }
        unix = .unix(socket)
        tcp = .tcp(host: "127.0.0.1", port: tcpPort)
    }

    func stop() {
        for process in [gateway, upstream] where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The gateway's CPU time (user + system, all threads) so far.
    func gatewayCPU() -> Duration {
        guard let stat = try? String(contentsOfFile: "/proc/\(gateway.processIdentifier)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return .zero }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields 14 and 15 of stat(5), counted after the command name: utime, stime in ticks.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return .zero }
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return .milliseconds(Int64((user + system) * 1000 / ticks))
    }

    /// The gateway's resident memory now and at its peak, in MiB.
    func gatewayRSS() -> (current: Double, peak: Double) {
        guard let status = try? String(contentsOfFile: "/proc/\(gateway.processIdentifier)/status", encoding: .utf8) else {
            return (0, 0)
        }
        func value(_ key: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
                let kib = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
            else { return 0 }
            return kib / 1024
        }
        return (value("VmRSS:"), value("VmHWM:"))
    }

    nonisolated(unsafe) private static var lastLine = ""

    private static func launch(_ path: String, _ arguments: [String], expect prefix: String) throws -> (Process, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        var line: [UInt8] = []
        let handle = output.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            guard let first = byte.first else { throw BenchError("\(path) exited before reporting ready") }
            if first == 10 { break }
            line.append(first)
        }
        lastLine = String(decoding: line, as: UTF8.self)
        guard lastLine.hasPrefix(prefix) else { throw BenchError("\(path): unexpected first line \(lastLine)") }
        return (process, lastLine)
    }
}
