/// The gateway's whole configuration, validated (docs/configuration.md).
package struct GatewayConfig: Sendable, Hashable {
    package struct UnixListener: Sendable, Hashable {
        package var path: String
        package var mode: UInt16
    }

    package struct TCPListener: Sendable, Hashable {
        package var host: String
        package var port: Int
    }

    package struct Limits: Sendable, Hashable {
        package var maxFrameSize: UInt32 = 4 * 1024 * 1024
        package var maxConcurrentStreams: UInt32 = 100
        package var maxConnections: Int = 1024
        package var initialWindowSize: UInt32 = 256 * 1024
        package var helloTimeoutMilliseconds: Int = 10_000
    }

    package enum ProviderKind: String, Sendable, Hashable, CaseIterable {
        case openai
        case mock
        case gemini
        case ollama
        /// AWS Bedrock Runtime (Converse, ConverseStream, Titan embeddings).
        case bedrock
        /// KServe v2 / Open Inference Protocol servers (predictive models).
        case kserve
        /// Anthropic's Messages API.
        case anthropic
        /// Azure OpenAI (deployment URLs or the v1 surface); also spelled `azure-openai`, `azure`.
        case azureOpenAI = "azure_openai"
        /// Cohere's v2 API (chat, streams, tools, embeddings).
        case cohere
    }

    package struct Timeouts: Sendable, Hashable {
        package var connectMilliseconds = 10_000
        package var firstByteMilliseconds = 120_000
        package var idleMilliseconds = 120_000
        /// 0 means no limit.
        package var totalMilliseconds = 0
    }

    package struct Provider: Sendable, Hashable {
        package var name: String
        package var kind: ProviderKind
        package var baseURL: String
        /// The key read from `apiKeyEnvironmentVariable` at load time; never logged.
        package var apiKey: String?
        package var apiKeyEnvironmentVariable: String?
        package var http2PriorKnowledge: Bool
        package var timeouts: Timeouts
        package var headers: [String: String]
        /// Connect through this Unix socket instead of TCP (e.g. a local Ollama or vLLM).
        package var unixSocket: String?
        /// The server accepts `top_k` (vLLM, llama.cpp, Together, OpenRouter).
        package var acceptsTopK = false
        /// Ask for usage in streams (`stream_options.include_usage`); nil when the file does not
        /// say (OpenAI then asks, Azure decides by API version).
        package var includeStreamUsage: Bool?
        /// `max_tokens` or `max_completion_tokens`; nil lets the adapter pick by host.
        package var maxTokensField: String?
        /// OpenAI and Azure: `chat_completions` or `responses`, the API chat calls use (nil:
        /// Chat Completions).
        package var chatAPI: String?
        /// OpenAI and Azure with the Responses API: let the provider store responses.
        package var storeResponses = false
        /// Azure: a Microsoft Entra ID token read from `entra_token_env` at load time, sent as
        /// `Authorization: Bearer` instead of an `api-key`. Never logged.
        package var entraToken: String?
        /// Gemini: the API version path segment (`v1beta` when nil). Azure: the `api-version`
        /// (a date) or `v1`.
        package var apiVersion: String?
        /// Gemini: ask thinking models for thought summaries.
        package var includeThoughts = false
        /// Ollama: `keep_alive`, how long the model stays loaded (nil: the server's default).
        package var keepAlive: String?
        /// Bedrock: the AWS region (SigV4 scope, default endpoint).
        package var region: String?
        /// Bedrock: SigV4 credentials read from the environment at load time; nil when the
        /// provider authenticates with an API key (`apiKey`) instead. Never logged.
        package var awsCredentials: AWSCredentials?
        /// Anthropic: the `anthropic-version` header (the adapter's default when nil).
        package var anthropicVersion: String?
        /// Anthropic: beta features, sent in `anthropic-beta`.
        package var anthropicBetas: [String] = []
        /// Anthropic: `max_tokens` for requests that set none (the adapter's default when nil).
        package var defaultMaxTokens: Int?
    }

    /// AWS credentials as read from the environment.
    package struct AWSCredentials: Sendable, Hashable, CustomStringConvertible {
        package var accessKeyID: String
        package var secretAccessKey: String
        package var sessionToken: String?

        package var description: String { "AWSCredentials(\(accessKeyID), secret redacted)" }
    }

    package struct Pricing: Sendable, Hashable {
        package var input: Double
        package var output: Double
        package var cachedInput: Double?
    }

    package enum ModelKind: String, Sendable, Hashable, CaseIterable {
        case chat
        case embedding
        case predictive
    }

    package struct MockOptions: Sendable, Hashable {
        package var tokens = 16
        package var intervalMilliseconds = 0
    }

    package struct Model: Sendable, Hashable {
        package var name: String
        package var provider: String
        package var upstreamModel: String
        package var aliases: [String]
        package var kind: ModelKind
        package var pricing: Pricing?
        package var mock: MockOptions
    }

    package var unix: UnixListener?
    package var tcp: TCPListener?
    package var limits: Limits
    package var drainTimeoutMilliseconds: Int
    /// In file order.
    package var providers: [Provider]
    /// In file order.
    package var models: [Model]

    /// The name of the built-in provider every configuration has.
    package static let mockProviderName = "mock"

    /// The embedded defaults: the default socket and TCP port, and the `mock` model.
    package static let defaults = GatewayConfig(
        unix: UnixListener(path: "/tmp/modelgate.sock", mode: 0o660),
        tcp: TCPListener(host: "127.0.0.1", port: 7470),
        limits: Limits(),
        drainTimeoutMilliseconds: 30_000,
        providers: [],
        models: [
            Model(
                name: "mock", provider: mockProviderName, upstreamModel: "mock", aliases: [], kind: .chat, pricing: nil,
                mock: MockOptions())
        ])
}

/// A configuration error, located: `file:line: key.path: problem`.
package struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    package var file: String
    package var line: Int?
    package var path: String
    package var problem: String

    package init(file: String, line: Int?, path: String, problem: String) {
        self.file = file
        self.line = line
        self.path = path
        self.problem = problem
    }

    package var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return path.isEmpty ? "\(location): \(problem)" : "\(location): \(path): \(problem)"
    }
}
