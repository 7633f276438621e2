import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import Testing

/// ConverseStream bodies built from the documented event shapes (botocore's bedrock-runtime
/// service model; the `p` padding member as aws-sdk-js-v3 #6919 shows it). No byte capture of a
/// real ConverseStream response is published, so these are assembled with
/// ``EventStreamFrames``; the framing itself is checked against botocore's vectors.
enum ConverseStreams {
    /// Text (without a contentBlockStart, as Bedrock sends text), then a tool call whose input
    /// arrives in three fragments (the first empty), then messageStop and metadata.
    static let textAndToolUse: [UInt8] =
        EventStreamFrames.event("messageStart", #"{"p":"abcdefghijk","role":"assistant"}"#)
        + EventStreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Let me check"},"p":"abcd"}"#)
        + EventStreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":" the weather."},"p":"ab"}"#)
        + EventStreamFrames.event("contentBlockStop", #"{"contentBlockIndex":0,"p":"abcdefghijklmnop"}"#)
        + EventStreamFrames.event(
            "contentBlockStart",
            #"{"contentBlockIndex":1,"p":"abc","start":{"toolUse":{"name":"get_weather","toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"}}}"#
        )
        + EventStreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":1,"delta":{"toolUse":{"input":""}},"p":"abcdefg"}"#)
        + EventStreamFrames.event(
            "contentBlockDelta", #"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\": \"Par"}},"p":"a"}"#)
        + EventStreamFrames.event(
            "contentBlockDelta",
            #"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"is\", \"unit\": \"celsius\"}"}},"p":"abcdefghijklmn"}"#)
        + EventStreamFrames.event("contentBlockStop", #"{"contentBlockIndex":1,"p":"abcdefghij"}"#)
        + EventStreamFrames.event("messageStop", #"{"p":"abcdefghijklmnopqrstu","stopReason":"tool_use"}"#)
        + EventStreamFrames.event(
            "metadata", #"{"metrics":{"latencyMs":1234},"p":"abc","usage":{"inputTokens":412,"outputTokens":71,"totalTokens":483}}"#)

    /// Reasoning, then text, with prompt-cache usage.
    static let reasoningWithCache: [UInt8] =
        EventStreamFrames.event("messageStart", #"{"role":"assistant","p":"ab"}"#)
        + EventStreamFrames.event(
            "contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"The user greets me."}},"p":"a"}"#)
        + EventStreamFrames.event(
            "contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"EqoBCkgIAxABGAIiQ"}},"p":"a"}"#)
        + EventStreamFrames.event("contentBlockStop", #"{"contentBlockIndex":0,"p":"abcd"}"#)
        + EventStreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":1,"delta":{"text":"Hello!"},"p":"abcdef"}"#)
        + EventStreamFrames.event("contentBlockStop", #"{"contentBlockIndex":1,"p":"ab"}"#)
        + EventStreamFrames.event("messageStop", #"{"stopReason":"end_turn","p":"abcdefgh"}"#)
        + EventStreamFrames.event(
            "metadata",
            #"{"usage":{"inputTokens":12,"outputTokens":30,"totalTokens":2164,"cacheReadInputTokens":2100,"cacheWriteInputTokens":22},"metrics":{"latencyMs":80},"p":"a"}"#
        )
}

@Suite("Bedrock ConverseStream decoder")
struct BedrockStreamDecoderTests {
    private func run(_ pieces: [[UInt8]], secrets: [String] = []) throws(GatewayError) -> [ChatStreamEvent] {
        var decoder = BedrockStreamDecoder(provider: "bedrock", responseID: "req-1", secrets: secrets)
        var events: [ChatStreamEvent] = []
        for piece in pieces {
            try decoder.decode(piece, into: &events)
        }
        try decoder.finish()
        return events
    }

    private func assemble(_ events: [ChatStreamEvent]) -> ChatResponse {
        var assembler = ChatStreamAssembler(provider: "bedrock", model: "anthropic.claude-3-haiku-20240307-v1:0", accumulatesText: true)
        for event in events { _ = assembler.consume(event) }
        return assembler.response()
    }

    @Test func textAndToolUseGiveTheseEvents() throws {
        let events = try run([ConverseStreams.textAndToolUse])
        #expect(
            events == [
                .started(id: "req-1", model: ""),
                .delta(ChatDelta(text: "Let me check")),
                .delta(ChatDelta(text: " the weather.")),
                .delta(
                    ChatDelta(toolCalls: [ToolCallDelta(index: 0, id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", name: "get_weather")])),
                .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, argumentsFragment: #"{"city": "Par"#)])),
                .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, argumentsFragment: #"is", "unit": "celsius"}"#)])),
                .finished(.toolCalls, providerReason: "tool_use"),
                .usage(Usage(inputTokens: 412, outputTokens: 71, totalTokens: 483, source: .provider)),
            ])
    }

    @Test func textAndToolUseAssembleIntoTheUnifiedResult() throws {
        let response = assemble(try run([ConverseStreams.textAndToolUse]))
        #expect(response.id == "req-1")
        #expect(response.model == "anthropic.claude-3-haiku-20240307-v1:0")
        #expect(response.text == "Let me check the weather.")
        #expect(response.finishReason == .toolCalls && response.providerFinishReason == "tool_use")
        #expect(response.usage == Usage(inputTokens: 412, outputTokens: 71, totalTokens: 483, source: .provider))
        let call = try #require(response.toolCalls.first)
        #expect(response.toolCalls.count == 1)
        #expect(call.id == "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q")
        #expect(call.name == "get_weather")
        let arguments = try JSONDocument(parsing: call.argumentsJSON).root
        #expect(arguments.count == 2)
        #expect(arguments["city"].string == "Paris")
        #expect(arguments["unit"].string == "celsius")
    }

    @Test func reasoningAndCacheUsage() throws {
        let response = assemble(try run([ConverseStreams.reasoningWithCache]))
        #expect(response.reasoning == "The user greets me.")
        #expect(response.text == "Hello!")
        #expect(response.toolCalls.isEmpty)
        #expect(response.finishReason == .stop && response.providerFinishReason == "end_turn")
        // inputTokens (12) excludes the cache; the unified count includes it: 12 + 2100 + 22.
        #expect(
            response.usage
                == Usage(
                    inputTokens: 2134, outputTokens: 30, cachedInputTokens: 2100, cacheWriteInputTokens: 22,
                    totalTokens: 2164, source: .provider))
    }

    @Test(arguments: [ConverseStreams.textAndToolUse, ConverseStreams.reasoningWithCache])
    func sameEventsAtEverySplit(_ stream: [UInt8]) throws {
        let whole = try run([stream])
        #expect(try run(stream.map { [$0] }) == whole)
        for split in 0...stream.count {
            #expect(try run([Array(stream[..<split]), Array(stream[split...])]) == whole, "split at \(split)")
        }
    }

    // MARK: Truncation

    @Test func everyCutIsTruncated() throws {
        let stream = ConverseStreams.textAndToolUse
        for cut in 0..<stream.count {
            let error = thrownGatewayError { _ = try run([Array(stream[..<cut])]) }
            #expect(error?.code == .unavailable, "cut at \(cut)")
            #expect(error?.detail.kind == .upstreamTruncated, "cut at \(cut)")
        }
    }

    @Test func messageStopWithoutMetadataIsTruncated() throws {
        let stream = ConverseStreams.textAndToolUse
        let metadataStart = stream.count
            - EventStreamFrames.event(
                "metadata",
                #"{"metrics":{"latencyMs":1234},"p":"abc","usage":{"inputTokens":412,"outputTokens":71,"totalTokens":483}}"#
            ).count
        let error = thrownGatewayError { _ = try run([Array(stream[..<metadataStart])]) }
        #expect(error?.detail.kind == .upstreamTruncated)
        #expect(error?.detail.retryable == true)
        #expect(error?.message == "provider \"bedrock\" ended the stream after messageStop but before metadata (usage)")
        let midMessage = thrownGatewayError { _ = try run([Array(stream[..<(metadataStart + 20)])]) }
        #expect(midMessage?.message.hasSuffix("(in the middle of a message)") == true)
    }

    @Test func metadataWithoutUsageEndsTheStreamWithoutUsage() throws {
        let stream =
            EventStreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#)
            + EventStreamFrames.event("messageStop", #"{"stopReason":"max_tokens"}"#)
            + EventStreamFrames.event("metadata", #"{"metrics":{"latencyMs":3}}"#)
        let response = assemble(try run([stream]))
        #expect(response.text == "Hi")
        #expect(response.finishReason == .length && response.providerFinishReason == "max_tokens")
        #expect(response.usage == .notReported)
    }

    @Test func bytesAfterTheEndAreIgnored() throws {
        let stream = ConverseStreams.reasoningWithCache + Array("garbage".utf8)
        #expect(try run([stream]) == (try run([ConverseStreams.reasoningWithCache])))
    }

    @Test func toolCallWithoutInputGetsAnEmptyObject() throws {
        let stream =
            EventStreamFrames.event(
                "contentBlockStart", #"{"contentBlockIndex":0,"start":{"toolUse":{"name":"now","toolUseId":"t1"}}}"#)
            + EventStreamFrames.event("contentBlockStop", #"{"contentBlockIndex":0}"#)
            + EventStreamFrames.event("messageStop", #"{"stopReason":"tool_use"}"#)
            + EventStreamFrames.event("metadata", #"{"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}"#)
        #expect(assemble(try run([stream])).toolCalls == [ToolCall(id: "t1", name: "now", argumentsJSON: "{}")])
    }

    /// Stop reasons from the service model; unknown ones count as stop, the word is kept.
    @Test(arguments: [
        ("end_turn", FinishReason.stop), ("stop_sequence", .stop), ("max_tokens", .length),
        ("model_context_window_exceeded", .length), ("tool_use", .toolCalls), ("guardrail_intervened", .contentFilter),
        ("content_filtered", .contentFilter), ("malformed_model_output", .error), ("malformed_tool_use", .error),
        ("something_new", .stop),
    ])
    func stopReasons(raw: String, reason: FinishReason) {
        #expect(BedrockResponseDecoding.finishReason(raw) == reason)
    }

    // MARK: Errors

    /// In-stream exceptions carry their documented HTTP status's meaning; upstream_status
    /// stays 200 (what the HTTP response said).
    @Test(arguments: [
        ("throttlingException", #"{"message":"Too many tokens, please wait before trying again."}"#,
         StatusCode.resourceExhausted, ErrorKind.rateLimited, true),
        ("modelStreamErrorException",
         #"{"message":"The model failed","originalStatusCode":500,"originalMessage":"upstream boom"}"#,
         .unavailable, .upstreamUnavailable, true),
        ("validationException", #"{"message":"Malformed input request"}"#, .invalidArgument, .invalidRequest, false),
        ("validationException", #"{"message":"Input is too long for requested model."}"#, .invalidArgument,
         .contextLengthExceeded, false),
        ("internalServerException", #"{"message":"Internal error"}"#, .unavailable, .upstreamUnavailable, true),
        ("serviceUnavailableException", #"{"message":"Unavailable"}"#, .unavailable, .upstreamUnavailable, true),
        ("modelTimeoutException", #"{"message":"Timed out"}"#, .unavailable, .upstreamTimeout, true),
        ("someFutureException", #"{"message":"?"}"#, .unavailable, .upstreamUnavailable, true),
    ])
    func exceptionsMapToTypedErrors(
        type: String, payload: String, code: StatusCode, kind: ErrorKind, retryable: Bool
    ) throws {
        let stream =
            EventStreamFrames.event("messageStart", #"{"role":"assistant"}"#)
            + EventStreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#)
            + EventStreamFrames.exception(type, payload)
        var decoder = BedrockStreamDecoder(provider: "bedrock")
        var events: [ChatStreamEvent] = []
        let error = thrownGatewayError { try decoder.decode(stream, into: &events) }
        #expect(events.count == 2, "events before the exception are delivered")
        #expect(error?.code == code)
        #expect(error?.detail.kind == kind)
        #expect(error?.detail.retryable == retryable)
        #expect(error?.detail.provider == "bedrock")
        #expect(error?.detail.upstreamStatus == 200)
        #expect(error?.detail.upstreamCode == type)
        if type == "modelStreamErrorException" {
            #expect(error?.detail.upstreamMessage == "The model failed (upstream boom)")
        }
    }

    @Test func exceptionMessagesAreRedacted() {
        let stream = EventStreamFrames.exception(
            "validationException", #"{"message":"bad token ABSKexamplesecret123 and sk-abcdefghijklmnop"}"#)
        let error = thrownGatewayError { _ = try run([stream], secrets: ["ABSKexamplesecret123"]) }
        #expect(error?.detail.upstreamMessage == "bad token [REDACTED] and [REDACTED]")
    }

    /// botocore's `ERROR_EVENT_MESSAGE`: a generic `error` message (`:error-code` "code",
    /// `:error-message` "message").
    @Test func errorMessageVector() throws {
        let error = thrownGatewayError { _ = try run([try EventStreamVectors.named("ERROR_EVENT_MESSAGE")]) }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.kind == .upstreamUnavailable)
        #expect(error?.detail.upstreamCode == "code")
        #expect(error?.detail.upstreamMessage == "message")
    }

    /// The other vectors are not Bedrock messages (no `:message-type`) or are broken: both are
    /// UPSTREAM_MALFORMED, never success and never a truncation.
    @Test(arguments: [
        "EMPTY_MESSAGE", "INT8_HEADER", "PAYLOAD_ONE_STR_HEADER", "ALL_HEADERS_TYPES", "CORRUPTED_HEADER_LENGTH",
        "CORRUPTED_HEADERS", "CORRUPTED_LENGTH", "CORRUPTED_PAYLOAD", "DUPLICATE_HEADER", "INVALID_HEADERS_LENGTH",
    ])
    func otherVectorsAreMalformed(name: String) throws {
        let bytes = try EventStreamVectors.named(name)
        let error = thrownGatewayError { _ = try run([bytes]) }
        #expect(error?.code == .internal)
        #expect(error?.detail.kind == .upstreamMalformed)
    }

    @Test func eventPayloadThatIsNotJSONIsMalformed() {
        let error = thrownGatewayError { _ = try run([EventStreamFrames.event("contentBlockDelta", "{'foo':'bar'}")]) }
        #expect(error?.detail.kind == .upstreamMalformed)
    }
}
