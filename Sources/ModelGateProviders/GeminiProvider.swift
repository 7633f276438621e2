import ModelGateCore
import ModelGateUpstream

/// The adapter for the Google Gemini API: `generateContent` (unary),
/// `streamGenerateContent?alt=sse` (streamed), `embedContent` / `batchEmbedContents`.
///
/// The key goes in the `x-goog-api-key` header, never in the URL. Every failure surfaces as a
/// ``GatewayError``; a stream succeeds only if it ends after an event with a finish reason
/// (``GeminiStreamDecoder``).
package struct GeminiProvider: ModelProvider {
    package let configuration: GeminiProviderConfiguration
    private let transport: ProviderTransport
    private let encoder: GeminiRequestEncoder
    /// `{base}/{version}/`: the resource path and `:method` follow.
    private let root: String

    package var name: String { configuration.name }

    package init(configuration: GeminiProviderConfiguration, client: any UpstreamHTTPClient) {
        self.configuration = configuration
        self.transport = ProviderTransport(
            endpoint: configuration.endpoint, client: client, keyHeader: { HTTPHeader("x-goog-api-key", $0) },
            streamMediaType: "text/event-stream", errorBody: GeminiResponseDecoding.errorBody(parsing:))
        self.encoder = GeminiRequestEncoder(configuration: configuration)
        self.root = configuration.endpoint.root + "/" + configuration.apiVersion + "/"
    }

    /// The URL of `method` (`generateContent`, …) for `model`, with `query` if any.
    package func url(model: String, method: String, query: String = "") -> String {
        root + GeminiRequestEncoder.resourcePath(model) + ":" + method + (query.isEmpty ? "" : "?" + query)
    }

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        try await transport.mappingErrors(context) {
            let model = deployment.upstreamModel
            let bytes = try await transport.fetch(
                url: url(model: model, method: "generateContent"), body: try encoder.chatBody(request), context: context)
            return try GeminiResponseDecoding.chatResponse(bytes, provider: name, fallbackModel: model)
        }
    }

    package func chatStream(
        _ request: consuming ChatRequest, deployment: Deployment, context: CallContext, into sink: any ChatEventSink
    ) async throws {
        try await transport.relay(
            url: url(model: deployment.upstreamModel, method: "streamGenerateContent", query: "alt=sse"),
            request: consume request, encode: { try encoder.chatBody($0) }, context: context,
            decoder: GeminiStreamDecoder(provider: name, maxEventBytes: configuration.maxStreamEventBytes), into: sink)
    }

    package func embed(_ request: EmbedRequest, deployment: Deployment, context: CallContext) async throws
        -> EmbedResponse
    {
        try await transport.mappingErrors(context) {
            let model = deployment.upstreamModel
            let method = request.inputs.count == 1 ? "embedContent" : "batchEmbedContents"
            let bytes = try await transport.fetch(
                url: url(model: model, method: method), body: try encoder.embedBody(request, model: model), context: context)
            return try GeminiResponseDecoding.embedResponse(
                bytes, inputCount: request.inputs.count, provider: name, model: model)
        }
    }
}
