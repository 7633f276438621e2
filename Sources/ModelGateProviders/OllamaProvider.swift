import ModelGateCore
import ModelGateUpstream

/// The adapter for Ollama's native API: `/api/chat` (unary with `"stream": false`, or an
/// NDJSON stream) and `/api/embed`. `/api/generate` (raw prompt completion) is not used: the
/// unified API is chat, and `/api/chat` applies the model's own template.
///
/// Every failure surfaces as a ``GatewayError``; a stream succeeds only if its
/// `"done": true` line arrived (``OllamaStreamDecoder``).
package struct OllamaProvider: ModelProvider {
    package let configuration: OllamaProviderConfiguration
    private let transport: ProviderTransport
    private let encoder: OllamaRequestEncoder
    private let chatURL: String
    private let embedURL: String

    package var name: String { configuration.name }

    package init(configuration: OllamaProviderConfiguration, client: any UpstreamHTTPClient) {
        self.configuration = configuration
        self.transport = ProviderTransport(
            endpoint: configuration.endpoint, client: client, keyHeader: { HTTPHeader("Authorization", "Bearer \($0)") },
            streamMediaType: "application/x-ndjson", errorBody: UpstreamErrorBody.init(parsing:))
        self.encoder = OllamaRequestEncoder(configuration: configuration)
        self.chatURL = configuration.endpoint.root + "/api/chat"
        self.embedURL = configuration.endpoint.root + "/api/embed"
    }

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        try await transport.mappingErrors(context) {
            let model = deployment.upstreamModel
            let body = try encoder.chatBody(request, model: model, stream: false)
            let bytes = try await transport.fetch(url: chatURL, body: body, context: context)
            return try OllamaResponseDecoding.chatResponse(bytes, provider: name, fallbackModel: model)
        }
    }

    package func chatStream(
        _ request: consuming ChatRequest, deployment: Deployment, context: CallContext, into sink: any ChatEventSink
    ) async throws {
        try await transport.relay(
            url: chatURL, request: consume request,
            encode: { try encoder.chatBody($0, model: deployment.upstreamModel, stream: true) },
            context: context, decoder: OllamaStreamDecoder(provider: name, maxLineBytes: configuration.maxLineBytes),
            into: sink)
    }

    package func embed(_ request: EmbedRequest, deployment: Deployment, context: CallContext) async throws
        -> EmbedResponse
    {
        try await transport.mappingErrors(context) {
            let model = deployment.upstreamModel
            let bytes = try await transport.fetch(url: embedURL, body: try encoder.embedBody(request, model: model), context: context)
            return try OllamaResponseDecoding.embedResponse(
                bytes, inputCount: request.inputs.count, provider: name, fallbackModel: model)
        }
    }
}
