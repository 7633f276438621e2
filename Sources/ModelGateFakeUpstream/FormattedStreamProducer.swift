import NIOCore

/// The pieces of one provider's generated token stream; ``FormattedStreamProducer`` writes
/// them in order, paced and with faults. Each call appends one piece's payload (an SSE
/// event, an NDJSON line) without the HTTP framing.
protocol StreamFormat {
    /// What opens the stream, right after the head (Anthropic's `message_start`, the
    /// Responses API's `response.created`); most formats have nothing there.
    func begin(into buffer: inout ByteBuffer)
    /// Token `index` (1-based): `tok{index} `.
    func token(_ index: Int, into buffer: inout ByteBuffer)
    /// What ends the stream: the provider's end marker, with usage.
    func end(into buffer: inout ByteBuffer)
    /// A mid-stream error, after which the body ends cleanly.
    func error(into buffer: inout ByteBuffer)
    /// A piece that is not valid JSON (`malformed_after`).
    func malformed(into buffer: inout ByteBuffer)
}

extension StreamFormat {
    func begin(into buffer: inout ByteBuffer) {}
}

/// Generates a token stream in any ``StreamFormat``: the head, tokens 1…N (paced by
/// `pace_ms`, batched when unpaced), then the format's end piece, with the same fault
/// points as the OpenAI stream (faults fire after K tokens; a K beyond N fires after the
/// last token, before the end piece). `no_done` leaves the end piece out.
final class FormattedStreamProducer<Format: StreamFormat>: ResponseProducer {
    private static var batchBytes: Int { 32 << 10 }

    private let head: ResponseHead
    private let framing: BodyFraming
    private let format: Format
    private let tokens: Int
    private let pace: TimeAmount
    private let faults: StreamFaults
    /// Tokens written so far.
    private var written = 0
    /// Whether the faults due after `written` tokens were looked at.
    private var faultsChecked = false
    /// The token whose pacing sleep is done.
    private var sleptBefore = 0
    private var ending: StreamEnding?
    private(set) var status: Int?
    private(set) var bodyBytes = 0
    let finalOutcome = FakeUpstreamOutcome.completed

    init(head: ResponseHead, format: Format, tokens: Int, paceMilliseconds: Int, faults: StreamFaults) {
        self.head = head
        self.framing = head.framing
        self.format = format
        self.tokens = tokens
        self.pace = .milliseconds(Int64(paceMilliseconds))
        self.faults = faults.clamped(to: tokens)
    }

    func next(allocator: ByteBufferAllocator, base: NIODeadline) -> ResponseStep {
        var out = allocator.buffer(capacity: 1024)
        if self.ending != nil {
            return self.end(flushing: out)
        }
        if self.status == nil {
            self.status = self.head.status
            self.head.write(into: &out)
            var opening = allocator.buffer(capacity: 0)
            self.format.begin(into: &opening)
            if opening.readableBytes > 0 {
                self.piece(into: &out, allocator: allocator) { $0.writeImmutableBuffer(opening) }
            }
        }
        while true {
            if !self.faultsChecked {
                self.faultsChecked = true
                if self.written == self.faults.resetAfter {
                    self.ending = .reset
                    return self.end(flushing: out)
                }
                if self.written == self.faults.stallAfter {
                    self.ending = .stall
                    return self.end(flushing: out)
                }
                if self.written == self.faults.errorEventAfter {
                    self.piece(into: &out, allocator: allocator) { self.format.error(into: &$0) }
                    return self.finish(out)
                }
                if self.written == self.faults.malformedAfter {
                    self.piece(into: &out, allocator: allocator) { self.format.malformed(into: &$0) }
                }
            }
            if self.written >= self.tokens {
                if !self.faults.noDone {
                    self.piece(into: &out, allocator: allocator) { self.format.end(into: &$0) }
                }
                return self.finish(out)
            }
            let index = self.written + 1
            if self.pace > .zero, index > 1, self.sleptBefore != index {
                if out.readableBytes > 0 {
                    return .write(out, flush: false)
                }
                self.sleptBefore = index
                return .sleep(until: base + self.pace * Int64(index - 1))
            }
            self.piece(into: &out, allocator: allocator) { self.format.token(index, into: &$0) }
            self.written = index
            self.faultsChecked = false
            if out.readableBytes >= Self.batchBytes {
                return .write(out, flush: false)
            }
        }
    }

    private func piece(
        into out: inout ByteBuffer, allocator: ByteBufferAllocator, _ build: (inout ByteBuffer) -> Void
    ) {
        var payload = allocator.buffer(capacity: 256)
        build(&payload)
        // An empty chunk would end a chunked body.
        guard payload.readableBytes > 0 else { return }
        self.bodyBytes += payload.readableBytes
        BodyWriter.piece(payload, framing: self.framing, into: &out)
    }

    private func finish(_ out: ByteBuffer) -> ResponseStep {
        var out = out
        BodyWriter.finish(framing: self.framing, into: &out)
        self.ending = .done
        return .finish(out)
    }

    private func end(flushing out: ByteBuffer) -> ResponseStep {
        var ending = self.ending ?? .done
        let step = ending.step(flushing: out)
        self.ending = ending
        return step
    }
}
