/// How an Ollama server is reached (its native API, `/api/chat` and `/api/embed`; its
/// OpenAI-compatible `/v1` endpoints are served by the `openai` kind).
package struct OllamaProviderConfiguration: Sendable {
    /// Where Ollama listens by default.
    package static let defaultBaseURL = "http://localhost:11434"

    /// Name, server root (`/api/chat` and `/api/embed` are appended; with a Unix socket only
    /// its path matters), key (a local Ollama needs none; proxies in front of one may: it is
    /// sent as `Authorization: Bearer …`), headers, timeouts.
    package var endpoint: ProviderEndpoint
    /// The largest single NDJSON line accepted.
    package var maxLineBytes: Int
    /// How long Ollama keeps the model loaded after a request (`keep_alive`, e.g. `"5m"`,
    /// `"-1"`); nil leaves the server's default.
    package var keepAlive: String?

    package var name: String { endpoint.name }

    package init(
        endpoint: ProviderEndpoint, maxLineBytes: Int = NDJSONLineDecoder.defaultMaxLineBytes, keepAlive: String? = nil
    ) {
        self.endpoint = endpoint
        self.maxLineBytes = maxLineBytes
        self.keepAlive = keepAlive
    }
}
