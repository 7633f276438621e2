/// How one Azure OpenAI resource is reached, and which of its API surfaces is spoken.
package struct AzureOpenAIProviderConfiguration: Sendable {
    /// The newest generally available dated API version (deployment URLs).
    package static let defaultAPIVersion = "2024-10-21"
    /// The ``apiVersion`` that selects Azure's v1 surface (`/openai/v1/…`, the deployment
    /// named as the body's `model`, no `api-version` query).
    package static let v1APIVersion = "v1"

    /// How the secret in ``endpoint`` authenticates.
    package enum Credential: Sendable, Hashable {
        /// A resource key, sent as `api-key`.
        case apiKey
        /// A Microsoft Entra ID access token, sent as `Authorization: Bearer`.
        case entraToken
    }

    /// Name, resource endpoint (`https://NAME.openai.azure.com`; `/openai/…` is appended),
    /// the key or token (nil: no authentication header, e.g. behind a proxy that adds it),
    /// headers, timeouts.
    package var endpoint: ProviderEndpoint
    package var credential: Credential
    /// A dated version (`2024-10-21`, `2025-04-01-preview`: deployment URLs with
    /// `?api-version=`) or `v1`.
    package var apiVersion: String
    /// The API chat calls use.
    package var chatAPI: OpenAIChatAPI
    /// With the Responses API: let Azure store responses (`store: true`); off by default.
    package var storeResponses: Bool
    package var maxTokensField: OpenAIProviderConfiguration.MaxTokensField
    /// Ask for usage in streams (`stream_options.include_usage`).
    package var includeStreamUsage: Bool
    /// The largest single stream event accepted.
    package var maxStreamEventBytes: Int

    package var name: String { endpoint.name }

    /// Whether ``apiVersion`` selects the v1 surface.
    package var usesV1: Bool { apiVersion == Self.v1APIVersion }

    /// - Parameters:
    ///   - maxTokensField: nil picks `max_completion_tokens` where the API version knows it
    ///     (v1, and dated versions from 2024-09-01 on, which the o-series models require) and
    ///     `max_tokens` for older versions.
    ///   - includeStreamUsage: nil asks for usage where the API version supports
    ///     `stream_options` (the same versions); older ones reject the field.
    package init(
        endpoint: ProviderEndpoint,
        credential: Credential = .apiKey,
        apiVersion: String = Self.defaultAPIVersion,
        chatAPI: OpenAIChatAPI = .chatCompletions,
        storeResponses: Bool = false,
        maxTokensField: OpenAIProviderConfiguration.MaxTokensField? = nil,
        includeStreamUsage: Bool? = nil,
        maxStreamEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes
    ) {
        self.endpoint = endpoint
        self.credential = credential
        self.apiVersion = apiVersion
        self.chatAPI = chatAPI
        self.storeResponses = storeResponses
        let modern = apiVersion == Self.v1APIVersion || !apiVersion.hasPrefix("20") || apiVersion >= "2024-09-01"
        self.maxTokensField = maxTokensField ?? (modern ? .maxCompletionTokens : .maxTokens)
        self.includeStreamUsage = includeStreamUsage ?? modern
        self.maxStreamEventBytes = maxStreamEventBytes
    }
}
