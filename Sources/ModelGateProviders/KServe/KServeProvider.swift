import ModelGateCore
import ModelGateUpstream

/// The adapter for predictive models served over the KServe v2 Open Inference Protocol (REST):
/// `Predict` calls, plus model metadata and readiness for operators and health checks.
///
/// Chat and embeddings are UNSUPPORTED_FEATURE: these servers run tensors in, tensors out.
package struct KServeProvider: ModelProvider {
    package let configuration: KServeProviderConfiguration
    private let client: any UpstreamHTTPClient
    private let baseURL: String

    package var name: String { configuration.name }

    package init(configuration: KServeProviderConfiguration, client: any UpstreamHTTPClient) {
        self.configuration = configuration
        self.client = client
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
    }

    /// `{base}/v2/models/{name}[/versions/{version}]{suffix}`, name and version percent-encoded.
    package func url(model: String, version: String, suffix: String = "") -> String {
        var url = "\(baseURL)/v2/models/\(URIEncoding.pathSegment(model))"
        if !version.isEmpty { url += "/versions/\(URIEncoding.pathSegment(version))" }
        return url + suffix
    }

    // MARK: ModelProvider

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        throw GatewayError.unsupported("chat", provider: name)
    }

    package func chatStream(
        _ request: consuming ChatRequest, deployment: Deployment, context: CallContext, into sink: any ChatEventSink
    ) async throws {
        throw GatewayError.unsupported("chat", provider: name)
    }

    /// `POST /v2/models/{name}[/versions/{v}]/infer`; the model is the deployment's upstream
    /// model, the version the request's.
    package func predict(_ request: PredictRequest, deployment: Deployment, context: CallContext) async throws
        -> PredictResponse
    {
        do {
            let body = try KServeCodec.inferBody(request, provider: name)
            let response = try await send(
                method: "POST", url: url(model: deployment.upstreamModel, version: request.version, suffix: "/infer"),
                body: body, context: context)
            let bytes = try await response.body.collect(upTo: configuration.maxResponseBytes)
            return try KServeCodec.predictResponse(bytes, model: deployment.upstreamModel, provider: name)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    // MARK: Metadata and readiness

    /// `GET /v2/models/{name}[/versions/{v}]`.
    package func modelMetadata(model: String, version: String = "", context: CallContext) async throws
        -> KServeModelMetadata
    {
        do {
            let response = try await send(method: "GET", url: url(model: model, version: version), context: context)
            let bytes = try await response.body.collect(upTo: configuration.maxResponseBytes)
            return try KServeCodec.modelMetadata(bytes, provider: name)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    /// `GET /v2/models/{name}[/versions/{v}]/ready`: true for a 2xx answer, false for any other
    /// status (servers answer 400, 404 or 503 for a model that is not ready or not loaded).
    /// - Throws: when no answer arrived (connection refused, timeout, cancellation).
    package func isModelReady(model: String, version: String = "", context: CallContext) async throws -> Bool {
        try await isReady(url(model: model, version: version, suffix: "/ready"), context: context)
    }

    /// `GET /v2/health/ready`: whether the server as a whole is ready.
    package func isServerReady(context: CallContext) async throws -> Bool {
        try await isReady("\(baseURL)/v2/health/ready", context: context)
    }

    private func isReady(_ url: String, context: CallContext) async throws -> Bool {
        do {
            let response = try await client.execute(makeRequest(method: "GET", url: url, body: [], context: context))
            _ = await UpstreamErrorMapping.collectErrorBody(response.body)
            return (200..<300).contains(response.status)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    // MARK: HTTP

    package func makeRequest(method: String, url: String, body: [UInt8], context: CallContext) -> UpstreamRequest {
        var headers: [HTTPHeader] = [HTTPHeader("Accept", "application/json")]
        if method != "GET" { headers.append(HTTPHeader("Content-Type", "application/json")) }
        if let apiKey = configuration.apiKey, !apiKey.isEmpty {
            headers.append(HTTPHeader("Authorization", "Bearer \(apiKey)"))
        }
        if !context.requestID.isEmpty { headers.append(HTTPHeader("X-Request-Id", context.requestID)) }
        headers.append(contentsOf: configuration.extraHeaders)
        return UpstreamRequest(
            method: method,
            url: url,
            headers: headers,
            body: body,
            timeouts: configuration.timeouts.capped(by: context.deadline),
            httpVersion: configuration.httpVersion,
            unixSocketPath: configuration.unixSocketPath)
    }

    /// Sends the request; returns the response if its status is 2xx, throws the mapped error
    /// (`{"error": "…"}` bodies included) otherwise.
    private func send(method: String, url: String, body: [UInt8] = [], context: CallContext) async throws
        -> UpstreamResponse
    {
        try await client.executeExpectingSuccess(
            makeRequest(method: method, url: url, body: body, context: context), provider: name,
            secrets: configuration.apiKey.map { [$0] } ?? [])
    }
}
