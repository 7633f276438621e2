import Logging
import ModelGateCore
import ModelGateWire
import NIOCore

/// One client connection: the protocol state machine of docs/protocol.md on the server side.
///
/// It runs on the connection's event loop and owns everything about the connection: the
/// preface, the stream table, per-stream flow-control credit, deadlines, cancellation and
/// drain. Calls run as tasks on the same event loop (``EventLoopTaskExecutor``) and reach back
/// through ``StreamHandle``. A protocol violation ends this connection only.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private enum State {
        case awaitingHello
        case open
        /// GOAWAY(NO_ERROR) sent: existing streams finish, new CALLs are refused.
        case draining
        case closed
    }

    private let limits: ServerConfiguration.Limits
    private let dispatcher: CallDispatcher
    private let tracker: ConnectionTracker
    private var logger: Logger
    private let codec: WireCodec

    private var state = State.awaitingHello
    private var context: ChannelHandlerContext?
    private var executor: EventLoopTaskExecutor?
    private var streams: [UInt32: ServerStream] = [:]
    private var highestStreamID: UInt32 = 0
    private var peerSettings = WireSettings()
    private var helloTimer: Scheduled<Void>?
    /// Whether a write already went out since the event loop last ran our end-of-burst flush.
    private var burstOpen = false
    /// Frames written since the last flush, coalesced into one buffer: a burst of chunks costs
    /// one pipeline write and one buffer, not one of each per frame.
    private var outbound: ByteBuffer?
    /// A burst flushes at least this often, even while a call keeps the loop busy.
    private static let burstFlushBytes = 16 * 1024
    private var connectionID: ObjectIdentifier { ObjectIdentifier(self) }

    init(limits: ServerConfiguration.Limits, dispatcher: CallDispatcher, tracker: ConnectionTracker, logger: Logger) {
        self.limits = limits
        self.dispatcher = dispatcher
        self.tracker = tracker
        self.logger = logger
        // protobuf-c may allocate several times a message's wire size; cap it per message.
        self.codec = WireCodec(maxDecodedBytes: max(Int(limits.maxFrameSize) * 16, 1 << 20))
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.executor = EventLoopTaskExecutor(eventLoop: context.eventLoop)
    }

    func channelActive(context: ChannelHandlerContext) {
        let control = ConnectionControl(handler: NIOLoopBound(self, eventLoop: context.eventLoop))
        switch tracker.register(connectionID, control: control) {
        case .accepted:
            break
        case .overLimit:
            goAway(.connectionLimit, "the gateway is at its connection limit (\(tracker.maxConnections))")
            return
        case .draining:
            goAway(.noError, "the gateway is shutting down")
            return
        }
        helloTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .init(limits.helloTimeout)) { [weak self] in
            guard let self, case .awaitingHello = self.state else { return }
            self.goAway(.timeout, "no protocol preface within \(self.limits.helloTimeout)")
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        helloTimer?.cancel()
        for stream in streams.values {
            stop(stream, because: .connectionClosed)
        }
        streams.removeAll()
        tracker.unregister(connectionID)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            for stream in streams.values where stream.credit > 0 {
                stream.wake()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let framing = error as? FramingError else {
            // I/O errors (reset by peer, broken pipe): the connection is gone.
            logger.debug("connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        switch framing.kind {
        case .badMagic:
            goAway(.badMagic, framing.message)
        case .unknownFrameType:
            goAway(.protocolError, framing.message)
        case .frameTooLarge:
            if let stream = streams[framing.streamID] {
                finish(stream, with: EndStatus(GatewayError(.resourceExhausted, .gatewayLimit, framing.message)))
            }
            goAway(.frameSizeError, framing.message)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch state {
        case .closed:
            return
        case .awaitingHello:
            readPreface(frame)
        case .open, .draining:
            read(frame)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushNow()
        context.fireChannelReadComplete()
    }

    // MARK: Reading frames

    private func readPreface(_ frame: Frame) {
        guard frame.type == .hello, frame.streamID == 0 else {
            goAway(.protocolError, "the first frame must be HELLO on stream 0, got \(frame.type)")
            return
        }
        let hello: HelloMessage
        do {
            hello = try codec.decode(HelloMessage.self, frame.payload)
        } catch {
            goAway(.protocolError, "HELLO: \(error.message)")
            return
        }
        guard hello.version == WireProtocol.version else {
            goAway(.unsupportedVersion, "protocol version \(hello.version) is not supported; this server speaks 1")
            return
        }
        helloTimer?.cancel()
        peerSettings = hello.settings
        state = .open
        logger[metadataKey: "mg.client"] = "\(hello.agent)"
        let answer = HelloMessage(
            agent: "modelgate/\(ModelGateVersion.current)",
            settings: WireSettings(
                maxFrameSize: limits.maxFrameSize, maxConcurrentStreams: limits.maxConcurrentStreams,
                initialWindowSize: limits.initialWindowSize))
        writeFrame(.hello, streamID: 0, answer)
    }

    private func read(_ frame: Frame) {
        switch frame.type {
        case .hello:
            goAway(.protocolError, "HELLO sent twice")
        case .call:
            readCall(frame)
        case .message:
            guard let stream = openStream(for: frame) else { return }
            readRequest(frame, on: stream)
        case .cancel:
            guard let stream = openStream(for: frame) else { return }
            cancel(stream, because: .client)
        case .window:
            readWindow(frame)
        case .ping:
            guard frame.streamID == 0, frame.payload.readableBytes == 8 else {
                goAway(.protocolError, "PING must carry 8 bytes on stream 0")
                return
            }
            var buffer = takeOutbound(reserving: WireProtocol.headerSize + 8)
            buffer.writeFrame(.pong, streamID: 0, payload: frame.payload)
            outbound = buffer
            scheduleFlush()
        case .pong:
            guard frame.streamID == 0, frame.payload.readableBytes == 8 else {
                goAway(.protocolError, "PONG must carry 8 bytes on stream 0")
                return
            }
        case .end, .goAway:
            goAway(.protocolError, "\(frame.type) frames are sent by the server only")
        }
    }

    /// The open stream a stream frame refers to; nil when it should be ignored or broke a rule.
    private func openStream(for frame: Frame) -> ServerStream? {
        guard frame.streamID != 0, frame.streamID <= highestStreamID else {
            goAway(.protocolError, "\(frame.type) on stream \(frame.streamID), which was never opened")
            return nil
        }
        // A stream the server already ended: the frame crossed our END and is ignored.
        return streams[frame.streamID]
    }

    private func readCall(_ frame: Frame) {
        let id = frame.streamID
        guard id != 0, id & 0x8000_0000 == 0, id > highestStreamID else {
            goAway(.protocolError, "CALL on stream \(id): stream ids must be non-zero and increasing")
            return
        }
        highestStreamID = id
        let header: CallHeader
        do {
            header = try codec.decode(CallHeader.self, frame.payload)
        } catch {
            refuse(id, GatewayError.invalidRequest("CALL: \(error.message)"))
            return
        }
        if case .draining = state {
            refuse(id, .shuttingDown())
            return
        }
        guard streams.count < Int(limits.maxConcurrentStreams) else {
            refuse(
                id,
                GatewayError(
                    .resourceExhausted, .gatewayLimit,
                    "too many concurrent streams (limit \(limits.maxConcurrentStreams))", retryable: true))
            return
        }
        guard let method = GatewayMethod(rawValue: header.method) else {
            refuse(id, .unimplemented("unknown method \"\(header.method)\""))
            return
        }
        if let problem = CallMetadata.validate(header.metadata) {
            refuse(id, .invalidRequest(problem))
            return
        }
        let requestID = header.requestID.isEmpty ? RequestID.make() : header.requestID
        let deadline: ContinuousClock.Instant?
        if header.timeoutMicros > 0 {
            // Cap absurd timeouts so the arithmetic cannot overflow.
            let micros = Int64(min(header.timeoutMicros, 365 * 24 * 3600 * 1_000_000))
            deadline = ContinuousClock.now + .microseconds(micros)
        } else {
            deadline = nil
        }
        let stream = ServerStream(
            id: id, header: header, method: method, requestID: requestID, deadline: deadline,
            credit: Int64(peerSettings.effectiveInitialWindowSize))
        streams[id] = stream
        if header.timeoutMicros > 0, let context {
            let micros = Int64(min(header.timeoutMicros, 365 * 24 * 3600 * 1_000_000))
            stream.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .microseconds(micros)) { [weak self, weak stream] in
                guard let self, let stream, self.streams[stream.id] === stream else { return }
                self.cancel(stream, because: .deadline)
            }
        }
    }

    private func readRequest(_ frame: Frame, on stream: ServerStream) {
        guard case .awaitingRequest = stream.phase else {
            cancel(stream, because: .client)
            finish(stream, with: EndStatus(.invalidRequest("the method takes one request MESSAGE; got a second one")))
            return
        }
        if frame.flags.contains(.compressed) {
            finish(stream, with: EndStatus(.unimplemented("compressed messages are not supported")))
            return
        }
        guard frame.flags.contains(.endStream) else {
            finish(
                stream,
                with: EndStatus(
                    .invalidRequest("request MESSAGE must set END_STREAM: the method takes one request message")))
            return
        }
        let call: GatewayCall
        do {
            call = try GatewayCall(method: stream.method, payload: frame.payload, codec: codec)
        } catch {
            finish(stream, with: EndStatus(.invalidRequest(error.message)))
            return
        }
        guard let context, let executor else { return }
        let handle = StreamHandle(
            connection: NIOLoopBound(self, eventLoop: context.eventLoop), eventLoop: context.eventLoop,
            streamID: stream.id)
        let callContext = CallContext(
            requestID: stream.requestID, deadline: stream.deadline, metadata: stream.header.metadata)
        let dispatcher = self.dispatcher
        // Handed over through a box the task empties: a closure that captured the call would
        // hold it (and a long prompt) until the call ends.
        let handOver = CallHandOver(call)
        stream.phase = .running(
            Task(executorPreference: executor) {
                await dispatcher.run(handOver.take(), context: callContext, stream: handle)
            })
    }

    private func readWindow(_ frame: Frame) {
        guard frame.payload.readableBytes == 4, let increment = frame.payload.getInteger(
            at: frame.payload.readerIndex, as: UInt32.self)
        else {
            goAway(.protocolError, "WINDOW must carry a 4-byte increment")
            return
        }
        guard increment > 0, increment <= UInt32(Int32.max) else {
            goAway(.protocolError, "WINDOW increment must be from 1 to 2^31-1, got \(increment)")
            return
        }
        guard let stream = openStream(for: frame) else { return }
        stream.credit += Int64(increment)
        guard stream.credit <= WireProtocol.maxWindow else {
            goAway(.protocolError, "WINDOW raised stream \(stream.id)'s credit above 2^31-1")
            return
        }
        if stream.credit > 0, context?.channel.isWritable ?? false {
            stream.wake()
        }
    }

    // MARK: Stream lifecycle

    /// Ends a stream that never ran.
    private func refuse(_ id: UInt32, _ error: GatewayError) {
        writeFrame(.end, streamID: id, EndStatus(error))
    }

    /// Stops a stream's call; the call task then ends the stream (final chunk, END).
    private func cancel(_ stream: ServerStream, because reason: StreamCancellation) {
        guard stream.cancellation == nil else { return }
        stream.cancellation = reason
        switch stream.phase {
        case .awaitingRequest:
            if let error = reason.error {
                finish(stream, with: EndStatus(error))
            } else {
                streams[stream.id] = nil
            }
        case .running(let task):
            stream.wake(throwing: CancellationError())
            task.cancel()
        }
    }

    /// Stops a stream because the connection is going away; no more frames are written.
    private func stop(_ stream: ServerStream, because reason: StreamCancellation) {
        stream.deadlineTimer?.cancel()
        stream.cancellation = stream.cancellation ?? reason
        stream.wake(throwing: CancellationError())
        if case .running(let task) = stream.phase {
            task.cancel()
        }
    }

    /// Writes END and forgets the stream.
    private func finish(_ stream: ServerStream, with status: EndStatus) {
        guard streams.removeValue(forKey: stream.id) != nil else { return }
        stream.deadlineTimer?.cancel()
        stream.wake(throwing: CancellationError())
        var status = status
        if status.code != .ok, status.detail?.requestID.isEmpty ?? false {
            status.detail?.requestID = stream.requestID
        }
        writeFrame(.end, streamID: stream.id, status)
        flushNow()
        if case .draining = state, streams.isEmpty {
            closeAfterFlush()
        }
    }

    // MARK: Used by StreamHandle, on the event loop

    /// Why the stream was stopped, if it was; `.connectionClosed` once it is gone.
    func cancellation(of id: UInt32) -> StreamCancellation? {
        guard let stream = streams[id] else { return .connectionClosed }
        return stream.cancellation
    }

    /// Whether the stream may send a flow-controlled MESSAGE now.
    /// - Throws: `CancellationError` once the stream was stopped or ended.
    func creditAvailable(on id: UInt32) throws -> Bool {
        guard let stream = streams[id], stream.cancellation == nil else { throw CancellationError() }
        return stream.credit > 0 && (context?.channel.isWritable ?? false)
    }

    /// Parks the call task until credit or writability returns, or the stream stops.
    func park(_ waiter: CheckedContinuation<Void, any Error>, on id: UInt32) {
        guard let stream = streams[id], stream.cancellation == nil else {
            waiter.resume(throwing: CancellationError())
            return
        }
        if stream.credit > 0 && (context?.channel.isWritable ?? false) {
            waiter.resume()
            return
        }
        stream.wake(throwing: CancellationError())  // at most one waiter per stream
        stream.waiter = waiter
    }

    /// Writes one MESSAGE on the stream.
    /// - Parameter flowControlled: false for a ChatStream's final chunk, which the protocol
    ///   exempts so an ending stream never waits for credit.
    /// - Parameter flush: false when an END follows at once (unary calls), which flushes both.
    func sendMessage<M: WireMessage>(_ message: M, on id: UInt32, flowControlled: Bool, flush: Bool = true)
        throws(GatewayError)
    {
        guard let stream = streams[id] else { throw GatewayError.cancelled() }
        var buffer = takeOutbound(reserving: 256)
        let start = buffer.writerIndex
        codec.writeFrame(.message, streamID: id, message, into: &buffer)
        let length = buffer.writerIndex - start - WireProtocol.headerSize
        guard length <= peerSettings.effectiveMaxFrameSize else {
            buffer.moveWriterIndex(to: start)
            outbound = buffer
            throw GatewayError(
                .resourceExhausted, .gatewayLimit,
                "response message of \(length) bytes exceeds the client's max_frame_size \(peerSettings.effectiveMaxFrameSize)")
        }
        if flowControlled {
            stream.credit -= Int64(length)
        }
        outbound = buffer
        if flush { scheduleFlush() }
    }

    /// Ends the stream with `status` (once; later calls do nothing).
    func finish(_ id: UInt32, with status: EndStatus) {
        guard let stream = streams[id] else { return }
        finish(stream, with: status)
    }

    // MARK: Drain and close (called by ConnectionTracker on the event loop)

    /// Starts a graceful drain: GOAWAY(NO_ERROR), then close once the last stream ends.
    func drain() {
        switch state {
        case .awaitingHello:
            goAway(.noError, "the gateway is shutting down")
        case .open:
            state = .draining
            writeFrame(
                .goAway, streamID: 0,
                GoAwayMessage(lastStreamID: highestStreamID, code: .noError, reason: "the gateway is shutting down"))
            if streams.isEmpty { closeAfterFlush() }
        case .draining, .closed:
            break
        }
    }

    /// The drain period is over: end every remaining stream with UNAVAILABLE.
    func endRemainingStreams() {
        for stream in Array(streams.values) {
            cancel(stream, because: .shutdown)
        }
    }

    func close() {
        context?.close(promise: nil)
    }

    // MARK: Writing

    private func goAway(_ code: GoAwayCode, _ reason: String) {
        guard let context else { return }
        if case .closed = state { return }
        logger.debug("sending GOAWAY", metadata: ["code": "\(code)", "reason": "\(reason)"])
        state = .closed
        helloTimer?.cancel()
        var buffer = takeOutbound(reserving: 64 + reason.utf8.count)
        codec.writeFrame(.goAway, streamID: 0, GoAwayMessage(lastStreamID: highestStreamID, code: code, reason: reason), into: &buffer)
        outbound = nil
        for stream in streams.values {
            stop(stream, because: .connectionClosed)
        }
        streams.removeAll()
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func closeAfterFlush() {
        guard let context else { return }
        state = .closed
        let buffer = takeOutbound(reserving: 0)
        outbound = nil
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func writeFrame<M: WireMessage>(_ type: FrameType, streamID: UInt32, _ message: M) {
        var buffer = takeOutbound(reserving: 128)
        codec.writeFrame(type, streamID: streamID, message, into: &buffer)
        outbound = buffer
        scheduleFlush()
    }

    /// The outbound buffer, taken out of `outbound` so appending to it does not copy it; the
    /// caller puts it back.
    private func takeOutbound(reserving capacity: Int) -> ByteBuffer {
        if var buffer = outbound {
            outbound = nil
            buffer.reserveCapacity(minimumWritableBytes: capacity)
            return buffer
        }
        return context?.channel.allocator.buffer(capacity: max(capacity, 512)) ?? ByteBuffer()
    }

    /// Flushes so a burst leaves promptly and in few syscalls: the first frame of a burst is
    /// flushed at once (the first token must not wait), later ones every 16 KiB and when the
    /// event loop next gets to run our end-of-burst task.
    private func scheduleFlush() {
        guard let context else { return }
        if !burstOpen {
            burstOpen = true
            flushNow()
            context.eventLoop.assumeIsolated().execute { [weak self] in
                guard let self else { return }
                self.burstOpen = false
                self.flushNow()
            }
        } else if (outbound?.readableBytes ?? 0) >= Self.burstFlushBytes {
            flushNow()
        }
    }

    private func flushNow() {
        guard let context, let buffer = outbound, buffer.readableBytes > 0 else { return }
        outbound = nil
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}

/// Validates call metadata (docs/protocol.md §3.1).
enum CallMetadata {
    static let maxTotalBytes = 8 * 1024

    /// A description of the first problem, or nil when the metadata is valid.
    static func validate(_ metadata: [String: String]) -> String? {
        var total = 0
        for (key, value) in metadata {
            total += key.utf8.count + value.utf8.count
            guard !key.isEmpty, key.utf8.allSatisfy(isKeyByte) else {
                return "metadata key \"\(key)\" must be lowercase [a-z0-9._-]"
            }
            guard !key.hasPrefix("mg-") else {
                return "metadata key \"\(key)\" uses the prefix mg-, which is reserved for the gateway"
            }
            guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else {
                return "metadata value of \"\(key)\" must be printable ASCII"
            }
        }
        return total > maxTotalBytes ? "metadata exceeds \(maxTotalBytes) bytes" : nil
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}

/// Request ids for calls that did not bring one.
enum RequestID {
    static func make() -> String {
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return "mg-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension EndStatus {
    init(_ error: WireDecodingError) {
        self.init(GatewayError.invalidRequest(error.message))
    }
}
