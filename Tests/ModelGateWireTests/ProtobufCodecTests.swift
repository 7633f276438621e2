import ModelGateCore
import NIOCore
import ModelGateTestSupport
import Testing

@testable import ModelGateWire

private func singleFrame(_ name: String, expectsMagic: Bool = false) throws -> Frame {
    let vector = try ProtocolVector.load(name)
    var decoder = FrameDecoder(expectsMagic: expectsMagic, maxFrameSize: WireProtocol.defaultMaxFrameSize)
    var buffer = ByteBuffer(bytes: vector.bytes)
    return try #require(try decoder.decode(buffer: &buffer))
}

/// Encodes `message` as a frame and returns the bytes, to compare with a vector.
private func encodeFrame<M: WireMessage>(
    _ type: FrameType, flags: FrameFlags = [], streamID: UInt32, _ message: M
) -> [UInt8] {
    var buffer = ByteBuffer()
    WireCodec().writeFrame(type, flags: flags, streamID: streamID, message, into: &buffer)
    return Array(buffer.readableBytesView)
}

@Suite("protobuf-c codec against the protocol vectors")
struct ProtobufCodecTests {
    let codec = WireCodec()

    @Test func clientPreface() throws {
        let frame = try singleFrame("preface-client", expectsMagic: true)
        let hello = try codec.decode(HelloMessage.self, frame.payload)
        #expect(hello == HelloMessage(version: 1, agent: "vector-client/1", settings: WireSettings(initialWindowSize: 65536)))
        let vector = try ProtocolVector.load("preface-client")
        #expect(WireProtocol.magic + encodeFrame(.hello, streamID: 0, hello) == vector.bytes)
    }

    @Test func serverHello() throws {
        let expected = HelloMessage(
            version: 1, agent: "modelgate/0.1.0",
            settings: WireSettings(maxFrameSize: 4_194_304, maxConcurrentStreams: 100, initialWindowSize: 262_144))
        #expect(try codec.decode(HelloMessage.self, singleFrame("hello-server").payload) == expected)
        #expect(encodeFrame(.hello, streamID: 0, expected) == (try ProtocolVector.load("hello-server").bytes))
    }

    @Test func callHeader() throws {
        let expected = CallHeader(
            method: "/modelgate.v1.Gateway/ChatStream", timeoutMicros: 5_000_000, metadata: ["tenant": "acme"],
            requestID: "req-1")
        #expect(try codec.decode(CallHeader.self, singleFrame("call-chat-stream").payload) == expected)
        #expect(encodeFrame(.call, streamID: 1, expected) == (try ProtocolVector.load("call-chat-stream").bytes))
    }

    @Test("temperature 0 is present, not absent")
    func chatRequest() throws {
        let expected = ChatRequest(
            model: "mock", messages: [ChatMessage(role: .user, text: "hello")], temperature: 0, maxTokens: 16)
        let frame = try singleFrame("message-chat-request")
        #expect(frame.flags == .endStream)
        let decoded = try codec.decode(ChatRequest.self, frame.payload)
        #expect(decoded == expected)
        #expect(decoded.temperature == 0)
        #expect(decoded.topP == nil)
        #expect(
            encodeFrame(.message, flags: .endStream, streamID: 1, expected)
                == (try ProtocolVector.load("message-chat-request").bytes))
    }

    @Test func chatChunks() throws {
        let first = ChatChunk(sequence: 0, text: "Hello", id: "chatcmpl-1", model: "mock-1", provider: "mock")
        #expect(try codec.decode(ChatChunk.self, singleFrame("message-chat-chunk").payload) == first)
        #expect(encodeFrame(.message, streamID: 1, first) == (try ProtocolVector.load("message-chat-chunk").bytes))

        let final = ChatChunk(
            sequence: 2, isFinal: true, finishReason: .stop, providerFinishReason: "stop",
            usage: Usage(
                inputTokens: 14, outputTokens: 30, totalTokens: 44, source: .provider, costUSD: 0, deliveredChunks: 2))
        let decoded = try codec.decode(ChatChunk.self, singleFrame("message-chat-chunk-final").payload)
        #expect(decoded == final)
        #expect(decoded.usage?.costUSD == 0, "a cost of 0 is present, not absent")
        #expect(encodeFrame(.message, streamID: 1, final) == (try ProtocolVector.load("message-chat-chunk-final").bytes))
    }

    @Test func endStatuses() throws {
        #expect(try codec.decode(EndStatus.self, singleFrame("end-ok").payload) == .ok)
        #expect(encodeFrame(.end, streamID: 1, EndStatus.ok) == (try ProtocolVector.load("end-ok").bytes))

        let limited = EndStatus(
            code: .resourceExhausted, message: "upstream rate limited",
            detail: ErrorDetail(
                kind: .rateLimited, retryable: true, retryAfterMilliseconds: 2000, provider: "openai",
                upstreamStatus: 429, upstreamCode: "rate_limit_exceeded", requestID: "req-3"))
        #expect(try codec.decode(EndStatus.self, singleFrame("end-rate-limited").payload) == limited)
        #expect(encodeFrame(.end, streamID: 3, limited) == (try ProtocolVector.load("end-rate-limited").bytes))
    }

    @Test func goAway() throws {
        let drain = GoAwayMessage(lastStreamID: 7, code: .noError, reason: "server shutting down")
        #expect(try codec.decode(GoAwayMessage.self, singleFrame("goaway-drain").payload) == drain)
        #expect(encodeFrame(.goAway, streamID: 0, drain) == (try ProtocolVector.load("goaway-drain").bytes))
    }

    @Test func invalidProtobufIsADecodingError() throws {
        let vector = try ProtocolVector.load("invalid-protobuf")
        var decoder = FrameDecoder(expectsMagic: false, maxFrameSize: WireProtocol.defaultMaxFrameSize)
        var buffer = ByteBuffer(bytes: vector.bytes)
        _ = try decoder.decode(buffer: &buffer)
        let message = try #require(try decoder.decode(buffer: &buffer))
        #expect(throws: WireDecodingError("payload is not a valid modelgate.v1.ChatRequest message")) {
            try codec.decode(ChatRequest.self, message.payload)
        }
    }

    @Test func invalidUTF8IsADecodingError() throws {
        let vector = try ProtocolVector.load("invalid-utf8")
        var decoder = FrameDecoder(expectsMagic: false, maxFrameSize: WireProtocol.defaultMaxFrameSize)
        var buffer = ByteBuffer(bytes: vector.bytes)
        _ = try decoder.decode(buffer: &buffer)
        let message = try #require(try decoder.decode(buffer: &buffer))
        #expect(throws: WireDecodingError("field parts.text is not valid UTF-8")) {
            try codec.decode(ChatRequest.self, message.payload)
        }
    }

    @Test("strings keep embedded NULs on decode")
    func embeddedNUL() throws {
        // ChatRequest{model: "a\0b"} by hand: field 1, length 3.
        let payload = ByteBuffer(bytes: [0x0A, 0x03, 0x61, 0x00, 0x62])
        #expect(try codec.decode(ChatRequest.self, payload).model == "a\u{0}b")
    }

    @Test("every request and response type round-trips")
    func roundTrips() throws {
        let request = ChatRequest(
            model: "gpt", messages: [
                ChatMessage(role: .system, text: "be brief"),
                ChatMessage(role: .user, parts: [.text(""), .imageURL(url: "https://x/y.png", detail: "low"),
                    .imageData(bytes: [1, 2, 3], mimeType: "image/png")]),
                ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "c1", name: "f", argumentsJSON: "{}"))]),
                ChatMessage(role: .tool, parts: [.toolResult(ToolResult(toolCallID: "c1", content: "42", isError: true))]),
            ],
            tools: [ToolDefinition(name: "f", description: "d", parametersJSON: "{\"type\":\"object\"}", strict: true)],
            toolChoice: .function("f"), responseFormat: .jsonSchema(name: "s", schemaJSON: "{}", strict: true),
            temperature: 0.5, topP: 1, maxTokens: 0, seed: -7, presencePenalty: 0, frequencyPenalty: -1, topK: 3,
            parallelToolCalls: false, stop: ["\n", "END"], user: "u", tenant: "t", priority: -2,
            metadata: ["a": "1", "b": ""], cache: CacheHint(bypass: true, ttlSeconds: 9),
            routing: RoutingHint(fallbackModels: ["m2"], preferProvider: "p"))
        #expect(try roundTrip(request) == request)

        let response = ChatResponse(
            id: "r", model: "m", provider: "p", text: "hi", reasoning: "hmm",
            toolCalls: [ToolCall(id: "1", name: "n", argumentsJSON: "{\"a\":1}")], finishReason: .toolCalls,
            providerFinishReason: "tool_calls",
            usage: Usage(inputTokens: 1, outputTokens: 2, cachedInputTokens: 3, cacheWriteInputTokens: 4,
                         reasoningTokens: 5, totalTokens: 6, source: .provider, costUSD: 0.25))
        #expect(try roundTrip(response) == response)

        let chunk = ChatChunk(sequence: 9, toolCallDeltas: [ToolCallDelta(index: 1, id: "x", name: "y", argumentsFragment: "{")])
        #expect(try roundTrip(chunk) == chunk)

        let embed = EmbedRequest(model: "e", inputs: ["a", "b"], dimensions: 4, inputType: "query", metadata: ["k": "v"])
        #expect(try roundTrip(embed) == embed)
        let embedResponse = EmbedResponse(
            embeddings: [Embedding(index: 0, values: [0.5, -1, 3.25])], model: "e", provider: "p",
            usage: Usage(inputTokens: 2, source: .provider))
        #expect(try roundTrip(embedResponse) == embedResponse)

        let predict = PredictRequest(
            model: "iris", version: "1",
            inputs: [
                Tensor(name: "x", dataType: .fp32, shape: [2, 2], values: .fp32s([1, 2, 3, 4])),
                Tensor(name: "b", dataType: .bool, shape: [2], values: .bools([true, false])),
                Tensor(name: "s", dataType: .bytes, shape: [1], values: .bytes([[104, 105]])),
                Tensor(name: "h", dataType: .fp16, shape: [1], values: .raw([0, 60])),
            ],
            outputs: ["y"], parameters: ["p": "1"], id: "i", tenant: "t")
        #expect(try roundTrip(predict) == predict)
        let predictResponse = PredictResponse(
            model: "iris", version: "1", id: "i",
            outputs: [Tensor(name: "y", dataType: .int64, shape: [2], values: .int64s([1, -2]))], provider: "kserve")
        #expect(try roundTrip(predictResponse) == predictResponse)

        let models = ListModelsResponse(models: [ModelInfo(name: "m", aliases: ["a"], kind: .chat, providers: ["p"])])
        #expect(try roundTrip(models) == models)
        let health = HealthStatus(status: .draining, version: "0.1.0", uptimeSeconds: 5)
        #expect(try roundTrip(health) == health)
    }

    private func roundTrip<M: WireMessage & Equatable>(_ message: M) throws -> M {
        var buffer = ByteBuffer()
        message.encode(into: &buffer, using: codec)
        return try codec.decode(M.self, buffer)
    }
}
