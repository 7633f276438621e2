import Foundation

/// Collects measurements and renders the Markdown report: medians over repetitions, and the
/// gateway's figures as differences and ratios against the direct call of the same repetition.
struct Report {
    struct Key: Hashable {
        var workload: String
        var system: String
    }

    struct Sample {
        var p50: Double
        var p99: Double
        var firstTokenP50: Double
        var firstTokenP99: Double
        var requestsPerSecond: Double
        var tokensPerSecond: Double
        var cpuPerCallMicroseconds: Double?
        var cpuPerTokenMicroseconds: Double?
    }

    let command: String
    let environment: BenchEnvironment
    var workloads: [Workload] = []
    var systems: [String] = []
    var samples: [Key: [Sample]] = [:]
    var idleRSS = 0.0
    var loadRSS = 0.0
    var afterRSS = 0.0
    var peakRSS = 0.0

    init(command: String, environment: BenchEnvironment) {
        self.command = command
        self.environment = environment
    }

    mutating func add(workload: Workload, system: String, repetition: Int, result: MeasurementResult, gatewayCPU: Duration?) {
        if !workloads.contains(workload) { workloads.append(workload) }
        if !systems.contains(system) { systems.append(system) }
        let calls = max(result.timings.count, 1)
        let tokens = max(result.tokens, 1)
        samples[Key(workload: workload.name, system: system), default: []].append(
            Sample(
                p50: result.percentile(0.5, \.total).milliseconds,
                p99: result.percentile(0.99, \.total).milliseconds,
                firstTokenP50: result.percentile(0.5, \.firstToken).milliseconds,
                firstTokenP99: result.percentile(0.99, \.firstToken).milliseconds,
                requestsPerSecond: result.requestsPerSecond,
                tokensPerSecond: result.tokensPerSecond,
                cpuPerCallMicroseconds: gatewayCPU.map { $0.microseconds / Double(calls) },
                cpuPerTokenMicroseconds: gatewayCPU.map { $0.microseconds / Double(tokens) }))
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Median over repetitions of `value`, or of `value` minus the direct call's in the same repetition.
    private func figure(_ workload: Workload, _ system: String, minusDirect: Bool = false, _ value: (Sample) -> Double) -> Double {
        let own = samples[Key(workload: workload.name, system: system)] ?? []
        guard minusDirect else { return median(own.map(value)) }
        let direct = samples[Key(workload: workload.name, system: "direct")] ?? []
        return median(zip(own, direct).map { value($0) - value($1) })
    }

    private func format(_ value: Double, _ digits: Int = 3) -> String {
        value.isNaN ? "–" : String(format: "%.\(digits)f", value)
    }

    func markdown() -> String {
        var lines: [String] = []
        let date = ISO8601DateFormatter().string(from: Date())
        lines.append("Measured \(date) with `\(command)`.")
        lines.append("Gateway start-up to first readiness: \(format(environment.gatewayStartup.milliseconds, 1)) ms.")
        lines.append("")
        for workload in workloads {
            lines.append("### \(workload.name)")
            lines.append("")
            if workload.streaming {
                lines.append(
                    "| system | first token p50 ms | first token p99 ms | whole stream p50 ms | p99 ms | added first token p50 ms | added stream p50 ms | tokens/s | gateway CPU µs/token |")
                lines.append("|---|---|---|---|---|---|---|---|---|")
            } else {
                lines.append("| system | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s | gateway CPU µs/req |")
                lines.append("|---|---|---|---|---|---|---|")
            }
            for system in systems {
                guard samples[Key(workload: workload.name, system: system)] != nil else { continue }
                let isDirect = system == "direct"
                let viaUpstream = system.hasPrefix("gateway")
                if workload.streaming {
                    lines.append(
                        "| \(system) | \(format(figure(workload, system, \.firstTokenP50))) | \(format(figure(workload, system, \.firstTokenP99))) | \(format(figure(workload, system, \.p50))) | \(format(figure(workload, system, \.p99))) | "
                            + "\(viaUpstream ? format(figure(workload, system, minusDirect: true, \.firstTokenP50)) : "–") | \(viaUpstream ? format(figure(workload, system, minusDirect: true, \.p50)) : "–") | "
                            + "\(format(figure(workload, system, \.tokensPerSecond), 0)) | \(isDirect ? "–" : format(figure(workload, system) { $0.cpuPerTokenMicroseconds ?? .nan }, 2)) |")
                } else {
                    lines.append(
                        "| \(system) | \(format(figure(workload, system, \.p50))) | \(format(figure(workload, system, \.p99))) | "
                            + "\(viaUpstream ? format(figure(workload, system, minusDirect: true, \.p50)) : "–") | \(viaUpstream ? format(figure(workload, system, minusDirect: true, \.p99)) : "–") | "
                            + "\(format(figure(workload, system, \.requestsPerSecond), 0)) | \(isDirect ? "–" : format(figure(workload, system) { $0.cpuPerCallMicroseconds ?? .nan }, 1)) |")
                }
            }
            lines.append("")
        }
        lines.append("### Gateway memory")
        lines.append("")
        lines.append("| idle RSS MiB | RSS after load MiB | peak RSS MiB |")
        lines.append("|---|---|---|")
        lines.append("| \(format(idleRSS, 1)) | \(format(afterRSS, 1)) | \(format(peakRSS, 1)) |")
        return lines.joined(separator: "\n")
    }
}
