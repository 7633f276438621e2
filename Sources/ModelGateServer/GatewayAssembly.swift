import ModelGateConfig
import ModelGateCore
import ModelGateProviders
import ModelGateUpstream

/// Builds the running gateway's parts from a validated configuration.
package enum GatewayAssembly {
    /// The listeners and limits of `config`.
    package static func serverConfiguration(_ config: GatewayConfig) -> ServerConfiguration {
        ServerConfiguration(
            unix: config.unix.map { ServerConfiguration.UnixListener(path: $0.path, mode: $0.mode) },
            tcp: config.tcp.map { ServerConfiguration.TCPListener(host: $0.host, port: $0.port) },
            limits: ServerConfiguration.Limits(
                maxFrameSize: config.limits.maxFrameSize,
                maxConcurrentStreams: config.limits.maxConcurrentStreams,
                maxConnections: config.limits.maxConnections,
                initialWindowSize: config.limits.initialWindowSize,
                helloTimeout: .milliseconds(config.limits.helloTimeoutMilliseconds)),
            drainTimeout: .milliseconds(config.drainTimeoutMilliseconds))
    }

    /// The models of `config`, each bound to its provider adapter.
    /// - Parameter providers: the adapter for each configured (non-mock) provider, by name.
    package static func registry(
        _ config: GatewayConfig, providers: [String: any ModelProvider]
    ) throws -> ModelRegistry {
        var registry = ModelRegistry()
        for model in config.models {
            let provider: any ModelProvider
            if model.provider == GatewayConfig.mockProviderName {
                provider = MockProvider(
                    name: GatewayConfig.mockProviderName,
                    configuration: MockProvider.Configuration(
                        tokens: model.mock.tokens, interval: .milliseconds(model.mock.intervalMilliseconds)))
            } else if let configured = providers[model.provider] {
                provider = configured
            } else {
                throw StartupError("model \"\(model.name)\": provider \"\(model.provider)\" is not available")
            }
            let pricing = model.pricing.map {
                Pricing(inputPerMillion: $0.input, outputPerMillion: $0.output, cachedInputPerMillion: $0.cachedInput)
            }
            let kind: ModelKind =
                switch model.kind {
                case .chat: .chat
                case .embedding: .embedding
                case .predictive: .predictive
                }
            do {
                try registry.register(
                    ServedModel(
                        name: model.name, aliases: model.aliases, kind: kind,
                        deployments: [
                            Deployment(
                                modelName: model.name, upstreamModel: model.upstreamModel, provider: provider,
                                pricing: pricing)
                        ]))
            } catch {
                throw StartupError(error.message)
            }
        }
        return registry
    }

    /// An adapter for every configured provider, all sharing `client`'s connection pool.
    package static func providers(_ config: GatewayConfig, client: any UpstreamHTTPClient) -> [String: any ModelProvider] {
        var result: [String: any ModelProvider] = [:]
        for provider in config.providers {
            switch provider.kind {
            case .openai:
                let configuration = OpenAIProviderConfiguration(
                    name: provider.name,
                    baseURL: provider.baseURL,
                    apiKey: provider.apiKey,
                    extraHeaders: provider.headers.sorted { $0.key < $1.key }.map { HTTPHeader($0.key, $0.value) },
                    timeouts: upstreamTimeouts(provider.timeouts),
                    httpVersion: provider.http2PriorKnowledge ? .http2PriorKnowledge : .automatic,
                    unixSocketPath: provider.unixSocket,
                    includeStreamUsage: provider.includeStreamUsage ?? true,
                    acceptsTopK: provider.acceptsTopK,
                    maxTokensField: maxTokensField(provider), chatAPI: chatAPI(provider),
                    storeResponses: provider.storeResponses)
                result[provider.name] = OpenAIProvider(configuration: configuration, client: client)
            case .azureOpenAI:
                var endpoint = endpoint(provider)
                endpoint.apiKey = provider.entraToken ?? provider.apiKey
                let configuration = AzureOpenAIProviderConfiguration(
                    endpoint: endpoint, credential: provider.entraToken != nil ? .entraToken : .apiKey,
                    apiVersion: provider.apiVersion ?? AzureOpenAIProviderConfiguration.defaultAPIVersion,
                    chatAPI: chatAPI(provider), storeResponses: provider.storeResponses,
                    maxTokensField: maxTokensField(provider), includeStreamUsage: provider.includeStreamUsage)
                result[provider.name] = AzureOpenAIProvider(configuration: configuration, client: client)
            case .gemini:
                let configuration = GeminiProviderConfiguration(
                    endpoint: endpoint(provider), apiVersion: provider.apiVersion ?? "v1beta",
                    includeThoughts: provider.includeThoughts)
                result[provider.name] = GeminiProvider(configuration: configuration, client: client)
            case .ollama:
                let configuration = OllamaProviderConfiguration(endpoint: endpoint(provider), keepAlive: provider.keepAlive)
                result[provider.name] = OllamaProvider(configuration: configuration, client: client)
            case .bedrock:
                let authentication: BedrockProviderConfiguration.Authentication =
                    if let credentials = provider.awsCredentials {
                        .sigV4(
                            AWSCredentials(
                                accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey,
                                sessionToken: credentials.sessionToken))
                    } else {
                        .apiKey(provider.apiKey ?? "")
                    }
                let configuration = BedrockProviderConfiguration(
                    name: provider.name,
                    region: provider.region ?? "",
                    baseURL: provider.baseURL.isEmpty ? nil : provider.baseURL,
                    authentication: authentication,
                    extraHeaders: provider.headers.sorted { $0.key < $1.key }.map { HTTPHeader($0.key, $0.value) },
                    timeouts: upstreamTimeouts(provider.timeouts),
                    httpVersion: provider.http2PriorKnowledge ? .http2PriorKnowledge : .automatic)
                result[provider.name] = BedrockProvider(configuration: configuration, client: client)
            case .kserve:
                let configuration = KServeProviderConfiguration(
                    name: provider.name,
                    baseURL: provider.baseURL,
                    apiKey: provider.apiKey,
                    extraHeaders: provider.headers.sorted { $0.key < $1.key }.map { HTTPHeader($0.key, $0.value) },
                    timeouts: upstreamTimeouts(provider.timeouts),
                    httpVersion: provider.http2PriorKnowledge ? .http2PriorKnowledge : .automatic,
                    unixSocketPath: provider.unixSocket)
                result[provider.name] = KServeProvider(configuration: configuration, client: client)
            case .anthropic:
                let configuration = AnthropicProviderConfiguration(
                    endpoint: endpoint(provider),
                    version: provider.anthropicVersion ?? AnthropicProviderConfiguration.defaultVersion,
                    betas: provider.anthropicBetas,
                    defaultMaxTokens: provider.defaultMaxTokens.map { UInt32($0) }
                        ?? AnthropicProviderConfiguration.defaultMaxTokens)
                result[provider.name] = AnthropicProvider(configuration: configuration, client: client)
            case .cohere:
                result[provider.name] = CohereProvider(
                    configuration: CohereProviderConfiguration(endpoint: endpoint(provider)), client: client)
            case .mock:
                break
            }
        }
        return result
    }

    /// The OpenAI family's `max_tokens_field`; nil lets the adapter choose.
    private static func maxTokensField(_ provider: GatewayConfig.Provider) -> OpenAIProviderConfiguration.MaxTokensField? {
        provider.maxTokensField.map { $0 == "max_tokens" ? .maxTokens : .maxCompletionTokens }
    }

    /// The OpenAI family's `api`.
    private static func chatAPI(_ provider: GatewayConfig.Provider) -> OpenAIChatAPI {
        provider.chatAPI.flatMap(OpenAIChatAPI.init(rawValue:)) ?? .chatCompletions
    }

    /// Where and how `provider` is reached, for the adapters configured by a ``ProviderEndpoint``.
    private static func endpoint(_ provider: GatewayConfig.Provider) -> ProviderEndpoint {
        ProviderEndpoint(
            name: provider.name,
            baseURL: provider.baseURL,
            apiKey: provider.apiKey,
            extraHeaders: provider.headers.sorted { $0.key < $1.key }.map { HTTPHeader($0.key, $0.value) },
            timeouts: upstreamTimeouts(provider.timeouts),
            httpVersion: provider.http2PriorKnowledge ? .http2PriorKnowledge : .automatic,
            unixSocketPath: provider.unixSocket)
    }

    /// A provider's configured timeouts; 0 means no limit (except for connecting).
    private static func upstreamTimeouts(_ timeouts: GatewayConfig.Timeouts) -> UpstreamTimeouts {
        UpstreamTimeouts(
            connect: .milliseconds(timeouts.connectMilliseconds),
            firstByte: timeouts.firstByteMilliseconds > 0 ? .milliseconds(timeouts.firstByteMilliseconds) : nil,
            idle: timeouts.idleMilliseconds > 0 ? .milliseconds(timeouts.idleMilliseconds) : nil,
            total: timeouts.totalMilliseconds > 0 ? .milliseconds(timeouts.totalMilliseconds) : nil)
    }
}
