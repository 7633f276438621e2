import ModelGateCore
import ModelGateWire
import NIOCore
import NIOPosix

/// Per-call options.
package struct CallOptions: Sendable, Hashable {
    /// The call's deadline, relative to now; sent to the gateway and enforced locally.
    package var timeout: Duration?
    package var metadata: [String: String]
    package var requestID: String

    package init(timeout: Duration? = nil, metadata: [String: String] = [:], requestID: String = "") {
        self.timeout = timeout
        self.metadata = metadata
        self.requestID = requestID
    }
}

/// A connection to a gateway speaking the native protocol, shared by concurrent calls.
///
/// Failed calls throw ``GatewayError`` with the status and error detail of the stream's END;
/// a stream the connection dropped before its END fails with UNAVAILABLE.
package final class GatewayClient: Sendable {
    package let address: GatewayAddress
    private let channel: any Channel
    private let handler: NIOLoopBound<ClientConnectionHandler>

    private init(address: GatewayAddress, channel: any Channel, handler: NIOLoopBound<ClientConnectionHandler>) {
        self.address = address
        self.channel = channel
        self.handler = handler
    }

    /// Connects and completes the protocol handshake.
    /// - Throws: ``GatewayError`` UNAVAILABLE when nothing answers at `address`.
    package static func connect(
        to address: GatewayAddress,
        agent: String = "modelgate-swift/\(ModelGateVersion.current)",
        initialWindowSize: UInt32 = WireProtocol.defaultInitialWindowSize,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> GatewayClient {
        // The handler is handed out by the initializer itself: looking it up in the pipeline
        // afterwards fails if the connection has already closed.
        let eventLoop = group.next()
        let handlerPromise = eventLoop.makePromise(of: NIOLoopBound<ClientConnectionHandler>.self)
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ClientConnectionHandler(agent: agent, initialWindowSize: initialWindowSize)
                    do {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(FrameDecoder(expectsMagic: false, maxFrameSize: 64 * 1024 * 1024)))
                        try channel.pipeline.syncOperations.addHandler(handler)
                    } catch {
                        handlerPromise.fail(error)
                        throw error
                    }
                    handlerPromise.succeed(NIOLoopBound(handler, eventLoop: channel.eventLoop))
                }
            }
        let channel: any Channel
        do {
            switch address {
            case .unix(let path):
                channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            case .tcp(let host, let port):
                bootstrap = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1)
                channel = try await bootstrap.connect(host: host, port: port).get()
            }
        } catch {
            handlerPromise.fail(error)  // no effect if the initializer ran
            throw GatewayError(
                .unavailable, .upstreamUnavailable, "cannot connect to the gateway at \(address): \(error)",
                retryable: true)
        }
        let handler = try await handlerPromise.futureResult.get()
        try await channel.eventLoop.flatSubmit { handler.value.serverHello }.get()
        return GatewayClient(address: address, channel: channel, handler: handler)
    }

    /// Whether new calls can still be opened on this connection (no GOAWAY, not closed).
    package var isUsable: Bool {
        get async {
            let handler = self.handler
            return (try? await channel.eventLoop.submit { !handler.value.isClosing }.get()) ?? false
        }
    }

    package func close() async {
        try? await channel.close()
    }

    // MARK: Calls

    package func chat(_ request: ChatRequest, options: CallOptions = CallOptions()) async throws -> ChatResponse {
        try await start(method: "/modelgate.v1.Gateway/Chat", request, options: options).single(ChatResponse.self)
    }

    /// Starts a streamed chat; iterate the result for chunks. Dropping it early cancels the call.
    package func chatStream(_ request: ChatRequest, options: CallOptions = CallOptions()) async throws
        -> ResponseStream<ChatChunk>
    {
        ResponseStream(call: try await start(method: "/modelgate.v1.Gateway/ChatStream", request, options: options))
    }

    package func embed(_ request: EmbedRequest, options: CallOptions = CallOptions()) async throws -> EmbedResponse {
        try await start(method: "/modelgate.v1.Gateway/Embed", request, options: options).single(EmbedResponse.self)
    }

    package func predict(_ request: PredictRequest, options: CallOptions = CallOptions()) async throws
        -> PredictResponse
    {
        try await start(method: "/modelgate.v1.Gateway/Predict", request, options: options).single(PredictResponse.self)
    }

    package func listModels(options: CallOptions = CallOptions()) async throws -> [ModelInfo] {
        try await start(method: "/modelgate.v1.Gateway/ListModels", ListModelsRequest(), options: options)
            .single(ListModelsResponse.self).models
    }

    package func health(options: CallOptions = CallOptions()) async throws -> HealthStatus {
        try await start(method: "/modelgate.v1.Gateway/Health", HealthRequest(), options: options)
            .single(HealthStatus.self)
    }

    /// Opens a stream for any method; the building block of the typed calls.
    package func start<Request: WireMessage>(method: String, _ request: Request, options: CallOptions) async throws
        -> ClientCall
    {
        let timeoutMicros = options.timeout.map { UInt64(max(1, $0.totalMicroseconds)) } ?? 0
        let header = CallHeader(
            method: method, timeoutMicros: timeoutMicros, metadata: options.metadata, requestID: options.requestID)
        let (events, continuation) = AsyncThrowingStream<ClientStreamEvent, any Error>.makeStream()
        let handler = self.handler
        let eventLoop = channel.eventLoop
        let id: UInt32? = try await eventLoop.submit {
            guard let id = handler.value.open(header: header, request: request, continuation: continuation) else {
                return nil
            }
            continuation.onTermination = { termination in
                // The reader went away (dropped the stream, or its task was cancelled): CANCEL.
                if case .cancelled = termination {
                    eventLoop.execute { handler.value.cancel(id) }
                }
            }
            if let timeout = options.timeout {
                eventLoop.scheduleTask(in: .microseconds(Int64(timeoutMicros))) {
                    handler.value.cancel(id)
                    continuation.finish(throwing: GatewayError.deadlineExceeded())
                }
                _ = timeout
            }
            return id
        }.get()
        guard let id else {
            throw GatewayError(
                .unavailable, .shuttingDown, "the connection to the gateway is closing; reconnect", retryable: true)
        }
        return ClientCall(streamID: id, events: events, handler: handler, eventLoop: eventLoop)
    }
}

/// One call's stream of response messages and its END.
package struct ClientCall: Sendable {
    package let streamID: UInt32
    let events: AsyncThrowingStream<ClientStreamEvent, any Error>
    let handler: NIOLoopBound<ClientConnectionHandler>
    let eventLoop: any EventLoop

    /// Reads a unary call's one response, then its END.
    func single<Response: WireMessage>(_: Response.Type) async throws -> Response {
        let codec = WireCodec()
        var response: Response?
        for try await event in events {
            switch event {
            case .message(let payload):
                response = try codec.decode(Response.self, payload)
            case .end(let status):
                guard status.code == .ok else { throw GatewayError(status) }
                guard let response else {
                    throw GatewayError(.internal, .internal, "the gateway ended the call without a response")
                }
                return response
            }
        }
        throw GatewayError(.unavailable, .upstreamUnavailable, "connection to the gateway closed before END")
    }

    /// Sends CANCEL. The stream then ends with CANCELLED.
    package func cancel() {
        let handler = self.handler
        let id = streamID
        eventLoop.execute { handler.value.cancel(id) }
    }

    func consumed(_ bytes: Int) {
        let handler = self.handler
        let id = streamID
        eventLoop.execute { handler.value.consumed(bytes, on: id) }
    }
}

/// The messages of a server-streaming call, decoded. Iteration ends normally after an OK END
/// and throws ``GatewayError`` for any other END.
package struct ResponseStream<Element: WireMessage>: AsyncSequence, Sendable {
    package let call: ClientCall

    package func makeAsyncIterator() -> Iterator {
        Iterator(call: call, events: call.events.makeAsyncIterator())
    }

    package struct Iterator: AsyncIteratorProtocol {
        let call: ClientCall
        var events: AsyncThrowingStream<ClientStreamEvent, any Error>.AsyncIterator
        let codec = WireCodec()
        var ended = false

        package mutating func next() async throws -> Element? {
            guard !ended else { return nil }
            guard let event = try await events.next() else {
                ended = true
                throw GatewayError(.unavailable, .upstreamUnavailable, "connection to the gateway closed before END")
            }
            switch event {
            case .message(let payload):
                call.consumed(payload.readableBytes)
                return try codec.decode(Element.self, payload)
            case .end(let status):
                ended = true
                guard status.code == .ok else { throw GatewayError(status) }
                return nil
            }
        }
    }
}

extension GatewayError {
    /// The error an END frame reports.
    package init(_ status: EndStatus) {
        self.init(code: status.code, message: status.message, detail: status.detail ?? ErrorDetail())
    }
}

extension Duration {
    var totalMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
