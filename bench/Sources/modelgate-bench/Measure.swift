import ArgumentParser
import Foundation

/// Where a load generator sends its calls, parsed from a URL-like text.
enum Target {
    /// An OpenAI-compatible HTTP server on loopback (the fake upstream, or a proxy in front of it).
    case http(port: Int)
    /// A gateway speaking the native protocol.
    case native(Endpoint)

    init(_ text: String) throws {
        if text.hasPrefix("unix://") {
            self = .native(.unix(String(text.dropFirst("unix://".count))))
            return
        }
        for scheme in ["http://", "tcp://"] where text.hasPrefix(scheme) {
            let address = text.dropFirst(scheme.count).split(separator: "/").first ?? ""
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
                address[..<colon] == "127.0.0.1"
            else { throw BenchError("\(text): only 127.0.0.1:PORT is measured") }
            self = scheme == "http://" ? .http(port: port) : .native(.tcp(host: "127.0.0.1", port: port))
            return
        }
        throw BenchError("\(text): expected http://127.0.0.1:PORT, tcp://127.0.0.1:PORT or unix:///PATH")
    }
}

/// Where the generators send their calls, and as which model.
struct Destination: ParsableArguments {
    @Option(help: "http://127.0.0.1:PORT (OpenAI-compatible), tcp://127.0.0.1:PORT or unix:///PATH (native).")
    var target: String

    @Option(help: "Model name sent in each request.")
    var model: String

    @Option(help: "Bearer key for an HTTP target that wants one.")
    var bearer: String?
}

/// One closed-loop measurement of one system, printed as JSON for `bench/suite/suite.py`: every
/// caller a thread with its own connection and blocking I/O, as in `compare`.
struct Measure: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure one system with closed-loop callers; print the figures as JSON.")

    @OptionGroup var destination: Destination

    @Option(help: "Call metadata for a native target, KEY=VALUE (repeatable).")
    var metadata: [String] = []

    @Flag(help: "Streamed chat instead of unary.")
    var streaming = false

    @Option(help: "Concurrent callers, one connection each.")
    var callers = 1

    @Option(help: "Seconds measured (after a warm-up of up to 0.5 s).")
    var seconds = 3.0

    func run() throws {
        let target = try Target(destination.target)
        let (model, bearer) = (destination.model, destination.bearer)
        var pairs: [String: String] = [:]
        for item in metadata {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw BenchError("--metadata \(item): expected KEY=VALUE") }
            pairs[parts[0]] = parts[1]
        }
        let workers: [any LoadWorker] = try (0..<callers).map { _ in
            switch target {
            case .http(let port):
                try DirectHTTPWorker(port: port, model: model, streaming: streaming, bearer: bearer)
            case .native(let endpoint):
                try NativeWorker(endpoint: endpoint, model: model, streaming: streaming, metadata: pairs)
            }
        }
        let result = try measure(workers: workers, seconds: seconds)
        let levels = [0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 0.999]
        let figures: [String: Any] = [
            "calls": result.timings.count,
            "all_calls": result.allCalls,
            "errors": result.errors,
            "seconds": result.elapsed.seconds,
            "requests_per_second": result.requestsPerSecond,
            "tokens": result.tokens,
            "tokens_per_second": result.tokensPerSecond,
            "percentile_levels": levels,
            "latency_ms": levels.map { result.percentile($0, \.total).milliseconds },
            "first_token_ms": levels.map { result.percentile($0, \.firstToken).milliseconds },
        ]
        let json = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
        FileHandle.standardOutput.write(json + Data("\n".utf8))
        if result.timings.isEmpty { throw ExitCode.failure }
    }
}
