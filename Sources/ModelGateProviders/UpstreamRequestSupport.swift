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

extension UpstreamHTTPClient {
    /// Sends `request` and returns the response when its status is 2xx; otherwise reads at
    /// most ``UpstreamErrorMapping/maxErrorBodyBytes`` of the error body and throws what
    /// `failure` makes of the status, headers and body (each provider reads its own error
    /// shape).
    package func executeExpectingSuccess(
        _ request: consuming UpstreamRequest, failure: (_ status: Int, _ headers: HTTPHeaders, _ body: [UInt8]) -> GatewayError
    ) async throws -> UpstreamResponse {
        let response = try await execute(consume request)
        guard (200..<300).contains(response.status) else {
            let body = await UpstreamErrorMapping.collectErrorBody(response.body)
            throw failure(response.status, response.headers, body)
        }
        return response
    }

    /// ``executeExpectingSuccess(_:failure:)`` for providers whose error bodies the shared
    /// mapping reads as they are (OpenAI, KServe, …).
    package func executeExpectingSuccess(_ request: consuming UpstreamRequest, provider: String, secrets: [String]) async throws
        -> UpstreamResponse
    {
        try await executeExpectingSuccess(consume request) { status, headers, body in
            UpstreamErrorMapping.error(status: status, headers: headers, body: body, provider: provider, secrets: secrets)
        }
    }
}
