import ModelGateJSON
import ModelGateProviders
import Testing

@Suite("NDJSON line decoder")
struct NDJSONLineDecoderTests {
    /// Decodes `pieces`; returns the lines and whether one was left pending at the end.
    private func decode(_ pieces: [[UInt8]], maxLineBytes: Int = 1 << 20) throws -> ([String], Bool) {
        var decoder = NDJSONLineDecoder(maxLineBytes: maxLineBytes)
        var lines: [String] = []
        for piece in pieces {
            decoder.append(piece)
            while let line = try decoder.next() { lines.append(String(decoding: line, as: UTF8.self)) }
        }
        return (lines, decoder.hasPartialLine)
    }

    private func decode(_ text: String) throws -> [String] {
        try decode([Array(text.utf8)]).0
    }

    @Test func splitsOnLineFeedAndDropsTheCarriageReturnOfCRLF() throws {
        #expect(try decode("{\"a\":1}\n{\"b\":2}\r\n{\"c\":\"x\ry\"}\n") == [#"{"a":1}"#, #"{"b":2}"#, "{\"c\":\"x\ry\"}"])
    }

    @Test func skipsBlankLines() throws {
        #expect(try decode("\n\r\n  \t\n{}\n \n[]\n") == ["{}", "[]"])
    }

    @Test func aLineWithoutItsLineFeedIsPending() throws {
        let (lines, pending) = try decode([Array("{\"a\":1}\n{\"b\"".utf8)])
        #expect(lines == [#"{"a":1}"#])
        #expect(pending)
        let (complete, nothingPending) = try decode([Array("{\"a\":1}\n".utf8)])
        #expect(complete == [#"{"a":1}"#])
        #expect(!nothingPending)
    }

    @Test func carriageReturnAndLineFeedSplitAcrossPieces() throws {
        let (lines, pending) = try decode([Array("{}\r".utf8), Array("\n[1]\r".utf8), Array("\n".utf8)])
        #expect(lines == ["{}", "[1]"])
        #expect(!pending)
    }

    @Test func linesAreBoundedWhateverTheSplit() throws {
        let exact = String(repeating: "x", count: 16)
        // A line of exactly the limit passes, with LF or CRLF, whole or a byte at a time.
        for text in [exact + "\n", exact + "\r\n"] {
            let bytes = Array(text.utf8)
            #expect(try decode([bytes], maxLineBytes: 16).0 == [exact])
            #expect(try decode(bytes.map { [$0] }, maxLineBytes: 16).0 == [exact])
        }
        // One byte more fails, complete or still pending, whole or a byte at a time.
        let long = Array((exact + "y\n").utf8)
        #expect(throws: NDJSONLineError(limit: 16)) { _ = try decode([long], maxLineBytes: 16) }
        #expect(throws: NDJSONLineError(limit: 16)) { _ = try decode(long.map { [$0] }, maxLineBytes: 16) }
        #expect(throws: NDJSONLineError(limit: 16)) { _ = try decode([Array((exact + "yz").utf8)], maxLineBytes: 16) }
    }

    /// The Ollama fixtures (both endpoints) give the same lines at every split, each line a
    /// JSON object; the generate stream's text is the documented sentence.
    @Test(arguments: [
        ("ollama_chat.ndjson", 2), ("ollama_chat_stream_docs.ndjson", 2), ("ollama_chat_stream_tools_docs.ndjson", 2),
        ("ollama_generate.ndjson", 7), ("ollama_generate_error_midstream.ndjson", 5),
    ])
    func fixturesSplitTheSameEverywhere(name: String, count: Int) throws {
        let bytes = try Fixtures.bytes(name)
        let (whole, pending) = try decode([bytes])
        #expect(whole.count == count)
        #expect(!pending)
        for line in whole {
            #expect(try JSONDocument(parsing: line).root.kind == .object, "\(line)")
        }
        #expect(try decode(bytes.map { [$0] }).0 == whole)
        for split in 1..<bytes.count {
            #expect(try decode([Array(bytes[..<split]), Array(bytes[split...])]).0 == whole, "split at \(split)")
        }
        if name == "ollama_generate.ndjson" {
            let text = try whole.map { try JSONDocument(parsing: $0).root["response"].string ?? "" }.joined()
            #expect(text == "That's a fantastic question!")
            #expect(try JSONDocument(parsing: whole[6]).root["done_reason"].string == "stop")
        }
        if name == "ollama_generate_error_midstream.ndjson" {
            #expect(whole.last == #"{"error":"an error was encountered while running the model"}"#)
        }
    }
}

@Suite("Server-sent event decoder: unknown lines")
struct ServerSentEventUnknownLineTests {
    @Test func nextItemReportsLinesSSEDoesNotDefine() throws {
        var decoder = ServerSentEventDecoder()
        decoder.append(Array("data: a\r\n\r\n: comment\n{\n  \"error\": 1\n}\nretry: 5\nid: x\nevent: e\ndata: b\n\n".utf8))
        var items: [ServerSentEventItem] = []
        while let item = try decoder.nextItem() { items.append(item) }
        #expect(
            items == [
                .event(ServerSentEvent(data: Array("a".utf8))),
                .unknownLine(Array("{".utf8)),
                .unknownLine(Array("  \"error\": 1".utf8)),
                .unknownLine(Array("}".utf8)),
                .event(ServerSentEvent(type: "e", data: Array("b".utf8), lastEventID: "x")),
            ])
        #expect(decoder.reconnectionTimeMilliseconds == 5)
    }

    @Test func nextStillIgnoresThem() throws {
        var decoder = ServerSentEventDecoder()
        decoder.append(Array("{\nbogus: 1\ndata: a\n\n}\n".utf8))
        #expect(try decoder.next() == ServerSentEvent(data: Array("a".utf8)))
        #expect(try decoder.next() == nil)
        #expect(!decoder.hasPartialEvent)
    }
}
