import NIOCore

/// One step of writing a response; the connection handler carries them out on the event loop.
enum ResponseStep {
    /// Queue these bytes; flush now if `flush` (so a piece leaves as its own segment).
    case write(ByteBuffer, flush: Bool)
    /// Write these bytes and end the response.
    case finish(ByteBuffer)
    /// Continue at `deadline`.
    case sleep(until: NIODeadline)
    /// Go silent, keeping the connection open.
    case stall
    /// Reset the TCP connection (RST).
    case reset
}

/// Produces a response step by step. Producers are classes so the handler can drive them
/// through a protocol without copying state.
protocol ResponseProducer: AnyObject {
    /// The status written in the head, nil until then.
    var status: Int? { get }
    /// Body payload bytes produced so far (no head, no chunk framing).
    var bodyBytes: Int { get }
    /// The outcome to log when the response is written in full.
    var finalOutcome: FakeUpstreamOutcome { get }
    /// `base` is when the first body byte is due (request start plus `first_ms`).
    func next(allocator: ByteBufferAllocator, base: NIODeadline) -> ResponseStep
}

/// How a stream producer's last states behave, shared by the generated and replayed streams.
enum StreamEnding {
    case reset
    case stall
    case done

    /// Buffered bytes leave first; then the reset (once), or silence.
    mutating func step(flushing out: ByteBuffer) -> ResponseStep {
        if out.readableBytes > 0 {
            return .write(out, flush: true)
        }
        switch self {
        case .reset:
            self = .done
            return .reset
        case .stall, .done:
            return .stall
        }
    }
}

/// A response known in full up front: unary answers, errors and control endpoints.
final class FixedResponse: ResponseProducer {
    private let head: ResponseHead
    private let body: ByteBuffer
    private let stallAfterHead: Bool
    private var sent = false
    private(set) var status: Int?
    private(set) var bodyBytes = 0
    let finalOutcome: FakeUpstreamOutcome

    init(head: ResponseHead, body: ByteBuffer, stallAfterHead: Bool = false, finalOutcome: FakeUpstreamOutcome = .completed) {
        var head = head
        head.framing = .contentLength(body.readableBytes)
        self.head = head
        self.body = body
        self.stallAfterHead = stallAfterHead
        self.finalOutcome = finalOutcome
    }

    func next(allocator: ByteBufferAllocator, base: NIODeadline) -> ResponseStep {
        if self.sent {
            return .stall
        }
        self.sent = true
        self.status = self.head.status
        var out = allocator.buffer(capacity: 256 + self.body.readableBytes)
        self.head.write(into: &out)
        if self.stallAfterHead {
            return .write(out, flush: true)
        }
        var body = self.body
        self.bodyBytes = body.readableBytes
        out.writeBuffer(&body)
        return .finish(out)
    }
}

/// Faults that fire after K tokens (or K replay pieces).
struct StreamFaults {
    var resetAfter: Int?
    var stallAfter: Int?
    var malformedAfter: Int?
    var errorEventAfter: Int?
    var noDone = false
    var errorEvent = OpenAIError.defaults(forStatus: 500)

    /// A K beyond the end fires after the last token, so a fault always happens.
    func clamped(to count: Int) -> StreamFaults {
        var copy = self
        copy.resetAfter = self.resetAfter.map { min($0, count) }
        copy.stallAfter = self.stallAfter.map { min($0, count) }
        copy.malformedAfter = self.malformedAfter.map { min($0, count) }
        copy.errorEventAfter = self.errorEventAfter.map { min($0, count) }
        return copy
    }
}

/// Generates an OpenAI chat-completions SSE stream: role chunk, `tok1 ` … `tokN `, finish chunk,
/// optional usage chunk, `[DONE]`, with pacing and faults. Constant parts are encoded once per
/// stream; a token costs a few memcpys and no allocation when unpaced.
final class TokenStreamProducer: ResponseProducer {
    struct Parameters {
        var seq: Int
        var model: String
        var created: Int64
        var tokens: Int
        var paceMilliseconds: Int
        var includeUsage: Bool
        var promptTokens: Int
        var faults: StreamFaults
        /// The finish chunk's `finish_reason`.
        var finishReason = "stop"
    }

    private enum Phase {
        case head
        case afterToken(Int)
        case sleeping(Int)
        case token(Int)
        case tail
        case ending(StreamEnding)
    }

    private static let tokenOpen: StaticString = "{\"index\":0,\"delta\":{\"content\":\"tok"
    private static let tokenClose: StaticString = " \"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
    /// Unpaced streams are written in batches of about this size, so a huge stream neither
    /// builds one giant buffer nor costs a syscall per token.
    private static let batchBytes = 32 << 10

    private let head: ResponseHead
    private let framing: BodyFraming
    private let parameters: Parameters
    private let faults: StreamFaults
    private let pace: TimeAmount
    /// `data: {"id":…,"object":"chat.completion.chunk",…,"choices":[`: shared by every event.
    private let prefix: ByteBuffer
    private var phase = Phase.head
    private(set) var status: Int?
    private(set) var bodyBytes = 0
    let finalOutcome = FakeUpstreamOutcome.completed

    init(head: ResponseHead, parameters: Parameters, allocator: ByteBufferAllocator) {
        self.head = head
        self.framing = head.framing
        self.parameters = parameters
        self.faults = parameters.faults.clamped(to: parameters.tokens)
        self.pace = .milliseconds(Int64(parameters.paceMilliseconds))
        var prefix = allocator.buffer(capacity: 192 + parameters.model.utf8.count)
        prefix.writeStaticString("data: {\"id\":\"chatcmpl-fake")
        prefix.writeDecimal(parameters.seq)
        prefix.writeStaticString("\",\"object\":\"chat.completion.chunk\",\"created\":")
        prefix.writeDecimal(parameters.created)
        prefix.writeStaticString(",\"model\":")
        prefix.writeJSONString(parameters.model)
        prefix.writeStaticString(",\"system_fingerprint\":\"fp_fake\",\"choices\":[")
        self.prefix = prefix
    }

    func next(allocator: ByteBufferAllocator, base: NIODeadline) -> ResponseStep {
        var out = allocator.buffer(capacity: 1024)
        while true {
            switch self.phase {
            case .head:
                self.status = self.head.status
                self.head.write(into: &out)
                self.writeEvent(into: &out, allocator: allocator) { event in
                    event.writeStaticString(
                        "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
                    )
                }
                self.phase = .afterToken(0)

            case .afterToken(let count):
                if count == self.faults.resetAfter {
                    self.phase = .ending(.reset)
                    continue
                }
                if count == self.faults.stallAfter {
                    self.phase = .ending(.stall)
                    continue
                }
                if count == self.faults.errorEventAfter {
                    self.writeErrorEvent(into: &out, allocator: allocator)
                    BodyWriter.finish(framing: self.framing, into: &out)
                    self.phase = .ending(.done)
                    return .finish(out)
                }
                if count == self.faults.malformedAfter {
                    self.writeRawEvent("data: {\"choices\": [\n\n", into: &out)
                }
                if count >= self.parameters.tokens {
                    self.phase = .tail
                } else if self.parameters.paceMilliseconds > 0 && count >= 1 {
                    self.phase = .sleeping(count + 1)
                } else {
                    self.phase = .token(count + 1)
                    if out.readableBytes >= Self.batchBytes {
                        return .write(out, flush: false)
                    }
                }

            case .sleeping(let index):
                if out.readableBytes > 0 {
                    return .write(out, flush: false)
                }
                self.phase = .token(index)
                return .sleep(until: base + self.pace * Int64(index - 1))

            case .token(let index):
                self.writeToken(index, into: &out)
                self.phase = .afterToken(index)

            case .tail:
                let finishReason = self.parameters.finishReason
                self.writeEvent(into: &out, allocator: allocator) { event in
                    event.writeStaticString("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":")
                    event.writeJSONString(finishReason)
                    event.writeStaticString("}]}\n\n")
                }
                if self.parameters.includeUsage {
                    let prompt = self.parameters.promptTokens
                    let completion = self.parameters.tokens
                    self.writeEvent(into: &out, allocator: allocator) { event in
                        event.writeStaticString("],\"usage\":{\"prompt_tokens\":")
                        event.writeDecimal(prompt)
                        event.writeStaticString(",\"completion_tokens\":")
                        event.writeDecimal(completion)
                        event.writeStaticString(",\"total_tokens\":")
                        event.writeDecimal(prompt + completion)
                        event.writeStaticString(",\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n")
                    }
                }
                if !self.faults.noDone {
                    self.writeRawEvent("data: [DONE]\n\n", into: &out)
                }
                BodyWriter.finish(framing: self.framing, into: &out)
                self.phase = .ending(.done)
                return .finish(out)

            case .ending(var ending):
                let step = ending.step(flushing: out)
                self.phase = .ending(ending)
                return step
            }
        }
    }

    private func writeToken(_ index: Int, into out: inout ByteBuffer) {
        var digits = 1
        var probe = index
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        let length =
            self.prefix.readableBytes + Self.tokenOpen.utf8CodeUnitCount + digits + Self.tokenClose.utf8CodeUnitCount
        BodyWriter.begin(length, framing: self.framing, into: &out)
        out.writeImmutableBuffer(self.prefix)
        out.writeStaticString(Self.tokenOpen)
        out.writeDecimal(index)
        out.writeStaticString(Self.tokenClose)
        BodyWriter.end(framing: self.framing, into: &out)
        self.bodyBytes += length
    }

    /// Writes `data: {prefix}…` for the cold events, whose length is only known once built.
    private func writeEvent(
        into out: inout ByteBuffer, allocator: ByteBufferAllocator, _ build: (inout ByteBuffer) -> Void
    ) {
        var event = allocator.buffer(capacity: 256)
        event.writeImmutableBuffer(self.prefix)
        build(&event)
        self.bodyBytes += event.readableBytes
        BodyWriter.piece(event, framing: self.framing, into: &out)
    }

    private func writeRawEvent(_ text: StaticString, into out: inout ByteBuffer) {
        let length = text.utf8CodeUnitCount
        BodyWriter.begin(length, framing: self.framing, into: &out)
        out.writeStaticString(text)
        BodyWriter.end(framing: self.framing, into: &out)
        self.bodyBytes += length
    }

    private func writeErrorEvent(into out: inout ByteBuffer, allocator: ByteBufferAllocator) {
        var event = allocator.buffer(capacity: 256)
        event.writeStaticString("data: ")
        var body = self.faults.errorEvent.body(allocator: allocator)
        event.writeBuffer(&body)
        event.writeStaticString("\n\n")
        self.bodyBytes += event.readableBytes
        BodyWriter.piece(event, framing: self.framing, into: &out)
    }
}

/// Replays a fixture byte for byte, whole or in `chunk=` pieces paced by `chunk_delay_ms`.
/// `reset_after`/`stall_after` count pieces here.
final class ReplayProducer: ResponseProducer {
    private enum Phase {
        case head
        case afterPiece(Int)
        case sleeping(Int)
        case piece(Int)
        case ending(StreamEnding)
    }

    private let head: ResponseHead
    private let framing: BodyFraming
    private let file: ByteBuffer
    private let pieceBytes: Int
    private let pieceCount: Int
    private let delay: TimeAmount?
    private let resetAfter: Int?
    private let stallAfter: Int?
    private var phase = Phase.head
    private(set) var status: Int?
    private(set) var bodyBytes = 0
    let finalOutcome = FakeUpstreamOutcome.completed

    init(head: ResponseHead, file: ByteBuffer, chunkBytes: Int?, chunkDelayMilliseconds: Int?, resetAfter: Int?, stallAfter: Int?) {
        self.head = head
        self.framing = head.framing
        self.file = file
        let pieceBytes = max(chunkBytes ?? file.readableBytes, 1)
        let pieceCount = (file.readableBytes + pieceBytes - 1) / pieceBytes
        self.pieceBytes = pieceBytes
        self.pieceCount = pieceCount
        self.delay = chunkDelayMilliseconds.flatMap { $0 > 0 ? .milliseconds(Int64($0)) : nil }
        self.resetAfter = resetAfter.map { min($0, pieceCount) }
        self.stallAfter = stallAfter.map { min($0, pieceCount) }
    }

    func next(allocator: ByteBufferAllocator, base: NIODeadline) -> ResponseStep {
        var out = allocator.buffer(capacity: 512)
        while true {
            switch self.phase {
            case .head:
                self.status = self.head.status
                self.head.write(into: &out)
                self.phase = .afterPiece(0)
                if self.pieceCount > 0 {
                    self.phase = .piece(0)
                }

            case .afterPiece(let count):
                if count == self.resetAfter {
                    self.phase = .ending(.reset)
                    continue
                }
                if count == self.stallAfter {
                    self.phase = .ending(.stall)
                    continue
                }
                if count >= self.pieceCount {
                    BodyWriter.finish(framing: self.framing, into: &out)
                    self.phase = .ending(.done)
                    return .finish(out)
                }
                // Each piece leaves in its own flush, so the reader sees the split.
                self.phase = .sleeping(count)
                return .write(out, flush: true)

            case .sleeping(let index):
                self.phase = .piece(index)
                if let delay = self.delay {
                    return .sleep(until: base + delay * Int64(index))
                }

            case .piece(let index):
                let start = self.file.readerIndex + index * self.pieceBytes
                let length = min(self.pieceBytes, self.file.readableBytes - index * self.pieceBytes)
                if let slice = self.file.getSlice(at: start, length: length) {
                    BodyWriter.piece(slice, framing: self.framing, into: &out)
                    self.bodyBytes += length
                }
                self.phase = .afterPiece(index + 1)

            case .ending(var ending):
                let step = ending.step(flushing: out)
                self.phase = .ending(ending)
                return step
            }
        }
    }
}
