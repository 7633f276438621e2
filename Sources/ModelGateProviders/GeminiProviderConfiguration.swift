/// How the Google Gemini API (the Developer API, `generativelanguage.googleapis.com`) is
/// reached.
package struct GeminiProviderConfiguration: Sendable {
    /// The Developer API's root.
    package static let defaultBaseURL = "https://generativelanguage.googleapis.com"

    /// Name, API root (without version: `/{apiVersion}/models/{model}:{method}` is
    /// appended), key (sent as `x-goog-api-key`, never in the URL, where a `?key=` query would
    /// end up in logs), headers, timeouts.
    package var endpoint: ProviderEndpoint
    /// The API version path segment, `v1beta` by default (what Google's SDKs use).
    package var apiVersion: String
    /// The largest single stream event (or bare error object) accepted.
    package var maxStreamEventBytes: Int
    /// Ask thinking models for thought summaries (`thinkingConfig.includeThoughts`), which
    /// arrive as reasoning.
    package var includeThoughts: Bool

    package var name: String { endpoint.name }

    package init(
        endpoint: ProviderEndpoint,
        apiVersion: String = "v1beta",
        maxStreamEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes,
        includeThoughts: Bool = false
    ) {
        self.endpoint = endpoint
        self.apiVersion = apiVersion
        self.maxStreamEventBytes = maxStreamEventBytes
        self.includeThoughts = includeThoughts
    }
}
