import ModelGateCore
import ModelGateUpstream

/// The adapter for Anthropic's Messages API: `POST {base}/v1/messages`, unary or streamed
/// (`"stream": true`, server-sent events).
///
/// The key goes in `x-api-key`; every request names `anthropic-version` (and
/// `anthropic-beta` when betas are configured). Every failure surfaces as a
/// ``GatewayError``; a stream succeeds only if its `message_stop` event arrived
/// (``AnthropicStreamDecoder``). Anthropic has no embeddings or predictive models: those
/// calls are UNSUPPORTED_FEATURE (the ``ModelProvider`` defaults).
package struct AnthropicProvider: ModelProvider {
    package let configuration: AnthropicProviderConfiguration
    private let transport: ProviderTransport
    private let encoder: AnthropicRequestEncoder
    private let messagesURL: String

    package var name: String { configuration.name }

    package init(configuration: AnthropicProviderConfiguration, client: any UpstreamHTTPClient) {
        self.configuration = configuration
        var endpoint = configuration.endpoint
        endpoint.extraHeaders = configuration.versionHeaders + endpoint.extraHeaders
        self.transport = ProviderTransport(
            endpoint: endpoint, client: client, keyHeader: { HTTPHeader("x-api-key", $0) },
            streamMediaType: "text/event-stream", errorBody: AnthropicResponseDecoding.errorBody(parsing:))
        self.encoder = AnthropicRequestEncoder(configuration: configuration)
        self.messagesURL = endpoint.root + "/v1/messages"
    }

    /// The configured key, redacted from provider messages wherever it appears.
    private var secrets: [String] { configuration.endpoint.apiKey.map { [$0] } ?? [] }

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        try await transport.mappingErrors(context) {
            let model = deployment.upstreamModel
            let bytes = try await transport.fetch(
                url: messagesURL, body: try encoder.chatBody(request, model: model, stream: false), context: context)
            return try AnthropicResponseDecoding.chatResponse(
                bytes, provider: name, fallbackModel: model,
                jsonResponseTool: AnthropicRequestEncoder.jsonResponseTool(for: request), secrets: secrets)
        }
    }

    package func chatStream(
        _ request: consuming ChatRequest, deployment: Deployment, context: CallContext, into sink: any ChatEventSink
    ) async throws {
        let decoder = AnthropicStreamDecoder(
            provider: name, jsonResponseTool: AnthropicRequestEncoder.jsonResponseTool(for: request), secrets: secrets,
            maxEventBytes: configuration.maxStreamEventBytes)
        try await transport.relay(
            url: messagesURL, request: consume request,
            encode: { try encoder.chatBody($0, model: deployment.upstreamModel, stream: true) },
            context: context, decoder: decoder, into: sink)
    }
}
