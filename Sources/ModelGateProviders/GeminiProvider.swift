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
            provider: configuration.name, client: client, timeouts: configuration.timeouts,
            httpVersion: configuration.httpVersion, unixSocketPath: configuration.unixSocketPath)
        self.encoder = GeminiRequestEncoder(configuration: configuration)
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.root = base + "/" + configuration.apiVersion + "/"
    }

    /// The URL of `method` (`generateContent`, …) for `model`, with `query` if any.
    package func url(model: String, method: String, query: String = "") -> String {
        root + GeminiRequestEncoder.resourcePath(model) + ":" + method + (query.isEmpty ? "" : "?" + query)
    }

    // MARK: ModelProvider

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        do {
            let body = try encoder.chatBody(request)
            let response = try await send(
                url: url(model: deployment.upstreamModel, method: "generateContent"), body: body, streaming: false,
                context: context)
            let bytes = try await response.body.collect(upTo: configuration.maxUnaryResponseBytes)
            return try GeminiResponseDecoding.chatResponse(bytes, provider: name, fallbackModel: deployment.upstreamModel)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    package func chatStream(
        _ request: ChatRequest,
        deployment: Deployment,
        context: CallContext,
        into sink: any ChatEventSink
    ) async throws {
        do {
            let body = try encoder.chatBody(request)
            let response = try await send(
                url: url(model: deployment.upstreamModel, method: "streamGenerateContent", query: "alt=sse"), body: body,
                streaming: true, context: context)
            var decoder = GeminiStreamDecoder(provider: name, maxEventBytes: configuration.maxStreamEventBytes)
            try await transport.relay(response.body, decoder: &decoder, into: sink)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    package func embed(_ request: EmbedRequest, deployment: Deployment, context: CallContext) async throws
        -> EmbedResponse
    {
        do {
            let body = try encoder.embedBody(request, model: deployment.upstreamModel)
            let method = request.inputs.count == 1 ? "embedContent" : "batchEmbedContents"
            let response = try await send(
                url: url(model: deployment.upstreamModel, method: method), body: body, streaming: false, context: context)
            let bytes = try await response.body.collect(upTo: configuration.maxUnaryResponseBytes)
            return try GeminiResponseDecoding.embedResponse(
                bytes, inputCount: request.inputs.count, provider: name, model: deployment.upstreamModel)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    // MARK: HTTP

    /// The request for `url`, with the key and tracing headers.
    package func makeRequest(url: String, body: [UInt8], streaming: Bool, context: CallContext) -> UpstreamRequest {
        var headers: [HTTPHeader] = [
            HTTPHeader("Content-Type", "application/json"),
            HTTPHeader("Accept", streaming ? "text/event-stream" : "application/json"),
        ]
        if let apiKey = configuration.apiKey, !apiKey.isEmpty {
            headers.append(HTTPHeader("x-goog-api-key", apiKey))
        }
        var request = transport.request(url: url, headers: headers, body: body, context: context)
        request.headers.append(contentsOf: configuration.extraHeaders)
        return request
    }

    private func send(url: String, body: [UInt8], streaming: Bool, context: CallContext) async throws -> UpstreamResponse {
        let secrets = configuration.apiKey.map { [$0] } ?? []
        return try await transport.send(makeRequest(url: url, body: body, streaming: streaming, context: context)) {
            status, headers, body in
            UpstreamErrorMapping.error(
                status: status, headers: headers, parsedBody: GeminiResponseDecoding.errorBody(parsing: body),
                provider: name, secrets: secrets)
        }
    }
}
