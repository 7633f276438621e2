import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import Testing

/// Feeds `pieces` to a fresh decoder, then finishes it; returns every event decoded, and the
/// error that ended the stream (nil when it completed).
func runStreamDecoder<Decoder: ChatStreamDecoding>(_ decoder: Decoder, _ pieces: [[UInt8]]) -> (
    events: [ChatStreamEvent], error: GatewayError?
) {
    var decoder = decoder
    var events: [ChatStreamEvent] = []
    do {
        for piece in pieces where !decoder.isDone {
            try decoder.decode(piece, into: &events)
        }
        try decoder.finish()
        return (events, nil)
    } catch {
        return (events, error)
    }
}

/// `bytes` whole, a byte at a time, and cut in two at every position.
func everySplit(_ bytes: [UInt8]) -> [(String, [[UInt8]])] {
    [("whole", [bytes]), ("bytewise", bytes.map { [$0] })]
        + (1..<max(bytes.count, 1)).map { ("split at \($0)", [Array(bytes[..<$0]), Array(bytes[$0...])]) }
}

func assembledResponse(_ events: [ChatStreamEvent], provider: String) -> ChatResponse {
    var assembler = ChatStreamAssembler(provider: provider, model: "fallback", accumulatesText: true)
    for event in events { _ = assembler.consume(event) }
    return assembler.response()
}

@Suite("Gemini stream decoder")
struct GeminiStreamDecoderTests {
    static let firstThought =
        "**Calculating the Days**\n\nI've determined the user's request involves calculating the days until New Year's Eve. I need to get the current date and the date of New Year's Eve. My plan involves using `default_api.now()` to get the current date and time. Then, I can perform the calculation to find the time difference.\n\n\n"
    static let secondThought =
        "**Determining the Approach**\n\nI'm now zeroing in on the best method. Having established the core requirement -- the number of days until New Year's Eve -- I've identified `default_api.now()` as my primary tool for retrieving the current date. I'll need to define December 31st of the current year. I've also recognized the need to calculate the difference, which isn't a direct function. I'll calculate this myself after getting today's date.\n\n\n"

    private func run(_ pieces: [[UInt8]]) -> (events: [ChatStreamEvent], error: GatewayError?) {
        runStreamDecoder(GeminiStreamDecoder(provider: "gemini"), pieces)
    }

    private func run(_ text: String) -> (events: [ChatStreamEvent], error: GatewayError?) {
        run([Array(text.utf8)])
    }

    // MARK: Fixtures, at every split point

    @Test func textStream() throws {
        let expected: [ChatStreamEvent] = [
            .started(id: "", model: "gemini-2.0-flash"),
            .delta(ChatDelta(text: "The")),
            .usage(Usage(inputTokens: 7, totalTokens: 7, source: .provider)),
            .delta(ChatDelta(text: " capital of Wyoming")),
            .usage(Usage(inputTokens: 7, totalTokens: 7, source: .provider)),
            .delta(ChatDelta(text: " is **Cheyenne**.\n")),
            .finished(.stop, providerReason: "STOP"),
            .usage(Usage(inputTokens: 7, outputTokens: 10, totalTokens: 17, source: .provider)),
        ]
        for (label, pieces) in everySplit(try Fixtures.bytes("gemini_stream.sse")) {
            let (events, error) = run(pieces)
            #expect(error == nil, "\(label)")
            #expect(events == expected, "\(label)")
        }
        let response = assembledResponse(expected, provider: "gemini")
        #expect(response.text == "The capital of Wyoming is **Cheyenne**.\n")
        #expect(response.model == "gemini-2.0-flash")
        #expect(response.finishReason == .stop && response.providerFinishReason == "STOP")
        #expect(response.usage == Usage(inputTokens: 7, outputTokens: 10, totalTokens: 17, source: .provider))
    }

    @Test func thinkingThenAWholeFunctionCall() throws {
        let expected: [ChatStreamEvent] = [
            .started(id: "48SHaPHpHKbG-8YPtZCawAk", model: "gemini-2.5-flash"),
            .delta(ChatDelta(reasoning: Self.firstThought)),
            .usage(Usage(inputTokens: 38, outputTokens: 68, reasoningTokens: 68, totalTokens: 106, source: .provider)),
            .delta(ChatDelta(reasoning: Self.secondThought)),
            .usage(Usage(inputTokens: 38, outputTokens: 168, reasoningTokens: 168, totalTokens: 206, source: .provider)),
            .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, id: "gemini_call_0", name: "now", argumentsFragment: "{}")])),
            .finished(.toolCalls, providerReason: "STOP"),
            .usage(Usage(inputTokens: 38, outputTokens: 174, reasoningTokens: 168, totalTokens: 212, source: .provider)),
        ]
        for (label, pieces) in everySplit(try Fixtures.bytes("gemini_stream_thinking_function_call.sse")) {
            let (events, error) = run(pieces)
            #expect(error == nil, "\(label)")
            #expect(events == expected, "\(label)")
        }
        let response = assembledResponse(expected, provider: "gemini")
        #expect(response.id == "48SHaPHpHKbG-8YPtZCawAk")
        #expect(response.text == "")
        #expect(response.reasoning == Self.firstThought + Self.secondThought)
        #expect(response.toolCalls == [ToolCall(id: "gemini_call_0", name: "now", argumentsJSON: "{}")])
        #expect(try JSONDocument(parsing: response.toolCalls[0].argumentsJSON).root.count == 0)
        #expect(response.finishReason == .toolCalls && response.providerFinishReason == "STOP")
        #expect(response.usage.inputTokens == 38 && response.usage.outputTokens == 174)
        #expect(response.usage.reasoningTokens == 168 && response.usage.totalTokens == 212)
    }

    @Test func vertexFunctionCallWithArguments() throws {
        let call = ToolCallDelta(index: 0, id: "gemini_call_0", name: "getTemperature", argumentsFragment: #"{ "city": "San Jose" }"#)
        let expected: [ChatStreamEvent] = [
            .started(id: "", model: ""),
            .delta(ChatDelta(toolCalls: [call])),
            .finished(.toolCalls, providerReason: "STOP"),
        ]
        for (label, pieces) in everySplit(try Fixtures.bytes("gemini_vertex_stream_function_call.sse")) {
            let (events, error) = run(pieces)
            #expect(error == nil, "\(label)")
            #expect(events == expected, "\(label)")
        }
        let response = assembledResponse(expected, provider: "gemini")
        let tool = try #require(response.toolCalls.first)
        #expect(tool.name == "getTemperature" && tool.id == "gemini_call_0")
        let arguments = try JSONDocument(parsing: tool.argumentsJSON).root
        #expect(arguments.count == 1)
        #expect(arguments["city"].string == "San Jose")
        #expect(response.usage == .notReported)
    }

    @Test func bareJSONErrorAfterTheEvents() throws {
        let expected: [ChatStreamEvent] = [
            .started(id: "", model: ""),
            .delta(ChatDelta(text: "First ")),
            .finished(.stop, providerReason: "STOP"),
            .delta(ChatDelta(text: "Second ")),
            .finished(.stop, providerReason: "STOP"),
        ]
        for (label, pieces) in everySplit(try Fixtures.bytes("gemini_vertex_stream_error_mid_stream.txt")) {
            let (events, error) = run(pieces)
            #expect(events == expected, "\(label)")
            let failure = try #require(error, "\(label): the error must not be lost")
            #expect(failure.code == .unavailable, "\(label)")
            #expect(failure.detail.kind == .upstreamUnavailable)
            #expect(failure.detail.retryable)
            #expect(failure.detail.provider == "gemini")
            #expect(failure.detail.upstreamStatus == 200)
            #expect(failure.detail.upstreamMessage == "The operation was cancelled.")
            #expect(failure.detail.upstreamCode == "CANCELLED")
        }
    }

    // MARK: Truncation

    @Test func everyCutBeforeTheEndIsTruncated() throws {
        for name in ["gemini_stream.sse", "gemini_stream_thinking_function_call.sse", "gemini_vertex_stream_function_call.sse"] {
            let bytes = try Fixtures.bytes(name)
            // Complete only once the blank line after the finishing event arrived (its CR is
            // already a line end, so only the final LF may be missing).
            for cut in 0..<bytes.count - 1 {
                let error = run([Array(bytes[..<cut])]).error
                #expect(error?.code == .unavailable, "\(name) cut at \(cut)")
                #expect(error?.detail.kind == .upstreamTruncated, "\(name) cut at \(cut)")
                #expect(error?.detail.retryable == true)
            }
        }
    }

    @Test func truncationSaysWhere() throws {
        let bytes = try Fixtures.bytes("gemini_stream.sse")
        let eventStarts = bytes.indices.filter { bytes[$0...].starts(with: "data: ".utf8) }
        // Cut after two complete events: no finish reason.
        let (events, error) = run([Array(bytes[..<eventStarts[2]])])
        #expect(error?.message == "provider \"gemini\" ended the stream before a chunk with a finish reason")
        #expect(assembledResponse(events, provider: "gemini").text == "The capital of Wyoming")
        #expect(run([Array(bytes.dropLast(3))]).error?.message.contains("in the middle of an event") == true)
        let errorBytes = try Fixtures.bytes("gemini_vertex_stream_error_mid_stream.txt")
        #expect(run([Array(errorBytes.dropLast(4))]).error?.message.contains("in the middle of a bare JSON object") == true)
    }

    // MARK: Other shapes

    @Test func errorInsideAnSSEEventWithRetryInfo() {
        let (_, error) = run(
            #"data: {"error": {"code": 429, "message": "You exceeded your current quota.", "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}]}}"#
                + "\r\n\r\n")
        #expect(error?.code == .resourceExhausted)
        #expect(error?.detail.kind == .rateLimited)
        #expect(error?.detail.retryAfterMilliseconds == 37_000)
        #expect(error?.detail.upstreamCode == "RESOURCE_EXHAUSTED")
    }

    @Test func blockedPromptEndsWithContentFilter() {
        let (events, error) = run(
            #"data: {"promptFeedback": {"blockReason": "SAFETY","safetyRatings": []},"usageMetadata": {"promptTokenCount": 8,"totalTokenCount": 8},"modelVersion": "gemini-2.0-flash"}"#
                + "\r\n\r\n")
        #expect(error == nil)
        #expect(
            events == [
                .started(id: "", model: "gemini-2.0-flash"),
                .finished(.contentFilter, providerReason: "SAFETY"),
                .usage(Usage(inputTokens: 8, totalTokens: 8, source: .provider)),
            ])
    }

    @Test func providerCallIDsAreKeptAndMissingOnesNumbered() {
        let (events, error) = run(
            #"data: {"candidates": [{"content": {"parts": [{"functionCall": {"id": "fc-1", "name": "a", "args": {"x": 1}}}, {"functionCall": {"name": "b"}}]}}]}"#
                + "\r\n\r\n"
                + #"data: {"candidates": [{"content": {"parts": [{"text": "ok"}, {"functionCall": {"name": "c", "args": {}}, "thoughtSignature": "c2ln"}]}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 10, "cachedContentTokenCount": 4, "toolUsePromptTokenCount": 2, "candidatesTokenCount": 5, "totalTokenCount": 17}}"#
                + "\r\n\r\n")
        #expect(error == nil)
        let response = assembledResponse(events, provider: "gemini")
        #expect(
            response.toolCalls == [
                ToolCall(id: "fc-1", name: "a", argumentsJSON: #"{"x": 1}"#),
                ToolCall(id: "gemini_call_1", name: "b", argumentsJSON: "{}"),
                ToolCall(id: "gemini_call_2", name: "c", argumentsJSON: "{}"),
            ])
        #expect(response.text == "ok")
        #expect(response.finishReason == .toolCalls)
        #expect(
            response.usage
                == Usage(inputTokens: 12, outputTokens: 5, cachedInputTokens: 4, totalTokens: 17, source: .provider))
    }

    @Test func unknownSSEFieldsAreIgnoredButBrokenOnesAreMalformed() {
        let ok = run("retry: 10\nfoo: bar\n" + #"data: {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "MAX_TOKENS"}]}"# + "\n\n")
        #expect(ok.error == nil)
        #expect(assembledResponse(ok.events, provider: "gemini").finishReason == .length)

        for body in [
            "data: {\"candidates\": [\r\n\r\n", "data: 42\r\n\r\n", "{\"not\": \"an error\"}\n", "{\"error\": {}} trailing\n",
            "{\ndata: {}\n\n",
        ] {
            let error = run(body).error
            #expect(error?.code == .internal, "\(body)")
            #expect(error?.detail.kind == .upstreamMalformed, "\(body)")
        }
    }

    @Test func oversizedEventsAndBareObjectsAreMalformed() {
        let big = String(repeating: "y", count: 100)
        for body in ["data: {\"x\":\"\(big)\"}\n\n", "{\n\"error\": \"\(big)\"\n}\n"] {
            let error = runStreamDecoder(GeminiStreamDecoder(provider: "gemini", maxEventBytes: 64), [Array(body.utf8)]).error
            #expect(error?.detail.kind == .upstreamMalformed, "\(body)")
        }
    }

    @Test func finishReasonMapping() {
        let table: [(String, Bool, FinishReason)] = [
            ("STOP", false, .stop), ("STOP", true, .toolCalls), ("MAX_TOKENS", false, .length),
            ("SAFETY", false, .contentFilter), ("RECITATION", false, .contentFilter), ("BLOCKLIST", false, .contentFilter),
            ("PROHIBITED_CONTENT", false, .contentFilter), ("SPII", false, .contentFilter),
            ("IMAGE_SAFETY", false, .contentFilter), ("LANGUAGE", false, .contentFilter),
            ("MALFORMED_FUNCTION_CALL", true, .error), ("UNEXPECTED_TOOL_CALL", false, .error),
            ("TOO_MANY_TOOL_CALLS", true, .error), ("OTHER", false, .stop), ("SOMETHING_NEW", true, .stop),
        ]
        for (raw, calls, expected) in table {
            #expect(GeminiResponseDecoding.finishReason(raw, calledFunctions: calls) == expected, "\(raw)")
        }
    }
}
