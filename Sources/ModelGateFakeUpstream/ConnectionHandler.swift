import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A response being produced on one connection.
private final class Exchange {
    let seq: Int?
    let keepAlive: Bool
    let producer: any ResponseProducer
    let preamble: Preamble
    var start = NIODeadline.uptimeNanoseconds(0)
    var delayDone = false
    var preambleDone = false
    var timer: Scheduled<Void>?
    var awaitingWritability = false
    /// Set once the fake has decided the outcome (last write issued, reset, or client gone).
    var finished = false
    var reportedStatus: Int?
    var reportedBytes = 0

    init(seq: Int?, keepAlive: Bool, producer: any ResponseProducer, preamble: Preamble) {
        self.seq = seq
        self.keepAlive = keepAlive
        self.producer = producer
        self.preamble = preamble
    }
}

/// A request whose response waits for the ones before it (HTTP/1.1 pipelining).
private enum Queued {
    case exchange(Exchange)
    /// Control requests are answered when their turn comes, so they see the requests before them.
    case control(method: HTTPMethod, path: Substring, query: Substring?, keepAlive: Bool)
}

/// Serves one connection on its event loop: decodes requests (after `HTTPRequestDecoder`),
/// plans responses and writes them as raw bytes.
///
/// A plain handler on the event loop rather than `NIOAsyncChannel`: it needs no task hop per
/// request or token, and pacing uses scheduled tasks on the same loop. It writes pre-framed
/// `ByteBuffer`s itself instead of going through `HTTPResponseEncoder`, so a streamed token is
/// one buffer with its chunk header, not three writes.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    private static let maxQueuedRequests = 1024

    private let core: ServerCore
    private var context: ChannelHandlerContext?
    private var receivingHead: HTTPRequestHead?
    private var receivingBody: ByteBuffer?
    private var bodyTooLarge = false
    private var queue = CircularBuffer<Queued>(initialCapacity: 4)
    private var current: Exchange?
    /// No more requests are served after a `Connection: close` response or a reset.
    private var closing = false
    private var inactive = false
    private var outcomeForQueued = FakeUpstreamOutcome.clientClosed
    private var pumping = false
    private var pumpAgain = false

    init(core: ServerCore) {
        self.core = core
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.receivingHead = head
            self.receivingBody = nil
            self.bodyTooLarge = false
            // libcurl waits up to a second for this before sending a large body.
            if self.current == nil, self.queue.isEmpty, !self.closing,
                head.headers.first(name: "expect")?.lowercased() == "100-continue"
            {
                var buffer = context.channel.allocator.buffer(capacity: 32)
                buffer.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
                context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
            }
        case .body(var part):
            guard !self.bodyTooLarge else { return }
            if (self.receivingBody?.readableBytes ?? 0) + part.readableBytes > self.core.maxRequestBodyBytes {
                self.bodyTooLarge = true
                self.receivingBody = nil
            } else if self.receivingBody == nil {
                self.receivingBody = part
            } else {
                self.receivingBody?.writeBuffer(&part)
            }
        case .end:
            guard let head = self.receivingHead else { return }
            self.receivingHead = nil
            let body = self.receivingBody
            self.receivingBody = nil
            self.requestReceived(head: head, body: body, context: context)
        }
    }

    private func requestReceived(head: HTTPRequestHead, body: ByteBuffer?, context: ChannelHandlerContext) {
        guard !self.closing else { return }
        guard self.queue.count < Self.maxQueuedRequests else {
            context.close(promise: nil)
            return
        }
        let keepAlive = head.isKeepAlive
        let uri = head.uri[...]
        let queryStart = uri.utf8.firstIndex(of: UInt8(ascii: "?"))
        let path = queryStart.map { uri[..<$0] } ?? uri
        let query = queryStart.map { uri[uri.index(after: $0)...] }

        if path.utf8HasPrefix("/_fake/") {
            self.enqueue(.control(method: head.method, path: path, query: query, keepAlive: keepAlive))
            return
        }
        let streamFraming: BodyFraming = head.version.major == 1 && head.version.minor == 0 ? .closeDelimited : .chunked
        let planned =
            self.bodyTooLarge
            ? self.core.planBodyTooLarge(head: head, allocator: context.channel.allocator)
            : self.core.plan(
                head: head, path: path, body: body, keepAlive: keepAlive, streamFraming: streamFraming,
                allocator: context.channel.allocator)
        self.enqueue(
            .exchange(
                Exchange(
                    seq: planned.seq, keepAlive: keepAlive && !planned.closesConnection, producer: planned.producer,
                    preamble: planned.preamble)))
    }

    private func enqueue(_ item: Queued) {
        self.queue.append(item)
        self.startNextIfIdle()
    }

    private func startNextIfIdle() {
        while self.current == nil, !self.closing, !self.inactive, let item = self.queue.popFirst(), let context {
            let exchange: Exchange
            switch item {
            case .exchange(let queued):
                exchange = queued
            case .control(let method, let path, let query, let keepAlive):
                let response = self.core.control(
                    method: method, path: path, query: query, keepAlive: keepAlive, allocator: context.channel.allocator)
                exchange = Exchange(seq: nil, keepAlive: keepAlive, producer: response, preamble: Preamble())
            }
            exchange.start = .now()
            self.current = exchange
            self.pump()
        }
    }

    // MARK: Connection events

    func channelInactive(context: ChannelHandlerContext) {
        self.inactive = true
        let now = self.current
        self.current = nil
        if let exchange = now {
            exchange.timer?.cancel()
            exchange.timer = nil
            if !exchange.finished, let seq = exchange.seq {
                exchange.finished = true
                self.core.log.finish(
                    seq: seq, outcome: .clientClosed, status: exchange.producer.status,
                    bodyBytesSent: exchange.producer.bodyBytes)
            }
        }
        while let item = self.queue.popFirst() {
            if case .exchange(let exchange) = item, let seq = exchange.seq {
                self.core.log.finish(seq: seq, outcome: self.outcomeForQueued, status: nil, bodyBytesSent: 0)
            }
        }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let exchange = self.current, exchange.awaitingWritability {
            exchange.awaitingWritability = false
            self.pump()
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A request the decoder cannot parse gets a bare 400 if nothing else is being written.
        if error is HTTPParserError, self.current == nil, !self.closing {
            var buffer = context.channel.allocator.buffer(capacity: 96)
            buffer.writeStaticString("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self.closing = true
            context.writeAndFlush(self.wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
            return
        }
        context.close(promise: nil)
    }

    // MARK: Writing

    /// Runs the current exchange's producer until it has to wait. Re-entrant calls (a flush can
    /// fire `channelWritabilityChanged`) are folded into the running loop.
    private func pump() {
        if self.pumping {
            self.pumpAgain = true
            return
        }
        self.pumping = true
        defer { self.pumping = false }
        repeat {
            self.pumpAgain = false
            self.pumpOnce()
        } while self.pumpAgain
    }

    private func pumpOnce() {
        guard let context, let exchange = self.current, !exchange.finished, exchange.timer == nil,
            !exchange.awaitingWritability
        else { return }

        if !exchange.preambleDone {
            let preamble = exchange.preamble
            if preamble.headerDelayMilliseconds > 0 && !exchange.delayDone {
                exchange.delayDone = true
                self.schedule(exchange, at: exchange.start + .milliseconds(Int64(preamble.headerDelayMilliseconds)))
                return
            }
            exchange.preambleDone = true
            if preamble.stallHeaders {
                // Never answer; the outcome is decided when the client gives up.
                return
            }
            if preamble.resetBeforeHeaders {
                self.reset(exchange, context: context)
                return
            }
        }

        let allocator = context.channel.allocator
        let base = exchange.start + .milliseconds(Int64(exchange.preamble.bodyBaseMilliseconds))
        var writtenThisTurn = 0
        while true {
            switch exchange.producer.next(allocator: allocator, base: base) {
            case .write(let buffer, let flush):
                writtenThisTurn += buffer.readableBytes
                context.write(self.wrapOutboundOut(buffer), promise: nil)
                if !context.channel.isWritable {
                    exchange.awaitingWritability = true
                    self.report(exchange)
                    context.flush()
                    return
                }
                if flush {
                    context.flush()
                }
                if writtenThisTurn >= 1 << 20 {
                    // Let other connections run between megabytes of an unpaced stream.
                    self.report(exchange)
                    context.flush()
                    context.eventLoop.assumeIsolated().execute {
                        if self.current === exchange { self.pump() }
                    }
                    return
                }
            case .finish(let buffer):
                self.finish(exchange, last: buffer, context: context)
                return
            case .sleep(let deadline):
                self.report(exchange)
                context.flush()
                self.schedule(exchange, at: deadline)
                return
            case .stall:
                self.report(exchange)
                context.flush()
                return
            case .reset:
                self.reset(exchange, context: context)
                return
            }
        }
    }

    private func schedule(_ exchange: Exchange, at deadline: NIODeadline) {
        guard let context else { return }
        exchange.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            exchange.timer = nil
            if self.current === exchange {
                self.pump()
            }
        }
    }

    /// Pushes status and byte count to the log while a response is still running, so
    /// `/_fake/events` shows how far a stalled or slow stream got.
    private func report(_ exchange: Exchange) {
        guard let seq = exchange.seq else { return }
        let status = exchange.producer.status
        let bytes = exchange.producer.bodyBytes
        guard status != exchange.reportedStatus || bytes != exchange.reportedBytes else { return }
        exchange.reportedStatus = status
        exchange.reportedBytes = bytes
        self.core.log.progress(seq: seq, status: status, bodyBytesSent: bytes)
    }

    private func finish(_ exchange: Exchange, last: ByteBuffer, context: ChannelHandlerContext) {
        exchange.finished = true
        self.current = nil
        let keepAlive = exchange.keepAlive
        if !keepAlive {
            self.closing = true
        }
        if let seq = exchange.seq {
            // Completed only once the bytes reached the socket; a failed write means the peer left.
            let log = self.core.log
            let outcome = exchange.producer.finalOutcome
            let status = exchange.producer.status
            let bytes = exchange.producer.bodyBytes
            context.writeAndFlush(self.wrapOutboundOut(last)).assumeIsolated().whenComplete { result in
                switch result {
                case .success:
                    log.finish(seq: seq, outcome: outcome, status: status, bodyBytesSent: bytes)
                case .failure:
                    log.finish(seq: seq, outcome: .clientClosed, status: status, bodyBytesSent: bytes)
                }
                if !keepAlive {
                    context.close(promise: nil)
                }
            }
        } else if keepAlive {
            context.writeAndFlush(self.wrapOutboundOut(last), promise: nil)
        } else {
            context.writeAndFlush(self.wrapOutboundOut(last)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
        self.startNextIfIdle()
    }

    /// Resets the connection: SO_LINGER {1, 0} then close makes the kernel send RST instead of FIN.
    /// Everything written before is flushed first, so the peer still receives it.
    private func reset(_ exchange: Exchange, context: ChannelHandlerContext) {
        exchange.finished = true
        self.current = nil
        self.closing = true
        self.outcomeForQueued = .reset
        if let seq = exchange.seq {
            self.core.log.finish(
                seq: seq, outcome: .reset, status: exchange.producer.status, bodyBytesSent: exchange.producer.bodyBytes)
        }
        let channel = context.channel
        context.writeAndFlush(self.wrapOutboundOut(channel.allocator.buffer(capacity: 0))).assumeIsolated()
            .whenComplete { _ in
                guard let provider = channel as? any SocketOptionProvider else {
                    channel.close(promise: nil)
                    return
                }
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
    }
}
