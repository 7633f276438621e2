import ModelGateUpstream

/// How the Google Gemini API (the Developer API, `generativelanguage.googleapis.com`) is
/// reached.
package struct GeminiProviderConfiguration: Sendable {
    /// The Developer API's root.
    package static let defaultBaseURL = "https://generativelanguage.googleapis.com"

    /// The provider's name in the configuration, reported in responses and errors.
    package var name: String
    /// The API root, without version: `/{apiVersion}/models/{model}:{method}` is appended.
    package var baseURL: String
    /// The API version path segment, `v1beta` by default (what Google's SDKs use; `v1` lacks
    /// some fields, such as `systemInstruction` on older models).
    package var apiVersion: String
    /// Sent as `x-goog-api-key`, never in the URL (a `?key=` query would end up in logs).
    package var apiKey: String?
    /// Extra request headers (not secrets: they may be logged).
    package var extraHeaders: [HTTPHeader]
    package var timeouts: UpstreamTimeouts
    package var httpVersion: HTTPVersionPreference
    /// Connect through this Unix-domain socket instead of TCP.
    package var unixSocketPath: String?
    /// The largest non-streamed response body accepted.
    package var maxUnaryResponseBytes: Int
    /// The largest single stream event (or bare error object) accepted.
    package var maxStreamEventBytes: Int
    /// Ask thinking models for thought summaries (`thinkingConfig.includeThoughts`), which
    /// arrive as reasoning.
    package var includeThoughts: Bool

    package init(
        name: String,
        baseURL: String = GeminiProviderConfiguration.defaultBaseURL,
        apiVersion: String = "v1beta",
        apiKey: String? = nil,
        extraHeaders: [HTTPHeader] = [],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        httpVersion: HTTPVersionPreference = .automatic,
        unixSocketPath: String? = nil,
        maxUnaryResponseBytes: Int = 32 << 20,
        maxStreamEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes,
        includeThoughts: Bool = false
    ) {
        self.name = name
        self.baseURL = baseURL
        self.apiVersion = apiVersion
        self.apiKey = apiKey
        self.extraHeaders = extraHeaders
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.unixSocketPath = unixSocketPath
        self.maxUnaryResponseBytes = maxUnaryResponseBytes
        self.maxStreamEventBytes = maxStreamEventBytes
        self.includeThoughts = includeThoughts
    }
}
