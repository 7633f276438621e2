import ModelGateCore
import ModelGateUpstream

/// A synchronous stream decoder: bytes in, ``ChatStreamEvent``s out. Decoders do no I/O, so
/// ``ProviderTransport/relay(_:decoder:into:)`` drives them from the network and tests from
/// fixtures split at any point.
package protocol ChatStreamDecoding: Sendable {
    /// Whether the provider's end marker arrived; nothing after it is decoded.
    var isDone: Bool { get }
    /// Decodes what `bytes` complete, appending the events to `output`.
    mutating func decode(_ bytes: [UInt8], into output: inout [ChatStreamEvent]) throws(GatewayError)
    /// The body ended: throws UNAVAILABLE / UPSTREAM_TRUNCATED unless the stream is complete.
    func finish() throws(GatewayError)
}

/// The HTTP plumbing shared by the adapters written after the OpenAI one (which keeps its
/// own): a request whose total timeout is capped by the call's deadline, non-2xx answers
/// turned into mapped errors, and a stream relayed from body to sink.
package struct ProviderTransport: Sendable {
    package var provider: String
    package var client: any UpstreamHTTPClient
    package var timeouts: UpstreamTimeouts
    package var httpVersion: HTTPVersionPreference
    package var unixSocketPath: String?

    /// The most body bytes read after a stream's end marker before the transfer is dropped.
    package static let maxDrainBytes = 64 << 10

    package init(
        provider: String, client: any UpstreamHTTPClient, timeouts: UpstreamTimeouts,
        httpVersion: HTTPVersionPreference, unixSocketPath: String?
    ) {
        self.provider = provider
        self.client = client
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.unixSocketPath = unixSocketPath
    }

    /// A POST of `body` to `url`, with `X-Request-Id` after `headers` when the call has an id.
    /// The caller's deadline bounds the transfer even if cancellation arrives late.
    package func request(url: String, headers: [HTTPHeader], body: [UInt8], context: CallContext) -> UpstreamRequest {
        var headers = headers
        if !context.requestID.isEmpty { headers.append(HTTPHeader("X-Request-Id", context.requestID)) }
        var limits = timeouts
        if let deadline = context.deadline {
            let remaining = max(deadline - .now, .milliseconds(1))
            limits.total = min(limits.total ?? remaining, remaining)
        }
        return UpstreamRequest(
            method: "POST", url: url, headers: headers, body: body, timeouts: limits, httpVersion: httpVersion,
            unixSocketPath: unixSocketPath)
    }

    /// Sends `request`; returns the response when its status is 2xx. Otherwise reads (up to
    /// 64 KiB of) the error body and throws what `mapError(status, headers, body)` makes of it.
    package func send(
        _ request: UpstreamRequest, mapError: (Int, HTTPHeaders, [UInt8]) -> GatewayError
    ) async throws -> UpstreamResponse {
        let response = try await client.execute(request)
        guard (200..<300).contains(response.status) else {
            let body = await UpstreamErrorMapping.collectErrorBody(response.body)
            throw mapError(response.status, response.headers, body)
        }
        return response
    }

    /// Feeds `body` to `decoder` and each event to `sink` until the decoder's end marker or
    /// EOF, checks the stream is complete, then reads what follows the end marker (up to
    /// ``maxDrainBytes``, normally nothing) so the connection can be reused.
    package func relay<Decoder: ChatStreamDecoding>(
        _ body: UpstreamBody, decoder: inout Decoder, into sink: any ChatEventSink
    ) async throws {
        var events: [ChatStreamEvent] = []
        var iterator = body.makeAsyncIterator()
        while !decoder.isDone, let chunk = try await iterator.next() {
            // What was decoded before an error in the same piece is still relayed, so the
            // output delivered does not depend on how the network split the body.
            var failure: GatewayError?
            do {
                try decoder.decode(chunk, into: &events)
            } catch {
                failure = error
            }
            for event in events {
                try await sink.send(event)
            }
            events.removeAll(keepingCapacity: true)
            if let failure { throw failure }
        }
        try decoder.finish()
        var drained = 0
        do {
            while drained <= Self.maxDrainBytes, let chunk = try await iterator.next() {
                drained += chunk.count
            }
        } catch {
            // The response is already complete; only the connection is lost.
        }
    }
}

extension GatewayError {
    /// UNAVAILABLE / UPSTREAM_TRUNCATED for a stream whose body ended (`how`: "before …")
    /// without the provider's end marker: retryable, and never a success.
    static func truncatedStream(provider: String, _ how: String) -> GatewayError {
        GatewayError(
            code: .unavailable,
            message: "provider \"\(provider)\" ended the stream \(how)",
            detail: ErrorDetail(kind: .upstreamTruncated, retryable: true, provider: provider, upstreamStatus: 200))
    }
}
