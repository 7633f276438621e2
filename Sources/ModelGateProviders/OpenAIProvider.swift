import ModelGateCore
import ModelGateUpstream

/// The adapter for OpenAI and every OpenAI-compatible server: Chat Completions or the
/// Responses API (``OpenAIProviderConfiguration/chatAPI``; unary and streamed) and Embeddings.
///
/// Every failure surfaces as a ``GatewayError`` (docs/protocol.md §3.2). A stream succeeds
/// only if its end marker arrived (`data: [DONE]`; `response.completed` or
/// `response.incomplete`); after it the rest of the body is read and discarded so the
/// connection can be reused.
package struct OpenAIProvider: ModelProvider {
    package let configuration: OpenAIProviderConfiguration
    private let client: any UpstreamHTTPClient
    private let encoder: OpenAIRequestEncoder
    private let responsesEncoder: OpenAIResponsesRequestEncoder
    private let chatURL: String
    private let responsesURL: String
    private let embeddingsURL: String

    package var name: String { configuration.name }

    package init(configuration: OpenAIProviderConfiguration, client: any UpstreamHTTPClient) {
        self.configuration = configuration
        self.client = client
        self.encoder = OpenAIRequestEncoder(configuration: configuration)
        self.responsesEncoder = OpenAIResponsesRequestEncoder(
            provider: configuration.name, store: configuration.storeResponses)
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.chatURL = base + "/chat/completions"
        self.responsesURL = base + "/responses"
        self.embeddingsURL = base + "/embeddings"
    }

    // MARK: ModelProvider

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        do {
            let model = deployment.upstreamModel
            if configuration.chatAPI == .responses {
                let body = try responsesEncoder.body(request, model: model, stream: false)
                let bytes = try await fetch(url: responsesURL, body: body, context: context)
                return try OpenAIResponsesDecoding.chatResponse(bytes, provider: name, fallbackModel: model)
            }
            let body = try encoder.chatBody(request, model: model, stream: false)
            let bytes = try await fetch(url: chatURL, body: body, context: context)
            return try OpenAIResponseDecoding.chatResponse(bytes, provider: name, fallbackModel: model)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    package func chatStream(
        _ request: consuming ChatRequest,
        deployment: Deployment,
        context: CallContext,
        into sink: any ChatEventSink
    ) async throws {
        do {
            let maxEventBytes = configuration.maxStreamEventBytes
            if configuration.chatAPI == .responses {
                let body = try responsesEncoder.body(request, model: deployment.upstreamModel, stream: true)
                _ = consume request
                let decoder = OpenAIResponsesStreamDecoder(provider: name, maxEventBytes: maxEventBytes)
                try await relay(url: responsesURL, body: consume body, decoder: decoder, context: context, into: sink)
            } else {
                let body = try encoder.chatBody(request, model: deployment.upstreamModel, stream: true)
                _ = consume request
                let decoder = OpenAIStreamDecoder(provider: name, maxEventBytes: maxEventBytes)
                try await relay(url: chatURL, body: consume body, decoder: decoder, context: context, into: sink)
            }
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    package func embed(_ request: EmbedRequest, deployment: Deployment, context: CallContext) async throws
        -> EmbedResponse
    {
        do {
            let body = try encoder.embeddingsBody(request, model: deployment.upstreamModel)
            let bytes = try await fetch(url: embeddingsURL, body: body, context: context)
            return try OpenAIResponseDecoding.embedResponse(
                bytes, inputCount: request.inputs.count, provider: name, fallbackModel: deployment.upstreamModel)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    // MARK: HTTP

    /// The request for `url`, with authentication and tracing headers.
    package func makeRequest(url: String, body: consuming [UInt8], streaming: Bool, context: CallContext) -> UpstreamRequest {
        var headers: [HTTPHeader] = [
            HTTPHeader("Content-Type", "application/json"),
            HTTPHeader("Accept", streaming ? "text/event-stream" : "application/json"),
        ]
        if let apiKey = configuration.apiKey, !apiKey.isEmpty {
            headers.append(HTTPHeader("Authorization", "Bearer \(apiKey)"))
        }
        if let organization = configuration.organization { headers.append(HTTPHeader("OpenAI-Organization", organization)) }
        if let project = configuration.project { headers.append(HTTPHeader("OpenAI-Project", project)) }
        if !context.requestID.isEmpty { headers.append(HTTPHeader("X-Request-Id", context.requestID)) }
        headers.append(contentsOf: configuration.extraHeaders)
        return UpstreamRequest(
            method: "POST",
            url: url,
            headers: headers,
            body: consume body,
            timeouts: configuration.timeouts.capped(by: context.deadline),
            httpVersion: configuration.httpVersion,
            unixSocketPath: configuration.unixSocketPath,
            streamsResponse: streaming)
    }

    /// The whole body of a successful non-streamed answer (at most `maxUnaryResponseBytes`).
    private func fetch(url: String, body: [UInt8], context: CallContext) async throws -> [UInt8] {
        try await send(url: url, body: body, streaming: false, context: context).body
            .collect(upTo: configuration.maxUnaryResponseBytes)
    }

    /// Streams an answer through `decoder` into `sink` (``ProviderTransport/relay(_:decoder:into:)``).
    private func relay<Decoder: ChatStreamDecoding>(
        url: String, body: consuming [UInt8], decoder: Decoder, context: CallContext, into sink: any ChatEventSink
    ) async throws {
        let response = try await send(url: url, body: consume body, streaming: true, context: context)
        try await ProviderTransport.relay(response, decoder: decoder, into: sink)
    }

    /// Sends the request; returns the response if its status is 2xx, throws the mapped error
    /// otherwise.
    private func send(url: String, body: consuming [UInt8], streaming: Bool, context: CallContext) async throws
        -> UpstreamResponse
    {
        try await client.executeExpectingSuccess(
            makeRequest(url: url, body: consume body, streaming: streaming, context: context), provider: name,
            secrets: configuration.apiKey.map { [$0] } ?? [])
    }
}
