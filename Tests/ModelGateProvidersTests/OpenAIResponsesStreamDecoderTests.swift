import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import Testing

@Suite("OpenAI Responses stream decoder")
struct OpenAIResponsesStreamDecoderTests {
    static let fixture = "openai_responses_stream.sse"
    static let fixtureID = "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654"

    /// Feeds `pieces` and finishes; returns the events, or throws what the decoder threw.
    private func run(_ pieces: [[UInt8]]) throws(GatewayError) -> [ChatStreamEvent] {
        try decodeStream(OpenAIResponsesStreamDecoder(provider: "oai"), pieces)
    }

    private func run(_ text: String) throws(GatewayError) -> [ChatStreamEvent] {
        try run([Array(text.utf8)])
    }

    private func assemble(_ events: [ChatStreamEvent]) -> ChatResponse {
        var assembler = ChatStreamAssembler(provider: "oai", model: "fallback", accumulatesText: true)
        for event in events { _ = assembler.consume(event) }
        return assembler.response()
    }

    /// One named event as OpenAI streams it.
    private func event(_ type: String, _ members: String) -> String {
        "event: \(type)\ndata: {\"type\":\"\(type)\",\(members)}\n\n"
    }

    // MARK: The documented stream

    /// The example elides the deltas after "Hi" (a literal `...` line, which SSE ignores):
    /// the rest of the text arrives from `response.output_text.done`.
    @Test func fixtureGivesTextUsageAndFinish() throws {
        let events = try run([try Fixtures.bytes(Self.fixture)])
        #expect(
            events == [
                .started(id: Self.fixtureID, model: "gpt-5.4"),
                .delta(ChatDelta(text: "Hi")),
                .delta(ChatDelta(text: " there! How can I assist you today?")),
                .usage(Usage(inputTokens: 37, outputTokens: 11, cachedInputTokens: 0, reasoningTokens: 0, totalTokens: 48, source: .provider)),
                .finished(.stop, providerReason: "completed"),
            ])
        let response = assemble(events)
        #expect(response.text == "Hi there! How can I assist you today?")
        #expect(response.id == Self.fixtureID && response.model == "gpt-5.4")
        #expect(response.finishReason == .stop && response.providerFinishReason == "completed")
        #expect(response.usage.inputTokens == 37)
        #expect(response.usage.outputTokens == 11)
        #expect(response.usage.totalTokens == 48)
        #expect(response.usage.cachedInputTokens == 0 && response.usage.reasoningTokens == 0)
        #expect(response.usage.source == .provider)
    }

    @Test func fixtureGivesTheSameEventsAtEverySplitAndByteAtATime() throws {
        let bytes = try Fixtures.bytes(Self.fixture)
        let whole = try run([bytes])
        #expect(whole.count == 5)
        #expect(try run(bytes.map { [$0] }) == whole)
        for split in 1..<bytes.count {
            #expect(try run([Array(bytes[..<split]), Array(bytes[split...])]) == whole, "split at \(split)")
        }
    }

    /// The stream is complete only once `response.completed` was dispatched: every shorter
    /// prefix (the last blank line included) is truncated, and says so.
    @Test func everyCutBeforeTheTerminalEventIsTruncated() throws {
        let bytes = try Fixtures.bytes(Self.fixture)
        let completedEnd = try #require(bytes.end(of: "\"metadata\":{}}}\n\n", after: "event: response.completed"))
        #expect(completedEnd == bytes.count)
        for cut in 0..<completedEnd {
            let error = thrownGatewayError { _ = try run([Array(bytes[..<cut])]) }
            #expect(error?.code == .unavailable, "cut at \(cut)")
            #expect(error?.detail.kind == .upstreamTruncated, "cut at \(cut)")
            #expect(error?.detail.retryable == true && error?.detail.provider == "oai", "cut at \(cut)")
        }
        let midEvent = thrownGatewayError { _ = try run([Array(bytes[..<(completedEnd - 20)])]) }
        #expect(midEvent?.message == "provider \"oai\" ended the stream before response.completed (in the middle of an event)")
    }

    // MARK: Live-shaped streams

    /// A function call as live streams send it (with `sequence_number`s): the call announced
    /// by `output_item.added`, its arguments in fragments, relayed as deltas and assembled.
    static let toolCallStream =
        #"""
        event: response.created
        data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_tool","object":"response","status":"in_progress","model":"gpt-4.1-2025-04-14","output":[],"usage":null}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}}

        event: response.reasoning_summary_text.delta
        data: {"type":"response.reasoning_summary_text.delta","sequence_number":2,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Need the weather."}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":3,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_wX9","name":"get_weather"}}

        event: response.function_call_arguments.delta
        data: {"type":"response.function_call_arguments.delta","sequence_number":4,"item_id":"fc_1","output_index":1,"delta":"{\"location\":"}

        event: response.function_call_arguments.delta
        data: {"type":"response.function_call_arguments.delta","sequence_number":5,"item_id":"fc_1","output_index":1,"delta":"\"Paris, France\",\"unit\":\"c\"}"}

        event: response.function_call_arguments.done
        data: {"type":"response.function_call_arguments.done","sequence_number":6,"item_id":"fc_1","output_index":1,"arguments":"{\"location\":\"Paris, France\",\"unit\":\"c\"}"}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":7,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"location\":\"Paris, France\",\"unit\":\"c\"}","call_id":"call_wX9","name":"get_weather"}}

        event: response.completed
        data: {"type":"response.completed","sequence_number":8,"response":{"id":"resp_tool","object":"response","status":"completed","model":"gpt-4.1-2025-04-14","usage":{"input_tokens":291,"input_tokens_details":{"cached_tokens":128},"output_tokens":23,"output_tokens_details":{"reasoning_tokens":9},"total_tokens":314}}}


        """#

    @Test func functionCallFragmentsAreRelayedAndAssembled() throws {
        let events = try run(Self.toolCallStream)
        let calls = events.compactMap { event -> [ToolCallDelta]? in
            if case .delta(let delta) = event, !delta.toolCalls.isEmpty { delta.toolCalls } else { nil }
        }.flatMap { $0 }
        #expect(
            calls == [
                ToolCallDelta(index: 0, id: "call_wX9", name: "get_weather"),
                ToolCallDelta(index: 0, argumentsFragment: #"{"location":"#),
                ToolCallDelta(index: 0, argumentsFragment: #""Paris, France","unit":"c"}"#),
            ])
        let response = assemble(events)
        #expect(response.reasoning == "Need the weather.")
        #expect(response.text == "")
        let call = try #require(response.toolCalls.first)
        #expect(response.toolCalls.count == 1 && call.id == "call_wX9" && call.name == "get_weather")
        let arguments = try JSONDocument(parsing: call.argumentsJSON).root
        #expect(arguments.count == 2 && arguments["location"].string == "Paris, France" && arguments["unit"].string == "c")
        #expect(response.finishReason == .toolCalls && response.providerFinishReason == "completed")
        #expect(response.usage.inputTokens == 291)
        #expect(response.usage.cachedInputTokens == 128)
        #expect(response.usage.outputTokens == 23)
        #expect(response.usage.reasoningTokens == 9)
        #expect(response.usage.totalTokens == 314)
        #expect(try run(Array(Self.toolCallStream.utf8).map { [$0] }) == events)
    }

    @Test func argumentsOnlyInTheDoneEventAreStillDelivered() throws {
        let events = try run(
            event("response.output_item.added", #""output_index":0,"item":{"id":"fc_2","type":"function_call","arguments":"","call_id":"call_2","name":"now"}"#)
                + event("response.function_call_arguments.done", #""item_id":"fc_2","output_index":0,"arguments":"{}""#)
                + event("response.completed", #""response":{"id":"r","status":"completed"}"#))
        let response = assemble(events)
        #expect(response.toolCalls == [ToolCall(id: "call_2", name: "now", argumentsJSON: "{}")])
        #expect(response.usage == .notReported)
    }

    @Test func refusalsAndSeveralSummaryPartsAndEventsWithoutNames() throws {
        // `data:` lines without `event:` (a proxy that dropped them) are read by their `type`.
        let stream =
            "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\",\"model\":\"o4-mini\"}}\n\n"
            + event("response.reasoning_summary_text.delta", #""summary_index":0,"delta":"First.""#)
            + event("response.reasoning_summary_part.added", #""summary_index":1,"part":{"type":"summary_text","text":""}"#)
            + event("response.reasoning_summary_text.delta", #""summary_index":1,"delta":"Second.""#)
            + event("response.refusal.delta", #""item_id":"m","output_index":1,"content_index":0,"delta":"I can't help with that.""#)
            + event("response.completed", #""response":{"status":"completed"}"#)
        let response = assemble(try run(stream))
        #expect(response.id == "r1" && response.model == "o4-mini")
        #expect(response.reasoning == "First.\n\nSecond.")
        #expect(response.text == "I can't help with that.")
    }

    @Test(
        "an incomplete response ends OK with its reason",
        arguments: [("max_output_tokens", FinishReason.length), ("content_filter", .contentFilter), ("other", .stop)])
    func incomplete(reason: String, expected: FinishReason) throws {
        let events = try run(
            event("response.output_text.delta", #""output_index":0,"content_index":0,"delta":"Partial""#)
                + event(
                    "response.incomplete",
                    #""response":{"id":"r","status":"incomplete","incomplete_details":{"reason":"\#(reason)"},"usage":{"input_tokens":5,"output_tokens":16,"total_tokens":21}}"#))
        let response = assemble(events)
        #expect(response.text == "Partial")
        #expect(response.finishReason == expected && response.providerFinishReason == reason)
        #expect(response.usage.outputTokens == 16)
    }

    @Test(
        "response.failed and error events are typed errors",
        arguments: [
            (#""response":{"id":"r","status":"failed","error":{"code":"rate_limit_exceeded","message":"Slow down"}}"#, "response.failed",
             StatusCode.resourceExhausted, ErrorKind.rateLimited, "rate_limit_exceeded"),
            (#""response":{"status":"failed","error":{"code":"server_error","message":"Oops"}}"#, "response.failed",
             .unavailable, .upstreamUnavailable, "server_error"),
            (#""response":{"status":"failed","error":{"code":"invalid_prompt","message":"Bad"}}"#, "response.failed",
             .invalidArgument, .invalidRequest, "invalid_prompt"),
            (#""code":"context_length_exceeded","message":"Your input exceeds the context window","param":"input""#, "error",
             .invalidArgument, .contextLengthExceeded, "context_length_exceeded"),
            (#""code":null,"message":"The server had an error","param":null"#, "error", .unavailable, .upstreamUnavailable, ""),
        ])
    func failures(members: String, type: String, code: StatusCode, kind: ErrorKind, upstreamCode: String) {
        var decoder = OpenAIResponsesStreamDecoder(provider: "oai")
        var events: [ChatStreamEvent] = []
        let error = thrownGatewayError {
            try decoder.decode(
                Array((event("response.output_text.delta", #""output_index":0,"delta":"Hi""#) + event(type, members)).utf8),
                into: &events)
        }
        #expect(events == [.delta(ChatDelta(text: "Hi"))], "events before the error are kept")
        #expect(error?.code == code)
        #expect(error?.detail.kind == kind)
        #expect(error?.detail.upstreamCode == upstreamCode)
        #expect(error?.detail.upstreamStatus == 200 && error?.detail.provider == "oai")
    }

    @Test func malformedEventsAndWhatFollowsTheEnd() throws {
        let malformed = thrownGatewayError { _ = try run("event: response.output_text.delta\ndata: {\"type\":\n\n") }
        #expect(malformed?.code == .internal && malformed?.detail.kind == .upstreamMalformed)

        // After response.completed nothing is decoded, not even garbage.
        var decoder = OpenAIResponsesStreamDecoder(provider: "oai")
        var events: [ChatStreamEvent] = []
        try decoder.decode(Array(event("response.completed", #""response":{"status":"completed"}"#).utf8), into: &events)
        #expect(decoder.isDone)
        try decoder.decode(Array("data: not json\n\n".utf8), into: &events)
        try decoder.finish()
        #expect(events == [.finished(.stop, providerReason: "completed")])
    }
}

extension Array where Element == UInt8 {
    /// The index just past the first occurrence of `text` after the first `anchor`.
    fileprivate func end(of text: String, after anchor: String) -> Int? {
        guard let start = end(of: anchor) else { return nil }
        return Array(self[start...]).end(of: text).map { $0 + start }
    }
}
