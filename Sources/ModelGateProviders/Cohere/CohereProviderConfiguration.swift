/// How the Cohere v2 API (`/v2/chat`, `/v2/embed`) is reached.
package struct CohereProviderConfiguration: Sendable {
    /// Cohere's API root.
    package static let defaultBaseURL = "https://api.cohere.com"

    /// Name, API root (`/v2/chat` and `/v2/embed` are appended), key (sent as
    /// `Authorization: Bearer`), headers, timeouts.
    package var endpoint: ProviderEndpoint
    /// The largest single stream event accepted.
    package var maxStreamEventBytes: Int

    package var name: String { endpoint.name }

    package init(endpoint: ProviderEndpoint, maxStreamEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes) {
        self.endpoint = endpoint
        self.maxStreamEventBytes = maxStreamEventBytes
    }
}
