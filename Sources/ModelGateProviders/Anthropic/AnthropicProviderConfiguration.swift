import ModelGateUpstream

/// How Anthropic's Messages API (`POST {base}/v1/messages`) is reached.
package struct AnthropicProviderConfiguration: Sendable {
    /// Anthropic's API root; `/v1/messages` is appended.
    package static let defaultBaseURL = "https://api.anthropic.com"
    /// The API version every request names in `anthropic-version` (the only one Anthropic
    /// has published so far).
    package static let defaultVersion = "2023-06-01"
    /// `max_tokens` for requests that set none (Anthropic requires it): 4096 is the largest
    /// output every Claude model accepts, the Claude 3 family included.
    package static let defaultMaxTokens: UInt32 = 4096

    /// Name, API root (without `/v1`), key (sent as `x-api-key`), extra headers, timeouts.
    package var endpoint: ProviderEndpoint
    /// The `anthropic-version` header.
    package var version: String
    /// Beta features, sent comma-separated in `anthropic-beta` (not sent when empty).
    package var betas: [String]
    /// `max_tokens` for requests without one.
    package var defaultMaxTokens: UInt32
    /// The largest single stream event accepted.
    package var maxStreamEventBytes: Int

    package var name: String { endpoint.name }

    package init(
        endpoint: ProviderEndpoint,
        version: String = AnthropicProviderConfiguration.defaultVersion,
        betas: [String] = [],
        defaultMaxTokens: UInt32 = AnthropicProviderConfiguration.defaultMaxTokens,
        maxStreamEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes
    ) {
        self.endpoint = endpoint
        self.version = version
        self.betas = betas
        self.defaultMaxTokens = defaultMaxTokens
        self.maxStreamEventBytes = maxStreamEventBytes
    }

    /// The headers every request carries besides the shared ones: `anthropic-version`, and
    /// `anthropic-beta` when betas are configured. A configured extra header of the same
    /// name replaces them, so an operator can always override what the gateway sends.
    var versionHeaders: [HTTPHeader] {
        var headers = [HTTPHeader("anthropic-version", version)]
        if !betas.isEmpty { headers.append(HTTPHeader("anthropic-beta", betas.joined(separator: ","))) }
        let overridden = Set(endpoint.extraHeaders.map { $0.name.lowercased() })
        return headers.filter { !overridden.contains($0.name) }
    }
}
