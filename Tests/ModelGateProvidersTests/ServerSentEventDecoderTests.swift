import ModelGateProviders
import Testing

@Suite("Server-sent event decoder")
struct ServerSentEventDecoderTests {
    /// Decodes `input` delivered as the given pieces; returns the events and whether an
    /// event was left pending at the end.
    private func decode(_ pieces: [[UInt8]], maxEventBytes: Int = 1 << 20) throws -> ([ServerSentEvent], Bool) {
        var decoder = ServerSentEventDecoder(maxEventBytes: maxEventBytes)
        var events: [ServerSentEvent] = []
        for piece in pieces {
            decoder.append(piece)
            while let event = try decoder.next() { events.append(event) }
        }
        return (events, decoder.hasPartialEvent)
    }

    private func decode(_ text: String) throws -> [ServerSentEvent] {
        try decode([Array(text.utf8)]).0
    }

    private func data(_ events: [ServerSentEvent]) -> [String] {
        events.map { String(decoding: $0.data, as: UTF8.self) }
    }

    @Test func dispatchesOnBlankLine() throws {
        let events = try decode("data: hello\n\ndata: world\n\n")
        #expect(data(events) == ["hello", "world"])
        #expect(events.allSatisfy { $0.type == "message" })
    }

    @Test func joinsDataLinesWithLineFeed() throws {
        #expect(data(try decode("data: a\ndata: b\ndata:\ndata: c\n\n")) == ["a\nb\n\nc"])
    }

    @Test(arguments: ["\n", "\r", "\r\n"])
    func acceptsEveryLineEnding(_ end: String) throws {
        let text = "data: a\(end)data: b\(end)\(end): comment\(end)event: e\(end)data: c\(end)\(end)"
        let events = try decode(text)
        #expect(data(events) == ["a\nb", "c"])
        #expect(events.map(\.type) == ["message", "e"])
    }

    @Test func carriageReturnAndLineFeedSplitAcrossPiecesAreOneLineEnd() throws {
        // Read as two line ends, the LF would dispatch "a" on its own.
        let pieces: [[UInt8]] = [Array("data: a\r".utf8), Array("\ndata: b\r".utf8), Array("\n\r".utf8), Array("\n".utf8)]
        let (events, pending) = try decode(pieces)
        #expect(data(events) == ["a\nb"])
        #expect(!pending)
    }

    @Test func stripsExactlyOneLeadingSpace() throws {
        #expect(data(try decode("data:  two\n\ndata:none\n\ndata\n\n")) == [" two", "none", ""])
    }

    @Test func ignoresCommentsAndUnknownFields() throws {
        let events = try decode(": keep-alive\n\nfoo: bar\n\n:\ndata: x\nbogus\n\n")
        #expect(data(events) == ["x"])
    }

    @Test func eventWithoutDataIsNotDispatched() throws {
        let events = try decode("event: ping\n\nid: 7\n\ndata: after\n\n")
        #expect(data(events) == ["after"])
        #expect(events[0].type == "message")  // the type does not leak into the next event
        #expect(events[0].lastEventID == "7")
    }

    @Test func eventTypeAndLastEventID() throws {
        let events = try decode("event: delta\nid: 1\ndata: a\n\nevent: delta\ndata: b\n\nid: 2\u{0}x\ndata: c\n\nevent:\ndata: d\n\n")
        #expect(events.map(\.type) == ["delta", "delta", "message", "message"])
        #expect(events.map(\.lastEventID) == ["1", "1", "1", "1"])
    }

    @Test func retrySetsTheReconnectionTime() throws {
        var decoder = ServerSentEventDecoder()
        decoder.append(Array("retry: 1500\n\nretry: 15x\n\nretry:\n\n".utf8))
        while try decoder.next() != nil {}
        #expect(decoder.reconnectionTimeMilliseconds == 1500)
    }

    @Test func skipsALeadingByteOrderMarkEvenWhenSplit() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("data: x\n\n".utf8)
        let (events, pending) = try decode(bytes.map { [$0] })
        #expect(data(events) == ["x"])
        #expect(!pending)
        // Only at the very start: a second BOM is data.
        let (twice, _) = try decode([[0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array("data: x\n\n".utf8)])
        #expect(twice.isEmpty)  // the field name became "\u{FEFF}data", an unknown field
    }

    @Test func eventWithoutTerminatingBlankLineIsNotDispatchedAtEnd() throws {
        let (events, pending) = try decode([Array("data: complete\n\ndata: partial".utf8)])
        #expect(data(events) == ["complete"])
        #expect(pending)
        let (lineOnly, linePending) = try decode([Array("data: complete\n\ndata: line\n".utf8)])
        #expect(data(lineOnly) == ["complete"])
        #expect(linePending)
        let (clean, cleanPending) = try decode([Array("data: complete\n\n".utf8)])
        #expect(data(clean) == ["complete"])
        #expect(!cleanPending)
        let (_, typePending) = try decode([Array("event: x\n".utf8)])
        #expect(typePending)
    }

    @Test func rejectsOversizedEvents() {
        let limit = 16
        // One long data line.
        #expect(throws: ServerSentEventError(limit: limit)) {
            _ = try decode([Array("data: 0123456789abcdefg\n\n".utf8)], maxEventBytes: limit)
        }
        // Several lines that add up.
        #expect(throws: ServerSentEventError(limit: limit)) {
            _ = try decode([Array("data: 01234567\ndata: 89abcdef\n\n".utf8)], maxEventBytes: limit)
        }
        // A line that never ends, fed a byte at a time.
        #expect(throws: ServerSentEventError(limit: limit)) {
            _ = try decode(Array("data: 0123456789abcdefghijklmnop".utf8).map { [$0] }, maxEventBytes: limit)
        }
        // Exactly at the limit is fine, however the input is split.
        let atLimit = Array("data: 0123456789abcdef\n\n".utf8)
        #expect(throws: Never.self) {
            _ = try decode([atLimit], maxEventBytes: limit)
            _ = try decode(atLimit.map { [$0] }, maxEventBytes: limit)
        }
    }

    @Test func longLinesArrivingInTinyPiecesAreScannedOnce() throws {
        // 2 MiB in 1-byte pieces: rescanning the pending line per piece would be quadratic.
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 2 << 20)
        var decoder = ServerSentEventDecoder()
        decoder.append(Array("data: ".utf8))
        var piece: [UInt8] = [0]
        for byte in payload {
            piece[0] = byte
            decoder.append(piece)
            #expect(try decoder.next() == nil)
        }
        decoder.append(Array("\n\n".utf8))
        let event = try #require(try decoder.next())
        #expect(event.data.count == payload.count)
    }

    @Test(arguments: [
        "openai_chat_stream.sse", "openai_chat_stream_tool_calls.sse", "gemini_stream.sse",
        "anthropic_messages_stream.sse", "openai_responses_stream.sse",
    ])
    func fixturesDecodeIdenticallyAtEverySplit(_ name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let (whole, wholePending) = try decode([bytes])
        #expect(!whole.isEmpty)

        let (bytewise, bytewisePending) = try decode(bytes.map { [$0] })
        #expect(bytewise == whole)
        #expect(bytewisePending == wholePending)

        for split in 1..<bytes.count {
            let (events, pending) = try decode([Array(bytes[..<split]), Array(bytes[split...])])
            #expect(events == whole, "split at \(split)")
            #expect(pending == wholePending)
        }
    }

    @Test func anthropicFixtureEndsWithoutBlankLineSoItsLastEventIsPending() throws {
        let bytes = try Fixtures.bytes("anthropic_messages_stream.sse")
        let (events, pending) = try decode([bytes])
        #expect(pending)
        #expect(events.last?.type == "message_delta")
    }

    @Test func geminiFixtureUsesCRLF() throws {
        let bytes = try Fixtures.bytes("gemini_stream.sse")
        #expect(bytes.end(of: "\r\n\r\n") != nil)
        let (events, pending) = try decode([bytes])
        #expect(!pending)
        #expect(events.allSatisfy { !$0.data.contains(0x0D) })
    }
}
