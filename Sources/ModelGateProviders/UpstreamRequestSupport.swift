import ModelGateCore
import ModelGateUpstream

extension UpstreamTimeouts {
    /// These timeouts with the total capped at the time left until `deadline`, so the
    /// caller's deadline bounds the transfer even if cancellation arrives late.
    package func capped(by deadline: ContinuousClock.Instant?) -> UpstreamTimeouts {
        guard let deadline else { return self }
        var result = self
        let remaining = max(deadline - .now, .milliseconds(1))
        result.total = min(total ?? remaining, remaining)
        return result
    }
}

extension UpstreamBody.Iterator {
    /// The most body bytes read after a stream's end marker before the transfer is dropped.
    package static let maxDrainBytes = 64 << 10

    /// Reads what follows a stream's end marker (normally nothing) so the connection can be
    /// reused; gives up silently on errors or after `limit` bytes, which only costs the
    /// connection.
    package mutating func drain(limit: Int = maxDrainBytes) async {
        var drained = 0
        do {
            while drained <= limit, let chunk = try await next() {
                drained += chunk.count
            }
        } catch {
            // The response is already complete.
        }
    }
}
