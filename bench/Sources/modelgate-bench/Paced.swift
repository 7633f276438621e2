import ArgumentParser
import Foundation
import ModelGateCore
import ModelGateWire
import NIOCore
import NIOPosix

/// Many concurrent slow streams paced like a real model (the fake upstream's `first_ms`/`pace_ms`
/// scenario), opened over a ramp, measured for tokens delivered on time. One event-loop thread
/// drives every stream: HTTP targets get one connection per stream (as HTTP/1.1 needs), native
/// targets multiplex the streams over a few connections.
struct Paced: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open many paced streams at once; print delivery, first-token and lateness figures as JSON.")

    @OptionGroup var destination: Destination

    @Option(help: "Concurrent streams.")
    var streams = 1000

    @Option(help: "Connections the streams share (native targets).")
    var connections = 8

    @Option(help: "Tokens each stream carries (as the scenario says).")
    var tokens = 100

    @Option(help: "The scenario's delay to the first token, ms.")
    var firstMs = 200.0

    @Option(help: "The scenario's delay between tokens, ms.")
    var paceMs = 20.0

    @Option(help: "Seconds over which the streams are opened.")
    var ramp = 1.0

    @Option(help: "Seconds to wait, after the last stream opened, before giving up on the rest.")
    var timeout = 30.0

    @Option(help: "A token is on time when it arrives at most this many ms after its schedule.")
    var tolerance = 50.0

    func run() throws {
        let target = try Target(destination.target)
        let (model, bearer) = (destination.model, destination.bearer)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let state = PacedState(
            streams: streams, tokens: tokens, firstMs: firstMs, paceMs: paceMs, tolerance: tolerance,
            done: loop.makePromise())

        let opener: @Sendable (Int) -> Void
        switch target {
        case .http(let port):
            let request = openAIChatRequest(model: model, streaming: true, bearer: bearer)
            let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            let connectTimeout = TimeAmount.seconds(Int64(timeout))
            opener = { index in
                state.started(index)
                ClientBootstrap(group: loop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connectTimeout(connectTimeout)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                PacedHTTPHandler(state: state, index: index, request: request))
                        }
                    }
                    .connect(to: address)
                    .whenComplete { result in
                        switch result {
                        case .success(let channel): state.channels.append(channel)
                        case .failure(let error): state.finished(index, ok: false, reason: "connect: \(error)")
                        }
                    }
            }
        case .native(let endpoint):
            let handlers = try (0..<max(1, connections)).map { _ in
                try PacedNativeHandler.connect(endpoint, loop: loop, state: state, model: model)
            }
            opener = { index in handlers[index % handlers.count].open(index) }
        }

        // Open the streams in 10 ms ticks spread over the ramp, then wait for them to end.
        let ticks = max(1, Int(ramp * 100))
        let ramp = PacedRamp(total: streams, perTick: (streams + ticks - 1) / ticks, open: opener)
        let opened = loop.makePromise(of: Void.self)
        loop.execute { state.runStarted = .now() }
        loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(10)) { task in
            if ramp.tick() {
                task.cancel()
                opened.succeed()
            }
        }
        try opened.futureResult.wait()
        let giveUp = loop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { state.finishRun() }
        try state.done.futureResult.wait()
        giveUp.cancel()
        let json = try loop.submit {
            let figures = state.figures()
            for channel in state.channels { channel.close(promise: nil) }
            return try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
        }.wait()
        FileHandle.standardOutput.write(json + Data("\n".utf8))
    }
}

/// Opens the streams a tick at a time.
final class PacedRamp: @unchecked Sendable {
    // @unchecked: ticks run on the generator's only event loop.
    private let total: Int
    private let perTick: Int
    private let open: @Sendable (Int) -> Void
    private var next = 0

    init(total: Int, perTick: Int, open: @escaping @Sendable (Int) -> Void) {
        self.total = total
        self.perTick = perTick
        self.open = open
    }

    /// Opens the next few streams; true once all are open.
    func tick() -> Bool {
        for _ in 0..<perTick where next < total {
            open(next)
            next += 1
        }
        return next >= total
    }
}

/// What every stream saw.
final class PacedState: @unchecked Sendable {
    // @unchecked: touched only on the generator's one event loop.
    let streams: Int
    let tokens: Int
    let firstMs: Double
    let paceMs: Double
    let tolerance: Double
    let done: EventLoopPromise<Void>
    var channels: [any Channel] = []
    var runStarted = NIODeadline.now()
    private var startedAt: [NIODeadline]
    private var received: [Int]
    private var ended: [Bool]
    private var completed = 0
    private var failed = 0
    private var failureReasons: [String: Int] = [:]
    private var onTime = 0
    private var firstTokens: [Double] = []
    private var lateness: [Double] = []
    private var lastToken = NIODeadline.now()
    private var runEnded = false

    init(streams: Int, tokens: Int, firstMs: Double, paceMs: Double, tolerance: Double, done: EventLoopPromise<Void>) {
        self.streams = streams
        self.tokens = tokens
        self.firstMs = firstMs
        self.paceMs = paceMs
        self.tolerance = tolerance
        self.done = done
        startedAt = Array(repeating: .now(), count: streams)
        received = Array(repeating: 0, count: streams)
        ended = Array(repeating: false, count: streams)
        lateness.reserveCapacity(streams * tokens)
    }

    func started(_ index: Int) {
        startedAt[index] = .now()
    }

    /// A token of stream `index` arrived; anything past the expected count (a final chunk) is not one.
    func token(_ index: Int) {
        let position = received[index]
        received[index] += 1
        guard position < tokens else { return }
        let now = NIODeadline.now()
        lastToken = now
        let since = Double((now - startedAt[index]).nanoseconds) / 1e6
        if position == 0 { firstTokens.append(since) }
        let late = since - (firstMs + Double(position) * paceMs)
        lateness.append(late)
        if late <= tolerance { onTime += 1 }
    }

    /// Stream `index` ended; `reason` says why when it failed.
    func finished(_ index: Int, ok: Bool, reason: String? = nil) {
        guard !ended[index] else { return }
        ended[index] = true
        if ok && received[index] >= tokens {
            completed += 1
        } else {
            failed += 1
            let why = reason ?? (ok ? "ended after \(received[index]) of \(tokens) tokens" : "failed")
            if failureReasons[why] != nil || failureReasons.count < 8 { failureReasons[why, default: 0] += 1 }
        }
        if completed + failed == streams { finishRun() }
    }

    /// Ends the run: every stream has ended, or the time allowed ran out.
    func finishRun() {
        guard !runEnded else { return }
        runEnded = true
        done.succeed()
    }

    func figures() -> [String: Any] {
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return -1 }
            return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
        }
        let delivered = lateness.count
        let wall = Double((lastToken - runStarted).nanoseconds) / 1e9
        return [
            "streams": streams,
            "completed": completed,
            "failed": failed,
            "failure_reasons": failureReasons,
            "unfinished": streams - completed - failed,
            "tokens_expected": streams * tokens,
            "tokens_delivered": delivered,
            "tokens_on_time": onTime,
            "on_time_fraction": Double(onTime) / Double(max(1, streams * tokens)),
            "first_token_ms": [percentile(firstTokens, 0.5), percentile(firstTokens, 0.99)],
            "lateness_ms": [percentile(lateness, 0.5), percentile(lateness, 0.99), lateness.max() ?? -1],
            "seconds": wall,
            "tokens_per_second": wall > 0 ? Double(delivered) / wall : 0,
        ]
    }
}

/// One HTTP/1.1 stream: sends the request, counts token events in the raw bytes (a marker may be
/// split between reads, so the tail of each read is kept), ends at `[DONE]`.
final class PacedHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: PacedState
    private let index: Int
    private let request: [UInt8]
    private var carry: [UInt8] = []
    private var statusChecked = false
    private var ended = false
    private static let doneMarker = Array("[DONE]".utf8)

    init(state: PacedState, index: Int, request: [UInt8]) {
        self.state = state
        self.index = index
        self.request = request
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !ended else { return }
        var bytes = carry
        bytes.append(contentsOf: unwrapInboundIn(data).readableBytesView)
        if !statusChecked {
            guard bytes.count >= 12 else {
                carry = bytes
                return
            }
            statusChecked = true
            guard bytes[0..<12].elementsEqual("HTTP/1.1 200".utf8) else {
                let line = bytes.prefix { $0 != 13 && $0 != 10 }.prefix(60)
                return end(context, ok: false, reason: String(decoding: line, as: UTF8.self))
            }
        }
        for _ in 0..<countOccurrences(of: contentMarker, in: bytes[...]) { state.token(index) }
        if countOccurrences(of: Self.doneMarker, in: bytes[...]) > 0 { return end(context, ok: true) }
        carry = Array(bytes.suffix(contentMarker.count - 1))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !ended { end(context, ok: false, reason: "connection closed before [DONE]") }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        end(context, ok: false, reason: "\(error)")
    }

    private func end(_ context: ChannelHandlerContext, ok: Bool, reason: String? = nil) {
        guard !ended else { return }
        ended = true
        state.finished(index, ok: ok, reason: reason)
        context.close(promise: nil)
    }
}

/// One native-protocol connection carrying many streams: CALL + MESSAGE per stream, then every
/// MESSAGE frame counted as a token until the stream's END.
final class PacedNativeHandler: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: used only on its channel's event loop, which is the generator's only loop.
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: PacedState
    private var template: [UInt8]
    private let callLength: Int
    private var context: ChannelHandlerContext?
    private var pending = ByteBuffer()
    private var streamIndex: [UInt32: Int] = [:]
    private var nextID: UInt32 = 1
    private let ready: EventLoopPromise<Void>
    private var helloReceived = false

    private init(state: PacedState, model: String, ready: EventLoopPromise<Void>) {
        self.state = state
        self.ready = ready
        let codec = WireCodec()
        var call = ByteBuffer()
        codec.writeFrame(.call, streamID: 0, CallHeader(method: "/modelgate.v1.Gateway/ChatStream"), into: &call)
        callLength = call.readableBytes
        codec.writeFrame(
            .message, flags: .endStream, streamID: 0,
            ChatRequest(model: model, messages: [ChatMessage(role: .user, text: "hello there")]), into: &call)
        template = Array(call.readableBytesView)
    }

    /// Connects, sends the preface and waits for the server's HELLO.
    static func connect(_ endpoint: Endpoint, loop: any EventLoop, state: PacedState, model: String) throws
        -> PacedNativeHandler
    {
        let handler = PacedNativeHandler(state: state, model: model, ready: loop.makePromise())
        let bootstrap = ClientBootstrap(group: loop).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
        }
        let channel: any Channel
        switch endpoint {
        case .unix(let path):
            channel = try bootstrap.connect(unixDomainSocketPath: path).wait()
        case .tcp(let host, let port):
            channel = try bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(to: SocketAddress(ipAddress: host, port: port)).wait()
        }
        try handler.ready.futureResult.wait()
        try loop.submit { state.channels.append(channel) }.wait()
        return handler
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        var preface = ByteBuffer(bytes: WireProtocol.magic)
        WireCodec().writeFrame(
            .hello, streamID: 0, HelloMessage(agent: "modelgate-bench", settings: WireSettings(initialWindowSize: 1 << 24)),
            into: &preface)
        context.writeAndFlush(wrapOutboundOut(preface), promise: nil)
    }

    /// Starts stream `index` of the run on this connection.
    func open(_ index: Int) {
        guard let context else { return state.finished(index, ok: false, reason: "gateway connection closed") }
        let id = nextID
        nextID += 1
        streamIndex[id] = index
        for offset in [6, callLength + 6] {
            template[offset] = UInt8(truncatingIfNeeded: id >> 24)
            template[offset + 1] = UInt8(truncatingIfNeeded: id >> 16)
            template[offset + 2] = UInt8(truncatingIfNeeded: id >> 8)
            template[offset + 3] = UInt8(truncatingIfNeeded: id)
        }
        state.started(index)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: template)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        pending.writeBuffer(&incoming)
        while let length = pending.getInteger(at: pending.readerIndex, as: UInt32.self),
            pending.readableBytes >= 10 + Int(length)
        {
            let type = pending.getInteger(at: pending.readerIndex + 4, as: UInt8.self)!
            let stream = pending.getInteger(at: pending.readerIndex + 6, as: UInt32.self)!
            let payload = pending.getSlice(at: pending.readerIndex + 10, length: Int(length))!
            pending.moveReaderIndex(forwardBy: 10 + Int(length))
            switch type {
            case FrameType.hello.rawValue:
                helloReceived = true
                ready.succeed()
            case FrameType.message.rawValue:
                if let index = streamIndex[stream] { state.token(index) }
            case FrameType.end.rawValue:
                guard let index = streamIndex.removeValue(forKey: stream) else { break }
                let status = length == 0 ? nil : (try? WireCodec().decode(EndStatus.self, payload))
                state.finished(index, ok: length == 0, reason: status.map { "\($0.code): \($0.message)" })
            case FrameType.ping.rawValue:
                var pong = ByteBuffer()
                pong.writeFrame(.pong, streamID: 0, payload: payload)
                context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            default:
                break
            }
        }
        pending.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !helloReceived { ready.fail(BenchError("the gateway closed the connection")) }
        for index in streamIndex.values { state.finished(index, ok: false, reason: "gateway connection closed") }
        streamIndex.removeAll()
        self.context = nil
    }
}
