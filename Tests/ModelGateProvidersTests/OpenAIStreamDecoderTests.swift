import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import Testing

@Suite("OpenAI stream decoder")
struct OpenAIStreamDecoderTests {
    static let chatText =
        "I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app."

    /// Feeds `pieces` and finishes; returns the events, or throws what the decoder threw.
    private func run(_ pieces: [[UInt8]]) throws(GatewayError) -> [ChatStreamEvent] {
        try decodeStream(OpenAIStreamDecoder(provider: "openai"), pieces)
    }

    private func run(_ text: String) throws(GatewayError) -> [ChatStreamEvent] {
        try run([Array(text.utf8)])
    }

    private func assemble(_ events: [ChatStreamEvent]) -> ChatStreamAssembler {
        var assembler = ChatStreamAssembler(provider: "openai", model: "fallback", accumulatesText: true)
        for event in events { _ = assembler.consume(event) }
        return assembler
    }

    // MARK: Fixtures

    @Test func chatFixtureGivesTextFinishAndUsage() throws {
        let events = try run([try Fixtures.bytes("openai_chat_stream.sse")])
        #expect(events.first == .started(id: "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL", model: "gpt-4o-2024-08-06"))
        #expect(events.filter { if case .started = $0 { true } else { false } }.count == 1)
        let text = events.map { event in
            if case .delta(let delta) = event { delta.text } else { "" }
        }.joined()
        #expect(text == Self.chatText)
        #expect(events.contains(.finished(.stop, providerReason: "stop")))
        #expect(
            events.last
                == .usage(Usage(inputTokens: 14, outputTokens: 30, reasoningTokens: 0, totalTokens: 44, source: .provider)))

        let response = assemble(events).response()
        #expect(response.text == Self.chatText)
        #expect(response.finishReason == .stop)
        #expect(response.usage.inputTokens == 14)
        #expect(response.usage.outputTokens == 30)
        #expect(response.usage.totalTokens == 44)
        #expect(response.usage.source == .provider)
    }

    /// Every split (and byte-at-a-time feeding) gives exactly the events of the whole file,
    /// so the chat fixture's text is ``chatText`` and the tool call is intact at every split.
    @Test(arguments: ["openai_chat_stream.sse", "openai_chat_stream_tool_calls.sse"])
    func fixturesGiveTheSameEventsAtEverySplit(_ name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let whole = try run([bytes])
        if name == "openai_chat_stream.sse" {
            #expect(assemble(whole).response().text == Self.chatText)
        } else {
            #expect(assemble(whole).response().toolCalls.first?.argumentsJSON == #"{"city":"New York City"}"#)
        }
        #expect(try run(bytes.map { [$0] }) == whole)
        for split in 1..<bytes.count {
            #expect(try run([Array(bytes[..<split]), Array(bytes[split...])]) == whole, "split at \(split)")
        }
    }

    @Test func toolCallFixtureAssemblesGetWeather() throws {
        let events = try run([try Fixtures.bytes("openai_chat_stream_tool_calls.sse")])
        let firstDelta = events.compactMap { event -> ChatDelta? in
            if case .delta(let delta) = event { delta } else { nil }
        }.first
        #expect(
            firstDelta?.toolCalls == [ToolCallDelta(index: 0, id: "call_4XzlGBLtUe9dy3GVNV4jhq7h", name: "get_weather")])

        let assembler = assemble(events)
        let response = assembler.response()
        #expect(response.text == "")
        #expect(response.finishReason == .toolCalls)
        #expect(response.providerFinishReason == "tool_calls")
        #expect(response.usage.inputTokens == 44)
        #expect(response.usage.outputTokens == 16)
        #expect(response.usage.totalTokens == 60)
        let call = try #require(response.toolCalls.first)
        #expect(response.toolCalls.count == 1)
        #expect(call.id == "call_4XzlGBLtUe9dy3GVNV4jhq7h")
        #expect(call.name == "get_weather")
        #expect(call.argumentsJSON == #"{"city":"New York City"}"#)
        let arguments = try JSONDocument(parsing: call.argumentsJSON).root
        #expect(arguments.count == 1)
        #expect(arguments["city"].string == "New York City")
    }

    // MARK: Truncation

    @Test func fixtureCutBeforeDoneIsTruncated() throws {
        let bytes = try Fixtures.bytes("openai_chat_stream.sse")
        let doneStart = try #require(bytes.end(of: "data: [DONE]")) - "data: [DONE]".utf8.count
        let error = thrownGatewayError { _ = try run([Array(bytes[..<doneStart])]) }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.kind == .upstreamTruncated)
        #expect(error?.detail.provider == "openai")
        #expect(error?.message.contains("in the middle of an event") == false)
    }

    @Test func everyCutOfTheFixtureIsTruncated() throws {
        let bytes = try Fixtures.bytes("openai_chat_stream_tool_calls.sse")
        // The stream is complete only once the blank line after [DONE] arrived.
        for cut in 0..<bytes.count {
            let error = thrownGatewayError { _ = try run([Array(bytes[..<cut])]) }
            #expect(error?.detail.kind == .upstreamTruncated, "cut at \(cut)")
        }
        #expect(throws: Never.self) { _ = try run([bytes]) }
    }

    @Test func cutInsideAnEventSaysSo() {
        let error = thrownGatewayError { _ = try run(#"data: {"choices":[{"index":0,"delta":{"content":"a"}}]}"#) }
        #expect(error?.detail.kind == .upstreamTruncated)
        #expect(error?.message.contains("in the middle of an event") == true)
    }

    @Test func dataAfterDoneIsIgnored() throws {
        let events = try run("data: {\"id\":\"x\",\"choices\":[]}\n\ndata: [DONE]\n\ndata: {not json\n\n")
        #expect(events == [.started(id: "x", model: "")])
    }

    // MARK: Errors in the stream

    @Test func nestedErrorEventWithStringCode() {
        let error = thrownGatewayError {
            _ = try run(
                #"data: {"choices":[{"index":0,"delta":{"content":"a"}}]}"# + "\n\n"
                    + #"data: {"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#
                    + "\n\n")
        }
        #expect(error?.code == .resourceExhausted)
        #expect(error?.detail.kind == .rateLimited)
        #expect(error?.detail.upstreamMessage == "Rate limit reached")
        #expect(error?.detail.upstreamCode == "rate_limit_exceeded")
        #expect(error?.detail.upstreamStatus == 200)
        #expect(error?.detail.provider == "openai")
    }

    @Test func nestedErrorEventWithIntegerCode() {
        let error = thrownGatewayError {
            _ = try run(
                #"data: {"error":{"message":"This model's maximum context length is 4096 tokens","type":"BadRequestError","param":null,"code":400}}"#
                    + "\n\n")
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.detail.kind == .contextLengthExceeded)
        #expect(error?.detail.upstreamCode == "400")
    }

    @Test func flatVLLMErrorEvent() {
        let error = thrownGatewayError {
            _ = try run(#"data: {"object":"error","message":"boom","type":"InternalServerError","param":null,"code":500}"# + "\n\n")
        }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.kind == .upstreamUnavailable)
        #expect(error?.detail.upstreamMessage == "boom")
    }

    @Test func namedErrorEventWithUnknownTypeIsAServerError() {
        let error = thrownGatewayError { _ = try run("event: error\ndata: {\"message\":\"overloaded\"}\n\n") }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.retryable == true)
    }

    @Test(arguments: [
        #"data: {"choices": ["#, "data: 42", "data: [\"not\",\"an\",\"object\"]", "data: {\"a\":1} trailing",
    ])
    func malformedEventIsInternal(_ line: String) {
        let error = thrownGatewayError { _ = try run(line + "\n\ndata: [DONE]\n\n") }
        #expect(error?.code == .internal)
        #expect(error?.detail.kind == .upstreamMalformed)
    }

    @Test func oversizedEventIsMalformed() {
        var decoder = OpenAIStreamDecoder(provider: "openai", maxEventBytes: 64)
        var events: [ChatStreamEvent] = []
        let line = "data: {\"x\":\"" + String(repeating: "y", count: 100) + "\"}\n\n"
        #expect(throws: GatewayError.self) { try decoder.decode(Array(line.utf8), into: &events) }
    }

    // MARK: Compatible servers

    @Test func reasoningDeltasFromEitherField() throws {
        let events = try run(
            #"data: {"choices":[{"index":0,"delta":{"reasoning_content":"think "}}]}"# + "\n\n"
                + #"data: {"choices":[{"index":0,"delta":{"reasoning":"more","content":null}}]}"# + "\n\n"
                + #"data: {"choices":[{"index":0,"delta":{"content":"answer"},"finish_reason":"stop"}]}"# + "\n\n"
                + "data: [DONE]\n\n")
        let response = assemble(events).response()
        #expect(response.reasoning == "think more")
        #expect(response.text == "answer")
        #expect(response.finishReason == .stop)
        #expect(response.usage.source == .notReported)
    }

    @Test func groqUsageAndEmptyToolCallArrays() throws {
        let events = try run(
            #"data: {"id":"g","model":"llama","choices":[{"index":0,"delta":{"content":"hi","tool_calls":[]}}]}"#
                + "\n\n"
                + #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}}"#
                + "\n\ndata: [DONE]\n\n")
        #expect(
            events == [
                .started(id: "g", model: "llama"),
                .delta(ChatDelta(text: "hi")),
                .finished(.stop, providerReason: "stop"),
                .usage(Usage(inputTokens: 5, outputTokens: 1, totalTokens: 6, source: .provider)),
            ])
    }

    @Test func lastUsageWinsAndCachedTokensAreRead() throws {
        let events = try run(
            #"data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"# + "\n\n"
                + #"data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":2}}}"#
                + "\n\ndata: [DONE]\n\n")
        let usage = assemble(events).response().usage
        #expect(usage == Usage(inputTokens: 10, outputTokens: 3, cachedInputTokens: 8, reasoningTokens: 2, totalTokens: 13, source: .provider))
    }

    @Test func interleavedParallelToolCalls() throws {
        let events = try run(
            #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}},{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{"}}]}}]}"#
                + "\n\n"
                + #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"}"}},{"index":0,"function":{"arguments":"{}"}}]}}]}"#
                + "\n\n"
                + #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"# + "\n\ndata: [DONE]\n\n")
        let calls = assemble(events).response().toolCalls
        #expect(calls == [ToolCall(id: "a", name: "f", argumentsJSON: "{}"), ToolCall(id: "b", name: "g", argumentsJSON: "{}")])
    }

    @Test func emptyFinishReasonIsIgnoredAndUnknownOnesKept() throws {
        let events = try run(
            #"data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":""}]}"# + "\n\n"
                + #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"eos_token"}]}"# + "\n\ndata: [DONE]\n\n")
        #expect(events.filter { if case .finished = $0 { true } else { false } } == [.finished(.stop, providerReason: "eos_token")])
    }

    @Test func refusalAndContentPartsBecomeText() throws {
        let events = try run(
            #"data: {"choices":[{"index":0,"delta":{"refusal":"I can't."}}]}"# + "\n\n"
                + #"data: {"choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"hmm"}]},{"type":"text","text":" Sorry."}]}}]}"#
                + "\n\ndata: [DONE]\n\n")
        let response = assemble(events).response()
        #expect(response.text == "I can't. Sorry.")
        #expect(response.reasoning == "hmm")
    }

    @Test func onlyTheFirstChoiceIsRead() throws {
        let events = try run(
            #"data: {"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]}"#
                + "\n\ndata: [DONE]\n\n")
        #expect(assemble(events).response().text == "mine")
    }

    @Test func finishReasonMapping() {
        let table: [(String, FinishReason)] = [
            ("stop", .stop), ("length", .length), ("tool_calls", .toolCalls), ("function_call", .toolCalls),
            ("content_filter", .contentFilter), ("error", .error), ("abort", .error), ("eos", .stop),
            ("max_tokens", .length), ("something_new", .stop),
        ]
        for (raw, expected) in table {
            #expect(OpenAIResponseDecoding.finishReason(raw) == expected, "\(raw)")
        }
    }
}

extension OpenAIStreamDecoderTests {
    @Test func errorNextToEmptyChoicesIsStillAnError() {
        let error = thrownGatewayError {
            _ = try run(#"data: {"choices":[],"error":{"message":"quota","type":"insufficient_quota","code":"insufficient_quota"}}"# + "\n\n")
        }
        #expect(error?.detail.kind == .quotaExceeded)
    }
}
