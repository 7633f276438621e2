import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import Testing

@Suite("Anthropic stream decoder")
struct AnthropicStreamDecoderTests {
    /// The published fixtures end right after their last `data:` line; a stream Anthropic
    /// actually sends ends that event with a blank line.
    static func terminated(_ name: String) throws -> [UInt8] {
        try Fixtures.bytes(name) + Array("\n\n".utf8)
    }

    static let basicEvents: [ChatStreamEvent] = [
        .started(id: "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK", model: "claude-3-opus-latest"),
        .usage(Usage(inputTokens: 11, outputTokens: 1, source: .provider)),
        .delta(ChatDelta(text: "Hello")),
        .delta(ChatDelta(text: " there")),
        .delta(ChatDelta(text: "!")),
        .finished(.stop, providerReason: "end_turn"),
        .usage(Usage(inputTokens: 11, outputTokens: 6, source: .provider)),
    ]

    static let toolUseEvents: [ChatStreamEvent] = [
        .started(id: "msg_019Q1hrJbZG26Fb9BQhrkHEr", model: "claude-sonnet-4-20250514"),
        .usage(Usage(inputTokens: 377, outputTokens: 1, source: .provider)),
        .delta(ChatDelta(text: "I")),
        .delta(ChatDelta(text: "'ll check the current weather in Paris for you.")),
        .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, id: "toolu_01NRLabsLyVHZPKxbKvkfSMn", name: "get_weather")])),
        .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, argumentsFragment: #"{"locati"#)])),
        .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, argumentsFragment: #"on": "P"#)])),
        .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, argumentsFragment: "ar")])),
        .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, argumentsFragment: #"is"}"#)])),
        .finished(.toolCalls, providerReason: "tool_use"),
        .usage(Usage(inputTokens: 377, outputTokens: 65, source: .provider)),
    ]

    private func run(_ pieces: [[UInt8]], jsonResponseTool: String? = nil) -> (events: [ChatStreamEvent], error: GatewayError?) {
        runStreamDecoder(
            AnthropicStreamDecoder(provider: "anthropic", jsonResponseTool: jsonResponseTool, secrets: ["sk-ant-test-secret-0123"]),
            pieces)
    }

    private func run(_ text: String, jsonResponseTool: String? = nil) -> (events: [ChatStreamEvent], error: GatewayError?) {
        run([Array(text.utf8)], jsonResponseTool: jsonResponseTool)
    }

    /// An SSE event as Anthropic frames it.
    private func event(_ name: String, _ data: String) -> String {
        "event: \(name)\ndata: \(data)\n\n"
    }

    private func messageStart(usage: String = #"{"input_tokens":5,"output_tokens":1}"#) -> String {
        event(
            "message_start",
            #"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":\#(usage)}}"#)
    }

    private let messageStop = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

    // MARK: Fixtures, at every split point

    @Test("text stream as published: everything delivered, but message_stop is never terminated")
    func publishedTextStreamIsTruncated() throws {
        for (label, pieces) in everySplit(try Fixtures.bytes("anthropic_messages_stream.sse")) {
            let (events, error) = run(pieces)
            #expect(events == Self.basicEvents, "\(label)")
            let failure = try #require(error, "\(label): an unterminated message_stop is not an end")
            #expect(failure.code == .unavailable, "\(label)")
            #expect(failure.detail.kind == .upstreamTruncated, "\(label)")
            #expect(failure.detail.retryable, "\(label)")
            #expect(failure.detail.upstreamStatus == 200)
            #expect(failure.message == "provider \"anthropic\" ended the stream before event: message_stop (in the middle of an event)")
        }
        let response = assembledResponse(Self.basicEvents, provider: "anthropic")
        #expect(response.text == "Hello there!")
        #expect(response.id == "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK" && response.model == "claude-3-opus-latest")
        #expect(response.finishReason == .stop && response.providerFinishReason == "end_turn")
        // output_tokens is cumulative: the last report (6), not the sum with the early 1.
        #expect(response.usage == Usage(inputTokens: 11, outputTokens: 6, totalTokens: 17, source: .provider))
    }

    @Test("text stream with its terminating blank line: OK")
    func terminatedTextStreamCompletes() throws {
        for (label, pieces) in everySplit(try Self.terminated("anthropic_messages_stream.sse")) {
            let (events, error) = run(pieces)
            #expect(error == nil, "\(label)")
            #expect(events == Self.basicEvents, "\(label)")
        }
    }

    @Test("tool-use stream: text, then a call whose argument fragments assemble into JSON")
    func toolUseStream() throws {
        for (label, pieces) in everySplit(try Self.terminated("anthropic_messages_stream_tool_use.sse")) {
            let (events, error) = run(pieces)
            #expect(error == nil, "\(label)")
            #expect(events == Self.toolUseEvents, "\(label)")
        }
        for (label, pieces) in everySplit(try Fixtures.bytes("anthropic_messages_stream_tool_use.sse")) {
            let (events, error) = run(pieces)
            #expect(events == Self.toolUseEvents, "\(label)")
            #expect(error?.detail.kind == .upstreamTruncated, "\(label)")
        }
        let response = assembledResponse(Self.toolUseEvents, provider: "anthropic")
        #expect(response.text == "I'll check the current weather in Paris for you.")
        #expect(response.toolCalls.count == 1)
        let call = try #require(response.toolCalls.first)
        #expect(call.id == "toolu_01NRLabsLyVHZPKxbKvkfSMn" && call.name == "get_weather")
        #expect(call.argumentsJSON == #"{"location": "Paris"}"#)
        let arguments = try JSONDocument(parsing: call.argumentsJSON).root
        #expect(arguments.count == 1 && arguments["location"].string == "Paris")
        #expect(response.finishReason == .toolCalls && response.providerFinishReason == "tool_use")
        #expect(response.usage == Usage(inputTokens: 377, outputTokens: 65, totalTokens: 442, source: .provider))
    }

    @Test("the in-band overloaded error event is UNAVAILABLE and retryable")
    func errorEventFixture() throws {
        for (label, pieces) in everySplit(try Fixtures.bytes("anthropic_error_event.sse")) {
            let (events, error) = run(pieces)
            #expect(events.isEmpty, "\(label)")
            let failure = try #require(error, "\(label)")
            #expect(failure.code == .unavailable, "\(label)")
            #expect(failure.detail.kind == .upstreamUnavailable, "\(label)")
            #expect(failure.detail.retryable, "\(label)")
            #expect(failure.detail.provider == "anthropic")
            #expect(failure.detail.upstreamStatus == 200)
            #expect(failure.detail.upstreamMessage == "Overloaded")
            #expect(failure.detail.upstreamCode == "overloaded_error")
            #expect(failure.message == "provider \"anthropic\" reported an error mid-stream: Overloaded")
        }
    }

    // MARK: Truncation

    @Test func everyCutBeforeTheEndIsTruncated() throws {
        for name in ["anthropic_messages_stream.sse", "anthropic_messages_stream_tool_use.sse"] {
            let bytes = try Self.terminated(name)
            for cut in 0..<bytes.count {
                let error = run([Array(bytes[..<cut])]).error
                #expect(error?.code == .unavailable, "\(name) cut at \(cut)")
                #expect(error?.detail.kind == .upstreamTruncated, "\(name) cut at \(cut)")
            }
            #expect(run([bytes]).error == nil)
        }
    }

    @Test func truncationSaysWhetherAnEventWasHalfReceived() throws {
        let bytes = try Self.terminated("anthropic_messages_stream.sse")
        let betweenEvents = try #require(bytes.end(of: #"{"type":"content_block_stop","index":0}"# + "\n\n"))
        let (events, error) = run([Array(bytes[..<betweenEvents])])
        #expect(error?.message == "provider \"anthropic\" ended the stream before event: message_stop")
        #expect(assembledResponse(events, provider: "anthropic").text == "Hello there!")
    }

    @Test func eventsAfterMessageStopAreNotDecoded() {
        let (events, error) = run(
            messageStart() + messageStop
                + event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"late"}}"#)
                + "not even SSE {")
        #expect(error == nil)
        #expect(events == [.started(id: "msg_1", model: "claude-x"), .usage(Usage(inputTokens: 5, outputTokens: 1, source: .provider))])
    }

    // MARK: Content blocks

    @Test("thinking is reasoning; signatures, citations and redacted thinking are skipped")
    func thinkingAndIgnoredDeltas() {
        let (events, error) = run(
            messageStart()
                + event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#)
                + event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think."}}"#)
                + event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}"#)
                + event("content_block_stop", #"{"type":"content_block_stop","index":0}"#)
                + event("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}}"#)
                + event("content_block_stop", #"{"type":"content_block_stop","index":1}"#)
                + event("content_block_start", #"{"type":"content_block_start","index":2,"content_block":{"type":"text","text":"","citations":[]}}"#)
                + event("content_block_delta", #"{"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{"type":"char_location","cited_text":"x"}}}"#)
                + event("content_block_delta", #"{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"42"}}"#)
                + event("content_block_stop", #"{"type":"content_block_stop","index":2}"#)
                + event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":30}}"#)
                + messageStop)
        #expect(error == nil)
        #expect(
            events == [
                .started(id: "msg_1", model: "claude-x"),
                .usage(Usage(inputTokens: 5, outputTokens: 1, source: .provider)),
                .delta(ChatDelta(reasoning: "Let me think.")),
                .delta(ChatDelta(text: "42")),
                .finished(.stop, providerReason: "end_turn"),
                .usage(Usage(inputTokens: 5, outputTokens: 30, source: .provider)),
            ])
    }

    @Test("cache counts: input includes reads and writes; later reports replace earlier ones")
    func cacheUsage() {
        let (events, error) = run(
            messageStart(usage: #"{"input_tokens":10,"cache_creation_input_tokens":20,"cache_read_input_tokens":100,"output_tokens":1,"service_tier":"standard"}"#)
                + event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":30}}"#)
                + event(
                    "message_delta",
                    #"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"input_tokens":12,"cache_creation_input_tokens":null,"cache_read_input_tokens":100,"output_tokens":31}}"#)
                + messageStop)
        #expect(error == nil)
        #expect(
            events.last
                == .usage(
                    Usage(inputTokens: 132, outputTokens: 31, cachedInputTokens: 100, cacheWriteInputTokens: 20, source: .provider)))
        let response = assembledResponse(events, provider: "anthropic")
        #expect(response.finishReason == .length && response.providerFinishReason == "max_tokens")
        #expect(response.usage.inputTokens == 132 && response.usage.outputTokens == 31 && response.usage.totalTokens == 163)
        #expect(response.usage.cachedInputTokens == 100 && response.usage.cacheWriteInputTokens == 20)
    }

    @Test("no usage at all is not reported, never estimated")
    func noUsage() {
        let (events, error) = run(
            event("message_start", #"{"type":"message_start","message":{"id":"m","model":"c","content":[]}}"#)
                + event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#) + messageStop)
        #expect(error == nil)
        #expect(assembledResponse(events, provider: "anthropic").usage == .notReported)
    }

    @Test("tool calls are numbered in order whatever their block index; one without input gets {}")
    func severalToolCalls() throws {
        let (events, error) = run(
            messageStart()
                + event("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"now","input":{}}}"#)
                + event("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#)
                + event("content_block_stop", #"{"type":"content_block_stop","index":1}"#)
                + event("content_block_start", #"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_b","name":"add","input":{}}}"#)
                + event("content_block_delta", #"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"a\": 1, "}}"#)
                + event("content_block_delta", #"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"\"b\": 2}"}}"#)
                + event("content_block_stop", #"{"type":"content_block_stop","index":3}"#)
                + event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":40}}"#)
                + messageStop)
        #expect(error == nil)
        let response = assembledResponse(events, provider: "anthropic")
        #expect(
            response.toolCalls == [
                ToolCall(id: "toolu_a", name: "now", argumentsJSON: "{}"),
                ToolCall(id: "toolu_b", name: "add", argumentsJSON: #"{"a": 1, "b": 2}"#),
            ])
        #expect(try JSONDocument(parsing: response.toolCalls[1].argumentsJSON).root["b"].int == 2)
        #expect(response.finishReason == .toolCalls)
    }

    @Test("the forced JSON tool's input is the answer's text, and its tool_use a plain stop")
    func jsonAnswerTool() {
        let stream =
            messageStart()
            + event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_j","name":"json_response","input":{}}}"#)
            + event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}"#)
            + event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"answer\": "}}"#)
            + event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"42}"}}"#)
            + event("content_block_stop", #"{"type":"content_block_stop","index":0}"#)
            + event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#)
            + messageStop
        let (events, error) = run(stream, jsonResponseTool: "json_response")
        #expect(error == nil)
        let response = assembledResponse(events, provider: "anthropic")
        #expect(response.text == #"{"answer": 42}"#)
        #expect(response.toolCalls.isEmpty)
        #expect(response.finishReason == .stop && response.providerFinishReason == "tool_use")

        let empty = run(
            messageStart()
                + event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"json_response","input":{}}}"#)
                + event("content_block_stop", #"{"type":"content_block_stop","index":0}"#) + messageStop,
            jsonResponseTool: "json_response")
        #expect(assembledResponse(empty.events, provider: "anthropic").text == "{}")

        // Without a JSON response format, a tool of that name is an ordinary call.
        let ordinary = assembledResponse(run(stream).events, provider: "anthropic")
        #expect(ordinary.toolCalls == [ToolCall(id: "toolu_j", name: "json_response", argumentsJSON: #"{"answer": 42}"#)])
        #expect(ordinary.text == "" && ordinary.finishReason == .toolCalls)
    }

    @Test("events without a name are read by their data's type; unknown events are ignored")
    func unnamedAndUnknownEvents() {
        let (events, error) = run(
            "data: " + #"{"type":"message_start","message":{"id":"m2","model":"claude-y","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}"# + "\n\n"
                + event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}}"#)
                + event("brand_new_event", #"{"type":"brand_new_event","whatever":[1,2]}"#)
                + ": a comment\n"
                + "event: ping\ndata: not JSON at all\n\n"
                + "data: {\"type\":\"ping\"}\n\n"
                + "data: {\"type\":\"message_stop\"}\n\n")
        #expect(error == nil)
        #expect(
            events == [
                .started(id: "m2", model: "claude-y"), .usage(Usage(inputTokens: 3, outputTokens: 1, source: .provider)),
                .delta(ChatDelta(text: "Hi")),
            ])
    }

    // MARK: Errors

    @Test(
        "in-stream error types map like the HTTP statuses they come with",
        arguments: [
            ("overloaded_error", StatusCode.unavailable, ErrorKind.upstreamUnavailable, true),
            ("api_error", .unavailable, .upstreamUnavailable, true),
            ("rate_limit_error", .resourceExhausted, .rateLimited, true),
            ("billing_error", .resourceExhausted, .quotaExceeded, false),
            ("timeout_error", .unavailable, .upstreamTimeout, true),
            ("invalid_request_error", .invalidArgument, .invalidRequest, false),
            ("request_too_large", .invalidArgument, .invalidRequest, false),
            ("authentication_error", .failedPrecondition, .upstreamAuth, false),
            ("permission_error", .permissionDenied, .upstreamPermission, false),
            ("not_found_error", .notFound, .upstreamNotFound, false),
            ("a_new_error", .unavailable, .upstreamUnavailable, true),
        ])
    func errorEventTypes(type: String, code: StatusCode, kind: ErrorKind, retryable: Bool) {
        let (events, error) = run(
            messageStart() + event("error", #"{"type":"error","error":{"type":"\#(type)","message":"m"},"request_id":"req_1"}"#))
        #expect(events.count == 2, "what came before the error is kept")
        #expect(error?.code == code)
        #expect(error?.detail.kind == kind)
        #expect(error?.detail.retryable == retryable)
        #expect(error?.detail.upstreamStatus == 200)
        #expect(error?.detail.upstreamCode == type)
    }

    @Test func errorEventsAreRedactedAndContextLengthIsRecognized() {
        let leaked = run(
            event("error", #"{"type":"error","error":{"type":"invalid_request_error","message":"bad key sk-ant-test-secret-0123 and sk-ant-api03-abcdefghijkl"}}"#))
        #expect(leaked.error?.detail.upstreamMessage == "bad key [REDACTED] and [REDACTED]")
        let long = run(
            event("error", #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#))
        #expect(long.error?.code == .invalidArgument)
        #expect(long.error?.detail.kind == .contextLengthExceeded)
    }

    @Test(
        "broken events are UPSTREAM_MALFORMED",
        arguments: [
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\n\n",
            "event: message_start\ndata: [1]\n\n",
            "event: error\ndata: Overloaded\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":4,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        ])
    func malformedEvents(_ body: String) {
        let error = run(body).error
        #expect(error?.code == .internal)
        #expect(error?.detail.kind == .upstreamMalformed)
    }

    @Test func oversizedEventsAreMalformed() {
        let big = String(repeating: "y", count: 100)
        let body = "event: content_block_delta\ndata: {\"x\":\"\(big)\"}\n\n"
        let error = runStreamDecoder(AnthropicStreamDecoder(provider: "anthropic", maxEventBytes: 64), [Array(body.utf8)]).error
        #expect(error?.detail.kind == .upstreamMalformed)
    }

    @Test func finishReasonMapping() {
        let table: [(String, Bool, FinishReason)] = [
            ("end_turn", false, .stop), ("stop_sequence", false, .stop), ("max_tokens", false, .length),
            ("model_context_window_exceeded", false, .length), ("pause_turn", false, .length),
            ("tool_use", false, .toolCalls), ("tool_use", true, .stop), ("refusal", false, .contentFilter),
            ("something_new", false, .stop),
        ]
        for (raw, json, expected) in table {
            #expect(AnthropicResponseDecoding.finishReason(raw, answeredWithJSONTool: json) == expected, "\(raw)")
        }
    }
}
