import ModelGateCore
import ModelGateUpstream

/// The adapter for Cohere's v2 API: `POST /v2/chat` (unary with `"stream": false`, SSE with
/// `"stream": true`) and `POST /v2/embed`.
///
/// The key goes in `Authorization: Bearer`. Every failure surfaces as a ``GatewayError``;
/// a stream succeeds only once `message-end` arrived with a finish reason other than
/// `ERROR` or `TIMEOUT` (``CohereStreamDecoder``). Predict is UNSUPPORTED_FEATURE.
package struct CohereProvider: ModelProvider {
    package let configuration: CohereProviderConfiguration
    private let transport: ProviderTransport
    private let encoder: CohereRequestEncoder

    package var name: String { configuration.name }

    package init(configuration: CohereProviderConfiguration, client: any UpstreamHTTPClient) {
        self.configuration = configuration
        self.transport = ProviderTransport(
            endpoint: configuration.endpoint, client: client, keyHeader: { HTTPHeader("Authorization", "Bearer " + $0) },
            streamMediaType: "text/event-stream", errorBody: UpstreamErrorBody.init(parsing:))
        self.encoder = CohereRequestEncoder(provider: configuration.name)
    }

    /// `{base}/v2/chat`.
    package var chatURL: String { configuration.endpoint.root + "/v2/chat" }
    /// `{base}/v2/embed`.
    package var embedURL: String { configuration.endpoint.root + "/v2/embed" }

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        try await transport.mappingErrors(context) {
            let model = deployment.upstreamModel
            let bytes = try await transport.fetch(
                url: chatURL, body: try encoder.chatBody(request, model: model, stream: false), context: context)
            return try CohereResponseDecoding.chatResponse(bytes, provider: name, fallbackModel: model)
        }
    }

    package func chatStream(
        _ request: consuming ChatRequest, deployment: Deployment, context: CallContext, into sink: any ChatEventSink
    ) async throws {
        try await transport.relay(
            url: chatURL, request: consume request,
            encode: { try encoder.chatBody($0, model: deployment.upstreamModel, stream: true) },
            context: context,
            decoder: CohereStreamDecoder(provider: name, maxEventBytes: configuration.maxStreamEventBytes), into: sink)
    }

    package func embed(_ request: EmbedRequest, deployment: Deployment, context: CallContext) async throws
        -> EmbedResponse
    {
        try await transport.mappingErrors(context) {
            let model = deployment.upstreamModel
            let bytes = try await transport.fetch(
                url: embedURL, body: try encoder.embedBody(request, model: model), context: context)
            return try CohereResponseDecoding.embedResponse(
                bytes, inputCount: request.inputs.count, provider: name, model: model)
        }
    }
}
