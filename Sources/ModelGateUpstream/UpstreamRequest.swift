/// One HTTP header.
package struct HTTPHeader: Sendable, Hashable {
    package var name: String
    package var value: String

    package init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Response headers, with case-insensitive lookup.
package struct HTTPHeaders: Sendable, Hashable, Sequence {
    private var storage: [HTTPHeader]

    package init(_ headers: [HTTPHeader] = []) {
        self.storage = headers
    }

    package mutating func append(_ name: String, _ value: String) {
        storage.append(HTTPHeader(name, value))
    }

    /// The first value of the header called `name`, compared case-insensitively.
    package subscript(name: String) -> String? {
        let wanted = name.lowercased()
        return storage.first { $0.name.lowercased() == wanted }?.value
    }

    package func makeIterator() -> IndexingIterator<[HTTPHeader]> {
        storage.makeIterator()
    }
}

/// Which HTTP version to ask the upstream for.
package enum HTTPVersionPreference: Sendable, Hashable {
    /// HTTP/2 over TLS when the server offers it (ALPN), HTTP/1.1 otherwise.
    case automatic
    /// HTTP/1.1 only.
    case http1
    /// HTTP/2 without TLS upgrade negotiation (h2c, "prior knowledge"), for local servers.
    case http2PriorKnowledge
}

/// Time limits of one upstream transfer. `nil` means no limit.
package struct UpstreamTimeouts: Sendable, Hashable {
    /// TCP (and TLS) connection establishment.
    package var connect: Duration
    /// From the start of the transfer until the response headers arrive.
    package var firstByte: Duration?
    /// Longest silence between two reads of the response body. Time the transfer spends
    /// paused because the gateway's own caller is slow does not count.
    package var idle: Duration?
    /// The whole transfer.
    package var total: Duration?

    package init(
        connect: Duration = .seconds(10),
        firstByte: Duration? = .seconds(120),
        idle: Duration? = .seconds(120),
        total: Duration? = nil
    ) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.total = total
    }
}

/// An HTTP request to a provider.
package struct UpstreamRequest: Sendable {
    package var method: String
    /// Absolute `http://` or `https://` URL. It always comes from operator configuration,
    /// never from a caller.
    package var url: String
    package var headers: [HTTPHeader]
    package var body: [UInt8]
    package var timeouts: UpstreamTimeouts
    package var httpVersion: HTTPVersionPreference
    /// Connect through this Unix-domain socket instead of TCP (e.g. a local Ollama).
    package var unixSocketPath: String?
    /// Header names whose values are secrets; they never appear in logs or errors.
    package var secretHeaderNames: Set<String>
    /// Whether the caller reads the response as it arrives (a token stream: small pieces over a
    /// long time, thousands of them open at once). Then `execute` returns as soon as the head
    /// arrives, and libcurl reads into a 4 KiB buffer instead of 16 KiB. Otherwise `execute`
    /// returns once the whole body is in (or the body buffer is full): one wake-up of the
    /// caller instead of two or three.
    package var streamsResponse: Bool

    package init(
        method: String = "POST",
        url: String,
        headers: [HTTPHeader] = [],
        body: [UInt8] = [],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        httpVersion: HTTPVersionPreference = .automatic,
        unixSocketPath: String? = nil,
        secretHeaderNames: Set<String> = ["authorization", "x-api-key", "api-key", "x-goog-api-key"],
        streamsResponse: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.unixSocketPath = unixSocketPath
        self.secretHeaderNames = secretHeaderNames
        self.streamsResponse = streamsResponse
    }
}

/// Why an upstream transfer failed before or while its body was read.
package struct UpstreamError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Kind: Sendable, Hashable {
        /// DNS failure, connection refused, TLS failure.
        case connect
        /// The connect timeout expired.
        case connectTimeout
        /// No response headers within the first-byte timeout.
        case firstByteTimeout
        /// The body stalled longer than the idle timeout.
        case idleTimeout
        /// The total timeout expired.
        case totalTimeout
        /// The connection broke while the response was being received (reset, EOF mid-body).
        case transfer
        /// The transfer was cancelled by the gateway (caller cancelled or its deadline passed).
        case cancelled
        /// The request could not be sent as built (bad URL, unsupported option).
        case invalidRequest
        /// The response body exceeded the size the caller accepts.
        case bodyTooLarge
        /// The client is shutting down.
        case shutdown
    }

    package var kind: Kind
    /// A description safe to show: it never contains secrets.
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { "upstream \(kind): \(message)" }
}

/// A response whose headers have arrived; its body streams in `body`.
package struct UpstreamResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: UpstreamBody

    package init(status: Int, headers: HTTPHeaders, body: UpstreamBody) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Sends HTTP requests to providers. `CurlClient` is the production implementation.
package protocol UpstreamHTTPClient: Sendable {
    /// Starts the transfer and returns once the response headers have arrived.
    ///
    /// Cancelling the calling task, or dropping the response's body before it ends, aborts
    /// the transfer and closes its connection.
    /// - Throws: ``UpstreamError``.
    /// The request is consumed: the transfer keeps it, minus the body once libcurl has copied it.
    func execute(_ request: consuming UpstreamRequest) async throws -> UpstreamResponse
}
