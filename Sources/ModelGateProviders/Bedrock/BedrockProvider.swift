import ModelGateCore
import ModelGateUpstream

/// The adapter for AWS Bedrock Runtime: Converse (unary chat), ConverseStream (streamed chat,
/// binary event stream) and Titan text embeddings (InvokeModel, one call per input).
///
/// Requests are signed with SigV4 (service `bedrock`) in Swift, or carry a Bedrock API key as a
/// bearer token. Model ids go into the path percent-encoded (`…-v1:0` → `…-v1%3A0`). A stream
/// succeeds only when `messageStop` and `metadata` both arrived.
package struct BedrockProvider: ModelProvider {
    package let configuration: BedrockProviderConfiguration
    private let client: any UpstreamHTTPClient
    private let encoder: BedrockRequestEncoder
    private let baseURL: String
    /// The signing clock (seconds since the Unix epoch); tests fix it.
    private let clock: @Sendable () -> Int64

    package var name: String { configuration.name }

    package init(
        configuration: BedrockProviderConfiguration, client: any UpstreamHTTPClient,
        clock: @escaping @Sendable () -> Int64 = HTTPDate.nowSecondsSinceEpoch
    ) {
        self.configuration = configuration
        self.client = client
        self.encoder = BedrockRequestEncoder(provider: configuration.name)
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.clock = clock
    }

    /// `{base}/model/{percent-encoded model id}/{action}`.
    package func url(model: String, action: String) -> String {
        "\(baseURL)/model/\(URIEncoding.pathSegment(model))/\(action)"
    }

    // MARK: ModelProvider

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        do {
            let body = try encoder.converseBody(request)
            let response = try await send(
                url: url(model: deployment.upstreamModel, action: "converse"), body: body, accept: "application/json",
                context: context)
            let bytes = try await response.body.collect(upTo: configuration.maxUnaryResponseBytes)
            return try BedrockResponseDecoding.chatResponse(
                bytes, requestID: response.headers["x-amzn-requestid"] ?? "", model: deployment.upstreamModel,
                provider: name)
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
            let body = try encoder.converseBody(request)
            _ = consume request
            let response = try await send(
                url: url(model: deployment.upstreamModel, action: "converse-stream"), body: consume body,
                accept: "application/vnd.amazon.eventstream", context: context)
            var decoder = BedrockStreamDecoder(
                provider: name, responseID: response.headers["x-amzn-requestid"] ?? "",
                secrets: configuration.secrets, maxMessageBytes: configuration.maxStreamMessageBytes)
            var events: [ChatStreamEvent] = []
            var iterator = response.body.makeAsyncIterator()
            while !decoder.isDone, let chunk = try await iterator.next() {
                try decoder.decode(chunk, into: &events)
                if !events.isEmpty {
                    try await sink.send(contentsOf: events)
                    events.removeAll(keepingCapacity: true)
                }
            }
            try decoder.finish()
            await iterator.drain()
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    /// Titan text embeddings take one input per call; the calls run a few at a time and the
    /// vectors come back in input order. Usage is the sum of `inputTextTokenCount`, reported
    /// only if every call reported it.
    package func embed(_ request: EmbedRequest, deployment: Deployment, context: CallContext) async throws
        -> EmbedResponse
    {
        do {
            try encoder.checkEmbeddingRequest(request)
            let url = url(model: deployment.upstreamModel, action: "invoke")
            var results = [(values: [Float], tokens: UInt32?)?](repeating: nil, count: request.inputs.count)
            try await withThrowingTaskGroup(of: (Int, [Float], UInt32?).self) { group in
                var next = 0
                func startNext() {
                    let index = next
                    next += 1
                    let body = encoder.titanEmbeddingBody(input: request.inputs[index], dimensions: request.dimensions)
                    group.addTask {
                        let response = try await send(url: url, body: body, accept: "application/json", context: context)
                        let bytes = try await response.body.collect(upTo: configuration.maxUnaryResponseBytes)
                        let embedding = try BedrockResponseDecoding.titanEmbedding(bytes, provider: name)
                        return (index, embedding.values, embedding.tokens)
                    }
                }
                while next < min(request.inputs.count, configuration.maxConcurrentEmbeddingCalls) { startNext() }
                while let (index, values, tokens) = try await group.next() {
                    results[index] = (values, tokens)
                    if next < request.inputs.count { startNext() }
                }
            }
            var embeddings: [Embedding] = []
            var tokens: UInt64? = 0
            for (index, result) in results.enumerated() {
                guard let result else { throw BedrockResponseDecoding.malformed("no embedding for an input", provider: name) }
                embeddings.append(Embedding(index: UInt32(index), values: result.values))
                tokens = tokens.flatMap { sum in result.tokens.map { sum + UInt64($0) } }
            }
            let usage =
                tokens.map { Usage(inputTokens: UInt32(clamping: $0), source: .provider) } ?? .notReported
            return EmbedResponse(embeddings: embeddings, model: deployment.upstreamModel, provider: name, usage: usage)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: name, context: context)
        }
    }

    // MARK: HTTP

    /// The signed (or bearer-authenticated) request for `url`.
    package func makeRequest(url: String, body: consuming [UInt8], accept: String, context: CallContext) -> UpstreamRequest {
        var headers: [HTTPHeader] = [
            HTTPHeader("Content-Type", "application/json"),
            HTTPHeader("Accept", accept),
        ]
        if !context.requestID.isEmpty { headers.append(HTTPHeader("X-Request-Id", context.requestID)) }
        headers.append(contentsOf: configuration.extraHeaders)
        switch configuration.authentication {
        case .sigV4(let credentials):
            let signer = AWSSigV4Signer(credentials: credentials, region: configuration.region, service: "bedrock")
            headers = signer.sign(method: "POST", url: url, headers: headers, body: body, secondsSinceEpoch: clock())
                .headers
        case .apiKey(let key):
            headers.append(HTTPHeader("Authorization", "Bearer \(key)"))
        }
        return UpstreamRequest(
            method: "POST",
            url: url,
            headers: headers,
            body: consume body,
            timeouts: configuration.timeouts.capped(by: context.deadline),
            httpVersion: configuration.httpVersion,
            secretHeaderNames: ["authorization", "x-amz-security-token"],
            streamsResponse: accept == "application/vnd.amazon.eventstream")
    }

    /// Sends the request; returns the response if its status is 2xx, throws the mapped error
    /// otherwise.
    private func send(url: String, body: consuming [UInt8], accept: String, context: CallContext) async throws
        -> UpstreamResponse
    {
        try await client.executeExpectingSuccess(makeRequest(url: url, body: consume body, accept: accept, context: context)) {
            status, headers, body in
            BedrockResponseDecoding.httpError(
                status: status, headers: headers, body: body, provider: name, secrets: configuration.secrets)
        }
    }
}
