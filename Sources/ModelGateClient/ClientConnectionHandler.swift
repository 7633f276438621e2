import ModelGateCore
import ModelGateWire
import NIOCore

/// What a client stream receives.
enum ClientStreamEvent: Sendable {
    case message(ByteBuffer)
    case end(EndStatus)
}

/// The client side of one connection: sends the preface, multiplexes streams, grants
/// flow-control credit, and fails every open stream with UNAVAILABLE if the connection ends
/// before their END. Event-loop confined.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private struct StreamState {
        var continuation: AsyncThrowingStream<ClientStreamEvent, any Error>.Continuation
        /// Payload bytes consumed since the last WINDOW.
        var unacknowledged = 0
    }

    private let agent: String
    private let initialWindowSize: UInt32
    private let codec = WireCodec()
    private var context: ChannelHandlerContext?
    private var streams: [UInt32: StreamState] = [:]
    private var nextStreamID: UInt32 = 1
    private(set) var serverSettings = WireSettings()
    /// What broke the connection, for the errors of the calls it ends.
    private var failure: (any Error)?
    /// Set once the server sent GOAWAY or the connection closed: no new streams here.
    private(set) var isClosing = false
    private var helloPromise: EventLoopPromise<Void>?

    init(agent: String, initialWindowSize: UInt32) {
        self.agent = agent
        self.initialWindowSize = initialWindowSize
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        helloPromise = context.eventLoop.makePromise()
    }

    /// Completes when the server's HELLO arrives.
    var serverHello: EventLoopFuture<Void> {
        helloPromise!.futureResult
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeBytes(WireProtocol.magic)
        codec.writeFrame(
            .hello, streamID: 0,
            HelloMessage(agent: agent, settings: WireSettings(initialWindowSize: initialWindowSize)), into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosing = true
        let cause = failure.map { " (\($0))" } ?? ""
        helloPromise?.fail(
            GatewayError(.unavailable, .upstreamUnavailable, "connection closed during the handshake\(cause)"))
        failAll(GatewayError(.unavailable, .upstreamUnavailable, "connection to the gateway closed before END\(cause)"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if failure == nil { failure = error }
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.type {
        case .hello:
            if let hello = try? codec.decode(HelloMessage.self, frame.payload) {
                serverSettings = hello.settings
            }
            helloPromise?.succeed()
        case .message:
            streams[frame.streamID]?.continuation.yield(.message(frame.payload))
        case .end:
            guard let stream = streams.removeValue(forKey: frame.streamID) else { return }
            let status =
                (try? codec.decode(EndStatus.self, frame.payload))
                ?? EndStatus(code: .internal, message: "undecodable END from the gateway")
            stream.continuation.yield(.end(status))
            stream.continuation.finish()
        case .ping:
            var buffer = context.channel.allocator.buffer(capacity: WireProtocol.headerSize + 8)
            buffer.writeFrame(.pong, streamID: 0, payload: frame.payload)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        case .goAway:
            isClosing = true
            let goAway = try? codec.decode(GoAwayMessage.self, frame.payload)
            let last = goAway?.lastStreamID ?? 0
            let graceful = goAway?.code == .noError
            for id in Array(streams.keys) where !graceful || id > last {
                let error = GatewayError(
                    .unavailable, graceful ? .shuttingDown : .upstreamUnavailable,
                    "gateway sent GOAWAY \(goAway?.code.description ?? "?"): \(goAway?.reason ?? "")",
                    retryable: graceful)
                streams.removeValue(forKey: id)?.continuation.finish(throwing: error)
            }
        case .pong, .call, .cancel, .window:
            break
        }
    }

    // MARK: Called on the event loop by GatewayClient

    /// Opens a stream: CALL then the request MESSAGE, in one write.
    func open<M: WireMessage>(
        header: CallHeader, request: M, continuation: AsyncThrowingStream<ClientStreamEvent, any Error>.Continuation
    ) -> UInt32? {
        guard let context, !isClosing else { return nil }
        let id = nextStreamID
        nextStreamID += 1
        streams[id] = StreamState(continuation: continuation)
        var buffer = context.channel.allocator.buffer(capacity: 256)
        codec.writeFrame(.call, streamID: id, header, into: &buffer)
        codec.writeFrame(.message, flags: .endStream, streamID: id, request, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        return id
    }

    /// Records that the application consumed `bytes` of the stream's messages, granting credit
    /// back once half the window is used.
    func consumed(_ bytes: Int, on id: UInt32) {
        guard let context, var stream = streams[id] else { return }
        stream.unacknowledged += bytes
        if stream.unacknowledged >= Int(initialWindowSize / 2) {
            var buffer = context.channel.allocator.buffer(capacity: WireProtocol.headerSize + 4)
            buffer.writeFrameHeader(.window, streamID: id, length: 4)
            buffer.writeInteger(UInt32(stream.unacknowledged))
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            stream.unacknowledged = 0
        }
        streams[id] = stream
    }

    /// Sends CANCEL for a stream still open.
    func cancel(_ id: UInt32) {
        guard let context, streams[id] != nil else { return }
        var buffer = context.channel.allocator.buffer(capacity: WireProtocol.headerSize)
        buffer.writeFrameHeader(.cancel, streamID: id, length: 0)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func failAll(_ error: GatewayError) {
        for stream in streams.values {
            stream.continuation.finish(throwing: error)
        }
        streams.removeAll()
    }
}
