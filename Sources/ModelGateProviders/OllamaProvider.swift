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
            provider: configuration.name, client: client, timeouts: configuration.timeouts,
            httpVersion: configuration.httpVersion, unixSocketPath: configuration.unixSocketPath)
        self.encoder = OllamaRequestEncoder(configuration: configuration)
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.chatURL = base + "/api/chat"
        self.embedURL = base + "/api/embed"
    }

    // MARK: ModelProvider

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        do {
            let body = try encoder.chatBody(request, model: deployment.upstreamModel, stream: false)
            let response = try await send(url: chatURL, body: body, streaming: false, context: context)
            let bytes = try await response.body.collect(upTo: configuration.maxUnaryResponseBytes)
            return try OllamaResponseDecoding.chatResponse(bytes, provider: name, fallbackModel: deployment.upstreamModel)
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
            let body = try encoder.chatBody(request, model: deployment.upstreamModel, stream: true)
            let response = try await send(url: chatURL, body: body, streaming: true, context: context)
            var decoder = OllamaStreamDecoder(provider: name, maxLineBytes: configuration.maxLineBytes)
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
            let response = try await send(url: embedURL, body: body, streaming: false, context: context)
            let bytes = try await response.body.collect(upTo: configuration.maxUnaryResponseBytes)
            return try OllamaResponseDecoding.embedResponse(
                bytes, inputCount: request.inputs.count, provider: name, fallbackModel: deployment.upstreamModel)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    // MARK: HTTP

    /// The request for `url`, with the optional key and tracing headers.
    package func makeRequest(url: String, body: [UInt8], streaming: Bool, context: CallContext) -> UpstreamRequest {
        var headers: [HTTPHeader] = [
            HTTPHeader("Content-Type", "application/json"),
            HTTPHeader("Accept", streaming ? "application/x-ndjson" : "application/json"),
        ]
        if let apiKey = configuration.apiKey, !apiKey.isEmpty {
            headers.append(HTTPHeader("Authorization", "Bearer \(apiKey)"))
        }
        var request = transport.request(url: url, headers: headers, body: body, context: context)
        request.headers.append(contentsOf: configuration.extraHeaders)
        return request
    }

    private func send(url: String, body: [UInt8], streaming: Bool, context: CallContext) async throws -> UpstreamResponse {
        let secrets = configuration.apiKey.map { [$0] } ?? []
        return try await transport.send(makeRequest(url: url, body: body, streaming: streaming, context: context)) {
            status, headers, body in
            UpstreamErrorMapping.error(status: status, headers: headers, body: body, provider: name, secrets: secrets)
        }
    }
}
