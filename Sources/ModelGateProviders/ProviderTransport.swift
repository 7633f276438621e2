import ModelGateCore
import ModelGateJSON
import ModelGateUpstream

/// A synchronous stream decoder: bytes in, ``ChatStreamEvent``s out. Decoders do no I/O, so
/// ``ProviderTransport/relay(url:body:context:decoder:into:)`` drives them from the network
/// and tests from fixtures split at any point.
package protocol ChatStreamDecoding: Sendable {
    /// Whether the provider's end marker arrived; nothing after it is decoded.
    var isDone: Bool { get }
    /// Decodes what `bytes` complete, appending the events to `output`.
    mutating func decode(_ bytes: [UInt8], into output: inout [ChatStreamEvent]) throws(GatewayError)
    /// The body ended: throws UNAVAILABLE / UPSTREAM_TRUNCATED unless the stream is complete.
    func finish() throws(GatewayError)
}

/// A stream decoder for a provider that speaks server-sent events one JSON event at a time:
/// it only says what one event means; splitting the body into events and deciding that a
/// stream without its end marker is truncated are shared.
package protocol ServerSentEventStreamDecoding: ChatStreamDecoding {
    var provider: String { get }
    /// The events read so far, and the part of one still arriving.
    var events: ServerSentEventDecoder { get set }
    /// The end marker as the truncation error names it (`data: [DONE]`).
    static var endMarker: String { get }
    mutating func decodeEvent(_ event: ServerSentEvent, into output: inout [ChatStreamEvent]) throws(GatewayError)
}

extension ServerSentEventStreamDecoding {
    /// Decodes the events completed by `bytes`, appending what they mean to `output`.
    /// - Throws: ``GatewayError``: what ``decodeEvent(_:into:)`` throws, UPSTREAM_MALFORMED for
    ///   an oversized event.
    package mutating func decode(_ bytes: [UInt8], into output: inout [ChatStreamEvent]) throws(GatewayError) {
        guard !isDone else { return }
        events.append(bytes)
        while !isDone, let event = try events.nextEvent(provider: provider) {
            try decodeEvent(event, into: &output)
        }
    }

    /// The body ended.
    /// - Throws: UNAVAILABLE / UPSTREAM_TRUNCATED unless the end marker arrived.
    package func finish() throws(GatewayError) {
        guard !isDone else { return }
        let pending = events.hasPartialEvent ? " (in the middle of an event)" : ""
        throw GatewayError.truncatedStream(provider: provider, "before \(Self.endMarker)\(pending)")
    }
}

/// Where and how a provider is reached: the part of every adapter's configuration that is
/// the same whatever the wire format.
package struct ProviderEndpoint: Sendable {
    /// The provider's name in the configuration, reported in responses and errors.
    package var name: String
    /// The API root the adapter appends its paths to.
    package var baseURL: String
    /// The provider's key; the adapter decides the header it goes in.
    package var apiKey: String?
    /// Extra request headers (not secrets: they may be logged).
    package var extraHeaders: [HTTPHeader]
    package var timeouts: UpstreamTimeouts
    package var httpVersion: HTTPVersionPreference
    /// Connect through this Unix-domain socket instead of TCP.
    package var unixSocketPath: String?
    /// The largest non-streamed response body accepted.
    package var maxUnaryResponseBytes: Int

    package init(
        name: String,
        baseURL: String,
        apiKey: String? = nil,
        extraHeaders: [HTTPHeader] = [],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        httpVersion: HTTPVersionPreference = .automatic,
        unixSocketPath: String? = nil,
        maxUnaryResponseBytes: Int = 32 << 20
    ) {
        self.name = name
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.extraHeaders = extraHeaders
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.unixSocketPath = unixSocketPath
        self.maxUnaryResponseBytes = maxUnaryResponseBytes
    }

    /// ``baseURL`` without trailing slashes.
    package var root: String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
}

/// The HTTP plumbing shared by the adapters written after the OpenAI one (which keeps its
/// own): requests with the key, tracing headers and a total timeout capped by the call's
/// deadline; non-2xx answers turned into mapped errors; unary bodies read within bounds;
/// streams relayed from body to sink.
package struct ProviderTransport: Sendable {
    package let endpoint: ProviderEndpoint
    private let client: any UpstreamHTTPClient
    /// The key's header (`x-goog-api-key: …`, `Authorization: Bearer …`), if there is a key.
    private let keyHeader: HTTPHeader?
    /// The `Accept` of streamed requests.
    private let streamMediaType: String
    /// Reads the provider's error bodies.
    private let errorBody: @Sendable ([UInt8]) -> UpstreamErrorBody

    /// The most body bytes read after a stream's end marker before the transfer is dropped.
    package static let maxDrainBytes = 64 << 10

    /// - Parameters:
    ///   - keyHeader: the header carrying `endpoint.apiKey`, given the key; not sent without one.
    ///   - streamMediaType: what streamed requests accept (`text/event-stream`, …).
    ///   - errorBody: how the provider's error bodies read.
    package init(
        endpoint: ProviderEndpoint, client: any UpstreamHTTPClient, keyHeader: (String) -> HTTPHeader,
        streamMediaType: String, errorBody: @escaping @Sendable ([UInt8]) -> UpstreamErrorBody
    ) {
        self.endpoint = endpoint
        self.client = client
        self.keyHeader = endpoint.apiKey.flatMap { $0.isEmpty ? nil : keyHeader($0) }
        self.streamMediaType = streamMediaType
        self.errorBody = errorBody
    }

    private var provider: String { endpoint.name }

    /// A POST of JSON `body` to `url`: `Content-Type`, `Accept`, the key, `X-Request-Id`
    /// (when the call has an id), then the configured extra headers. The caller's deadline
    /// bounds the transfer even if cancellation arrives late.
    package func request(url: String, body: consuming [UInt8], streaming: Bool, context: CallContext) -> UpstreamRequest {
        var headers: [HTTPHeader] = [
            HTTPHeader("Content-Type", "application/json"),
            HTTPHeader("Accept", streaming ? streamMediaType : "application/json"),
        ]
        if let keyHeader { headers.append(keyHeader) }
        if !context.requestID.isEmpty { headers.append(HTTPHeader("X-Request-Id", context.requestID)) }
        headers.append(contentsOf: endpoint.extraHeaders)
        var limits = endpoint.timeouts
        if let deadline = context.deadline {
            let remaining = max(deadline - .now, .milliseconds(1))
            limits.total = min(limits.total ?? remaining, remaining)
        }
        return UpstreamRequest(
            method: "POST", url: url, headers: headers, body: consume body, timeouts: limits,
            httpVersion: endpoint.httpVersion, unixSocketPath: endpoint.unixSocketPath, streamsResponse: streaming)
    }

    /// Runs `call`, turning whatever it throws into the ``GatewayError`` the caller sees.
    package func mappingErrors<T>(_ context: CallContext, _ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: provider, context: context)
        }
    }

    /// Sends the request; returns the response when its status is 2xx, throws the mapped
    /// error of its (first 64 KiB of) body otherwise.
    /// The body is consumed: once libcurl has its copy, no frame of a running stream keeps one.
    package func open(url: String, body: consuming [UInt8], streaming: Bool, context: CallContext) async throws
        -> UpstreamResponse
    {
        let response = try await client.execute(request(url: url, body: consume body, streaming: streaming, context: context))
        guard (200..<300).contains(response.status) else {
            let bytes = await UpstreamErrorMapping.collectErrorBody(response.body)
            throw UpstreamErrorMapping.error(
                status: response.status, headers: response.headers, parsedBody: errorBody(bytes), provider: provider,
                secrets: endpoint.apiKey.map { [$0] } ?? [])
        }
        return response
    }

    /// The whole body of a successful non-streamed answer (at most `maxUnaryResponseBytes`).
    package func fetch(url: String, body: [UInt8], context: CallContext) async throws -> [UInt8] {
        try await open(url: url, body: body, streaming: false, context: context).body
            .collect(upTo: endpoint.maxUnaryResponseBytes)
    }

    /// Streams an answer: feeds the body to `decoder` and each event to `sink` until the
    /// decoder's end marker or EOF, checks the stream is complete, then reads what follows
    /// the end marker (up to ``maxDrainBytes``, normally nothing) so the connection can be
    /// reused.
    /// Encodes `request` with `encode`, lets the request go, and relays the answer: a long
    /// prompt is not held for the stream's whole life. Errors are mapped, as by
    /// ``mappingErrors(_:_:)`` (a closure around the call would keep the request alive).
    package func relay<Decoder: ChatStreamDecoding>(
        url: String, request: consuming ChatRequest, encode: (ChatRequest) throws -> [UInt8], context: CallContext,
        decoder: Decoder, into sink: any ChatEventSink
    ) async throws {
        let body = try encode(request)
        _ = consume request
        try await relay(url: url, body: consume body, context: context, decoder: decoder, into: sink)
    }

    /// Errors are mapped, as by ``mappingErrors(_:_:)``.
    package func relay<Decoder: ChatStreamDecoding>(
        url: String, body: consuming [UInt8], context: CallContext, decoder: Decoder, into sink: any ChatEventSink
    ) async throws {
        do {
            let response = try await open(url: url, body: consume body, streaming: true, context: context)
            try await Self.relay(response, decoder: decoder, into: sink)
        } catch {
            throw UpstreamErrorMapping.gatewayError(from: error, provider: provider, context: context)
        }
    }

    /// Relays an already opened stream: ``relay(url:body:context:decoder:into:)`` after the
    /// request (also used by the OpenAI adapter, which sends its own).
    package static func relay<Decoder: ChatStreamDecoding>(
        _ response: UpstreamResponse, decoder: Decoder, into sink: any ChatEventSink
    ) async throws {
        var decoder = decoder
        var events: [ChatStreamEvent] = []
        var iterator = response.body.makeAsyncIterator()
        while !decoder.isDone, let chunk = try await iterator.next() {
            // What was decoded before an error in the same piece is still relayed, so the
            // output delivered does not depend on how the network split the body.
            var failure: GatewayError?
            do {
                try decoder.decode(chunk, into: &events)
            } catch {
                failure = error
            }
            if !events.isEmpty {
                try await sink.send(contentsOf: events)
                events.removeAll(keepingCapacity: true)
            }
            if let failure { throw failure }
        }
        try decoder.finish()
        var drained = 0
        do {
            while drained <= maxDrainBytes, let chunk = try await iterator.next() {
                drained += chunk.count
            }
        } catch {
            // The response is already complete; only the connection is lost.
        }
    }
}

/// Reads a provider's response objects (a unary answer, or one stream chunk each) into
/// events.
protocol ResponseObjectReading: Sendable {
    mutating func read(_ object: JSONValue, into output: inout [ChatStreamEvent]) throws(GatewayError)
}

/// Reading answers the same way whatever the provider.
enum ProviderDecoding {
    /// The unified response for a unary answer whose body is one object `reader` reads: the
    /// events are assembled as a stream's would be.
    /// - Throws: UPSTREAM_MALFORMED for a body that is not a JSON object (`what` names it in
    ///   the message), and what the reader throws.
    static func chatResponse<Reader: ResponseObjectReading>(
        _ body: [UInt8], reader: Reader, what: String, provider: String, fallbackModel: String
    ) throws(GatewayError) -> ChatResponse {
        let object = try OpenAIResponseDecoding.parseObject(body, what: what, provider: provider)
        var reader = reader
        var events: [ChatStreamEvent] = []
        try reader.read(object, into: &events)
        var assembler = ChatStreamAssembler(provider: provider, model: fallbackModel, accumulatesText: true)
        for event in events { _ = assembler.consume(event) }
        return assembler.response()
    }

    /// The vectors of an embeddings answer, one per input, in input order.
    /// - Parameters:
    ///   - errorBody: reads the error envelope a 2xx body may still be.
    ///   - vectors: where the answer keeps its vectors (each an array of numbers).
    /// - Throws: UPSTREAM_MALFORMED unless there is one numeric vector per input; the mapped
    ///   error for an error envelope.
    static func embeddings(
        _ body: [UInt8], inputCount: Int, provider: String, errorBody: (JSONValue) -> UpstreamErrorBody,
        vectors: (JSONValue) -> [JSONValue]
    ) throws(GatewayError) -> (root: JSONValue, embeddings: [Embedding]) {
        let root = try OpenAIResponseDecoding.parseObject(body, what: "embeddings response", provider: provider)
        if root["error"].isPresent {
            throw UpstreamErrorMapping.streamError(errorBody(root), provider: provider)
        }
        let found = vectors(root)
        guard found.count == inputCount else {
            throw OpenAIResponseDecoding.malformed("\(found.count) embeddings for \(inputCount) inputs", provider: provider)
        }
        var embeddings: [Embedding] = []
        embeddings.reserveCapacity(inputCount)
        for (index, vector) in found.enumerated() {
            embeddings.append(Embedding(index: UInt32(index), values: try self.vector(vector, provider: provider)))
        }
        return (root, embeddings)
    }

    /// An embedding's values: a JSON array of numbers.
    static func vector(_ value: JSONValue, provider: String) throws(GatewayError) -> [Float] {
        guard value.kind == .array else {
            throw OpenAIResponseDecoding.malformed("an embedding that is not an array of numbers", provider: provider)
        }
        var values: [Float] = []
        values.reserveCapacity(value.count)
        for element in value.elements {
            guard let number = element.float else {
                throw OpenAIResponseDecoding.malformed("an embedding with a non-numeric element", provider: provider)
            }
            values.append(number)
        }
        return values
    }
}

extension GatewayError {
    /// UNAVAILABLE / UPSTREAM_TRUNCATED for a stream whose body ended (`how`: "before …")
    /// without the provider's end marker: retryable, and never a success.
    static func truncatedStream(provider: String, _ how: String) -> GatewayError {
        GatewayError(
            code: .unavailable,
            message: "provider \"\(provider)\" ended the stream \(how)",
            detail: ErrorDetail(kind: .upstreamTruncated, retryable: true, provider: provider, upstreamStatus: 200))
    }
}
