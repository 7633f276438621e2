import ArgumentParser
import Foundation

/// The benchmark tool. Without a subcommand it runs `compare`; `measure` and `paced` are the
/// load generators that `bench/suite/suite.py` drives against processes it started itself.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelgate-bench", abstract: "Gateway-added latency, throughput, CPU and memory.",
        subcommands: [Compare.self, Measure.self, Paced.self], defaultSubcommand: Compare.self)
}

/// Measures the latency, throughput, CPU and memory the gateway adds over calling the fake
/// upstream directly, interleaving the systems (A B C A B C …) and reporting medians.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a fake upstream and a gateway, compare direct calls with calls through the gateway.")

    @Flag(help: "A few seconds in all: checks that every workload runs, reports nothing meaningful.")
    var smoke = false

    @Option(help: "Repetitions of each measurement (interleaved).")
    var repetitions = 3

    @Option(help: "Seconds per measurement.")
    var seconds = 3.0

    @Option(help: "Directory of the modelgate and modelgate-fake-upstream binaries (default: next to this one).")
    var binaries: String?

    @Option(help: "Write the Markdown report here as well as to stdout.")
    var output: String?

    @Option(help: "Only workloads whose name contains this text (e.g. \"unary, 1\").")
    var workload: String?

    @Option(help: "Only systems whose name contains this text (e.g. \"mock\"); direct always runs.")
    var system: String?

    @Flag(help: "Print the gateway's pid and wait for Enter before measuring (to attach a profiler).")
    var pause = false

    func run() throws {
        let directory = binaries ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().path
        let duration = smoke ? 0.3 : seconds
        let reps = smoke ? 1 : repetitions
        let environment = try BenchEnvironment(binaries: directory)
        defer { environment.stop() }

        var report = Report(command: CommandLine.arguments.joined(separator: " "), environment: environment)
        report.idleRSS = environment.gatewayRSS().current

        let systems: [(String, (Bool, Int) throws -> any LoadWorker)] = [
            ("direct", { streaming, _ in
                try DirectHTTPWorker(port: environment.upstreamPort, model: streaming ? "tokens=256" : "tokens=16", streaming: streaming)
            }),
            ("gateway uds", { streaming, _ in
                try NativeWorker(endpoint: environment.unix, model: streaming ? "bench-stream" : "bench-unary", streaming: streaming)
            }),
            ("gateway tcp", { streaming, _ in
                try NativeWorker(endpoint: environment.tcp, model: streaming ? "bench-stream" : "bench-unary", streaming: streaming)
            }),
            ("mock uds", { streaming, _ in
                try NativeWorker(
                    endpoint: environment.unix, model: "mock", streaming: streaming,
                    metadata: ["mock-tokens": streaming ? "256" : "16"])
            }),
        ]
        let workloads: [Workload] = [
            Workload(name: "unary, 1 caller", streaming: false, callers: 1),
            Workload(name: "unary, 64 callers", streaming: false, callers: 64),
            Workload(name: "256-token stream, 1 caller", streaming: true, callers: 1),
            Workload(name: "256-token stream, 16 callers", streaming: true, callers: 16),
        ]
        let selectedWorkloads = workloads.filter { workload == nil || $0.name.contains(workload!) }
        let selectedSystems = systems.filter { system == nil || $0.0 == "direct" || $0.0.contains(system!) }
        if pause {
            FileHandle.standardError.write(Data("gateway pid \(environment.gateway.processIdentifier); press Enter to start\n".utf8))
            _ = readLine()
        }
        var failures = 0
        for workload in selectedWorkloads {
            for repetition in 0..<reps {
                for (system, makeWorker) in selectedSystems {
                    let workers = try (0..<workload.callers).map { try makeWorker(workload.streaming, $0) }
                    let gatewayMeasured = system != "direct"
                    let cpuBefore = environment.gatewayCPU()
                    let result = try measure(workers: workers, seconds: duration)
                    let cpuUsed = environment.gatewayCPU() - cpuBefore
                    failures += result.errors
                    report.add(
                        workload: workload, system: system, repetition: repetition, result: result,
                        gatewayCPU: gatewayMeasured ? cpuUsed : nil)
                    report.loadRSS = max(report.loadRSS, environment.gatewayRSS().current)
                }
            }
        }
        Thread.sleep(forTimeInterval: smoke ? 0.1 : 2)
        let rss = environment.gatewayRSS()
        report.afterRSS = rss.current
        report.peakRSS = rss.peak
        let text = report.markdown()
        print(text)
        if let output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
        }
        if failures > 0 {
            FileHandle.standardError.write(Data("modelgate-bench: \(failures) calls failed\n".utf8))
            throw ExitCode.failure
        }
    }
}

struct Workload: Hashable {
    var name: String
    var streaming: Bool
    var callers: Int
}

/// What one measurement of one system saw.
struct MeasurementResult {
    var timings: [CallTiming]
    var errors: Int
    var elapsed: Duration
    /// Every call made, warm-up included (for CPU accounting around the whole run).
    var allCalls = 0

    var requestsPerSecond: Double { Double(timings.count) / elapsed.seconds }
    var tokensPerSecond: Double { Double(timings.reduce(0) { $0 + $1.tokens }) / elapsed.seconds }
    var tokens: Int { timings.reduce(0) { $0 + $1.tokens } }

    func percentile(_ p: Double, _ key: (CallTiming) -> Duration) -> Duration {
        let sorted = timings.map(key).sorted()
        guard !sorted.isEmpty else { return .zero }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
    }
}

/// Runs every worker on its own thread, calling in a loop for `seconds`, after a short warm-up.
func measure(workers: [any LoadWorker], seconds: Double) throws -> MeasurementResult {
    final class Collector: @unchecked Sendable {
        // @unchecked: each thread writes only its own slot; the group wait orders the reads.
        var timings: [[CallTiming]]
        var errors: [Int]
        var calls: [Int]
        init(count: Int) {
            timings = Array(repeating: [], count: count)
            errors = Array(repeating: 0, count: count)
            calls = Array(repeating: 0, count: count)
        }
    }
    nonisolated(unsafe) let workers = workers
    let collector = Collector(count: workers.count)
    let group = DispatchGroup()
    let warmUp = ContinuousClock.now + .milliseconds(Int64(min(500, seconds * 200)))
    let start = warmUp
    let deadline = warmUp + .milliseconds(Int64(seconds * 1000))
    for index in workers.indices {
        group.enter()
        let thread = Thread {
            defer { group.leave() }
            var local: [CallTiming] = []
            local.reserveCapacity(100_000)
            while ContinuousClock.now < deadline {
                do {
                    let timing = try workers[index].call()
                    collector.calls[index] += 1
                    if ContinuousClock.now > start { local.append(timing) }
                } catch {
                    collector.errors[index] += 1
                    return
                }
            }
            collector.timings[index] = local
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
    return MeasurementResult(
        timings: collector.timings.flatMap { $0 }, errors: collector.errors.reduce(0, +), elapsed: deadline - start,
        allCalls: collector.calls.reduce(0, +))
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    var milliseconds: Double { seconds * 1000 }
    var microseconds: Double { seconds * 1_000_000 }
}
