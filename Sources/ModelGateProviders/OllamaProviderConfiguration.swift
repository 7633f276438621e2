import ModelGateUpstream

/// How an Ollama server is reached (its native API, `/api/chat` and `/api/embed`; its
/// OpenAI-compatible `/v1` endpoints are served by the `openai` kind).
package struct OllamaProviderConfiguration: Sendable {
    /// Where Ollama listens by default.
    package static let defaultBaseURL = "http://localhost:11434"

    /// The provider's name in the configuration, reported in responses and errors.
    package var name: String
    /// The server root; `/api/chat` and `/api/embed` are appended. With ``unixSocketPath``
    /// only its path matters.
    package var baseURL: String
    /// Sent as `Authorization: Bearer …` when set (a local Ollama needs none; proxies in front
    /// of one may).
    package var apiKey: String?
    /// Extra request headers (not secrets: they may be logged).
    package var extraHeaders: [HTTPHeader]
    package var timeouts: UpstreamTimeouts
    package var httpVersion: HTTPVersionPreference
    /// Connect through this Unix-domain socket instead of TCP.
    package var unixSocketPath: String?
    /// The largest non-streamed response body accepted.
    package var maxUnaryResponseBytes: Int
    /// The largest single NDJSON line accepted.
    package var maxLineBytes: Int
    /// How long Ollama keeps the model loaded after a request (`keep_alive`, e.g. `"5m"`,
    /// `"-1"`); nil leaves the server's default.
    package var keepAlive: String?

    package init(
        name: String,
        baseURL: String = OllamaProviderConfiguration.defaultBaseURL,
        apiKey: String? = nil,
        extraHeaders: [HTTPHeader] = [],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        httpVersion: HTTPVersionPreference = .automatic,
        unixSocketPath: String? = nil,
        maxUnaryResponseBytes: Int = 32 << 20,
        maxLineBytes: Int = NDJSONLineDecoder.defaultMaxLineBytes,
        keepAlive: String? = nil
    ) {
        self.name = name
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.extraHeaders = extraHeaders
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.unixSocketPath = unixSocketPath
        self.maxUnaryResponseBytes = maxUnaryResponseBytes
        self.maxLineBytes = maxLineBytes
        self.keepAlive = keepAlive
    }
}
