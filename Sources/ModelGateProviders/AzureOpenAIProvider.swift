import ModelGateCore
import ModelGateUpstream

/// The adapter for Azure OpenAI: Chat Completions or the Responses API (unary and streamed)
/// and Embeddings of a resource's deployments, on the dated deployment URLs or the v1 surface.
///
/// Requests and answers are OpenAI's, so the OpenAI encoders and decoders do the work; what
/// differs is the addressing (``url(_:deployment:)``), the `api-key` header (or an Entra ID
/// bearer token), and that deployment URLs leave `model` out of the body. Azure's extra
/// members (`prompt_filter_results`, `content_filter_results`) are ignored; its content-filter
/// finish reason and 400 `content_filter` errors map as OpenAI's do.
package struct AzureOpenAIProvider: ModelProvider {
    /// An Azure OpenAI operation, named as its URL path ends.
    package enum Operation: String, Sendable {
        case chatCompletions = "chat/completions"
        case responses
        case embeddings
    }

    package let configuration: AzureOpenAIProviderConfiguration
    private let transport: ProviderTransport
    private let encoder: OpenAIRequestEncoder
    private let responsesEncoder: OpenAIResponsesRequestEncoder
    /// `{endpoint}/openai/`.
    private let root: String

    package var name: String { configuration.name }

    package init(configuration: AzureOpenAIProviderConfiguration, client: any UpstreamHTTPClient) {
        self.configuration = configuration
        let keyHeader: (String) -> HTTPHeader =
            switch configuration.credential {
            case .apiKey: { HTTPHeader("api-key", $0) }
            case .entraToken: { HTTPHeader("Authorization", "Bearer \($0)") }
            }
        self.transport = ProviderTransport(
            endpoint: configuration.endpoint, client: client, keyHeader: keyHeader, streamMediaType: "text/event-stream",
            errorBody: UpstreamErrorBody.init(parsing:))
        self.encoder = OpenAIRequestEncoder(
            provider: configuration.name, maxTokensField: configuration.maxTokensField, acceptsTopK: false,
            includeStreamUsage: configuration.includeStreamUsage)
        self.responsesEncoder = OpenAIResponsesRequestEncoder(
            provider: configuration.name, store: configuration.storeResponses)
        self.root = configuration.endpoint.root + "/openai/"
    }

    /// Where `operation` is sent for `deployment`:
    /// - v1: `{endpoint}/openai/v1/{operation}`;
    /// - dated versions: `{endpoint}/openai/deployments/{deployment}/{operation}?api-version=…`
    ///   (the deployment %-encoded into one segment), except the Responses API, which Azure
    ///   serves at `{endpoint}/openai/responses?api-version=…` for every deployment.
    package func url(_ operation: Operation, deployment: String) -> String {
        if configuration.usesV1 { return root + "v1/" + operation.rawValue }
        let query = "?api-version=" + URIEncoding.pathSegment(configuration.apiVersion)
        if operation == .responses { return root + operation.rawValue + query }
        return root + "deployments/" + URIEncoding.pathSegment(deployment) + "/" + operation.rawValue + query
    }

    /// The body's `model`: the deployment, unless the URL names it already.
    private func bodyModel(_ operation: Operation, deployment: String) -> String? {
        configuration.usesV1 || operation == .responses ? deployment : nil
    }

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        try await transport.mappingErrors(context) {
            let model = deployment.upstreamModel
            if configuration.chatAPI == .responses {
                let body = try responsesEncoder.body(request, model: model, stream: false)
                let bytes = try await transport.fetch(url: url(.responses, deployment: model), body: body, context: context)
                return try OpenAIResponsesDecoding.chatResponse(bytes, provider: name, fallbackModel: model)
            }
            let body = try encoder.chatBody(request, model: bodyModel(.chatCompletions, deployment: model), stream: false)
            let bytes = try await transport.fetch(url: url(.chatCompletions, deployment: model), body: body, context: context)
            return try OpenAIResponseDecoding.chatResponse(bytes, provider: name, fallbackModel: model)
        }
    }

    package func chatStream(
        _ request: consuming ChatRequest, deployment: Deployment, context: CallContext, into sink: any ChatEventSink
    ) async throws {
        let model = deployment.upstreamModel
        let maxEventBytes = configuration.maxStreamEventBytes
        if configuration.chatAPI == .responses {
            try await transport.relay(
                url: url(.responses, deployment: model), request: consume request,
                encode: { try responsesEncoder.body($0, model: model, stream: true) },
                context: context,
                decoder: OpenAIResponsesStreamDecoder(provider: name, maxEventBytes: maxEventBytes), into: sink)
        } else {
            try await transport.relay(
                url: url(.chatCompletions, deployment: model), request: consume request,
                encode: { try encoder.chatBody($0, model: bodyModel(.chatCompletions, deployment: model), stream: true) },
                context: context,
                decoder: OpenAIStreamDecoder(provider: name, maxEventBytes: maxEventBytes), into: sink)
        }
    }

    package func embed(_ request: EmbedRequest, deployment: Deployment, context: CallContext) async throws
        -> EmbedResponse
    {
        try await transport.mappingErrors(context) {
            let model = deployment.upstreamModel
            let body = try encoder.embeddingsBody(request, model: bodyModel(.embeddings, deployment: model))
            let bytes = try await transport.fetch(url: url(.embeddings, deployment: model), body: body, context: context)
            return try OpenAIResponseDecoding.embedResponse(
                bytes, inputCount: request.inputs.count, provider: name, fallbackModel: model)
        }
    }
}
