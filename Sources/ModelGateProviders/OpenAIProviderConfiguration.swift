import ModelGateUpstream

/// How one OpenAI or OpenAI-compatible server (vLLM, llama.cpp, Groq, Mistral, Together,
/// OpenRouter, …) is reached, and which of the API's variations it speaks.
package struct OpenAIProviderConfiguration: Sendable {
    /// Which request field carries the output token limit.
    package enum MaxTokensField: Sendable, Hashable {
        /// `max_tokens`: understood by every compatible server; OpenAI deprecated it and its
        /// reasoning models reject it.
        case maxTokens
        /// `max_completion_tokens`: what OpenAI itself wants; many compatible servers ignore it.
        case maxCompletionTokens
    }

    /// The provider's name in the configuration, reported in responses and errors.
    package var name: String
    /// The API root, e.g. `https://api.openai.com/v1`; `/chat/completions` (or `/responses`)
    /// and `/embeddings` are appended.
    package var baseURL: String
    /// Sent as `Authorization: Bearer …`; nil for servers that need no key.
    package var apiKey: String?
    /// `OpenAI-Organization`, when set.
    package var organization: String?
    /// `OpenAI-Project`, when set.
    package var project: String?
    /// Extra request headers (not secrets: they may be logged).
    package var extraHeaders: [HTTPHeader]
    package var timeouts: UpstreamTimeouts
    package var httpVersion: HTTPVersionPreference
    /// Connect through this Unix-domain socket instead of TCP.
    package var unixSocketPath: String?
    /// The largest non-streamed response body accepted.
    package var maxUnaryResponseBytes: Int
    /// The largest single stream event accepted.
    package var maxStreamEventBytes: Int
    /// Ask for usage in streams (`stream_options.include_usage`). Turn off for servers that
    /// reject unknown fields; Mistral, for one, sends usage without being asked.
    package var includeStreamUsage: Bool
    /// The server accepts `top_k` (vLLM, llama.cpp, Together, OpenRouter do; OpenAI does not).
    /// When false, a request with `top_k` fails with UNSUPPORTED_FEATURE instead of silently
    /// losing it.
    package var acceptsTopK: Bool
    package var maxTokensField: MaxTokensField
    /// The API chat calls use: Chat Completions (the default) or the Responses API.
    package var chatAPI: OpenAIChatAPI
    /// With the Responses API: let OpenAI store responses (`store: true`). Off by default: a
    /// gateway must not keep user data upstream unless told to.
    package var storeResponses: Bool

    /// - Parameter maxTokensField: nil picks `max_completion_tokens` for `api.openai.com` and
    ///   `max_tokens` for every other server, which is what each understands.
    package init(
        name: String,
        baseURL: String,
        apiKey: String? = nil,
        organization: String? = nil,
        project: String? = nil,
        extraHeaders: [HTTPHeader] = [],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        httpVersion: HTTPVersionPreference = .automatic,
        unixSocketPath: String? = nil,
        maxUnaryResponseBytes: Int = 32 << 20,
        maxStreamEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes,
        includeStreamUsage: Bool = true,
        acceptsTopK: Bool = false,
        maxTokensField: MaxTokensField? = nil,
        chatAPI: OpenAIChatAPI = .chatCompletions,
        storeResponses: Bool = false
    ) {
        self.name = name
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.organization = organization
        self.project = project
        self.extraHeaders = extraHeaders
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.unixSocketPath = unixSocketPath
        self.maxUnaryResponseBytes = maxUnaryResponseBytes
        self.maxStreamEventBytes = maxStreamEventBytes
        self.includeStreamUsage = includeStreamUsage
        self.acceptsTopK = acceptsTopK
        self.maxTokensField = maxTokensField ?? (Self.isOpenAIHost(baseURL) ? .maxCompletionTokens : .maxTokens)
        self.chatAPI = chatAPI
        self.storeResponses = storeResponses
    }

    private static func isOpenAIHost(_ url: String) -> Bool {
        url.hasPrefix("https://api.openai.com/") || url == "https://api.openai.com"
    }
}
