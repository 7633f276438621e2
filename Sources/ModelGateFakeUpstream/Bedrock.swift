import NIOCore
import NIOHTTP1

/// AWS Bedrock Runtime: `POST …/model/{modelId}/converse`, `/converse-stream` and `/invoke`
/// (Titan text embeddings). Signatures are not verified; the request log keeps the
/// `Authorization` header for tests to check.
enum BedrockRoute {
    case converse
    case converseStream
    case invoke

    /// The route and the %-decoded model id of a Bedrock path, if it is one.
    static func parse(_ path: Substring) -> (route: BedrockRoute, model: String)? {
        guard let range = path.firstRange(of: "/model/") else { return nil }
        let rest = path[range.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let route: BedrockRoute
        switch rest[rest.index(after: slash)...] {
        case "converse": route = .converse
        case "converse-stream": route = .converseStream
        case "invoke": route = .invoke
        default: return nil
        }
        guard let model = percentDecode(rest[..<slash]), !model.isEmpty else { return nil }
        return (route, model)
    }
}

/// `{"KEY": "VALUE"}`: the error bodies of Bedrock (`message`) and KServe (`error`).
func oneMemberObject(_ key: StaticString, _ value: String, allocator: ByteBufferAllocator) -> ByteBuffer {
    var buffer = allocator.buffer(capacity: 16 + value.utf8.count)
    buffer.writeStaticString("{\"")
    buffer.writeStaticString(key)
    buffer.writeStaticString("\":")
    buffer.writeJSONString(value)
    buffer.writeStaticString("}")
    return buffer
}

/// Bedrock-shaped error bodies: `{"message": …}` with the type in `x-amzn-ErrorType`.
struct BedrockError {
    var type: String
    var message: String

    /// The exception Bedrock documents for `status`.
    static func defaults(forStatus status: Int) -> BedrockError {
        switch status {
        case 400: BedrockError(type: "ValidationException", message: "Malformed input request, please reformat your input and try again.")
        case 403: BedrockError(type: "AccessDeniedException", message: "You don't have access to the model with the specified model ID.")
        case 404:
            BedrockError(
                type: "ResourceNotFoundException",
                message: "Could not resolve the foundation model from the provided model identifier.")
        case 408: BedrockError(type: "ModelTimeoutException", message: "Model has timed out in processing the request.")
        case 424: BedrockError(type: "ModelErrorException", message: "The model failed to process the request.")
        case 429: BedrockError(type: "ThrottlingException", message: "Too many requests, please wait before trying again.")
        case 503: BedrockError(type: "ServiceUnavailableException", message: "Bedrock is unable to process your request.")
        default: BedrockError(type: "InternalServerException", message: "The server encountered an internal error.")
        }
    }

    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        oneMemberObject("message", message, allocator: allocator)
    }

    var header: (String, String) {
        ("x-amzn-ErrorType", "\(type):http://internal.amazon.com/coral/com.amazon.bedrock/")
    }
}

extension ServerCore {
    /// Plans the answer to a Bedrock request (the scenario is already parsed and no replay or
    /// `status` applies).
    func planBedrock(
        route: BedrockRoute, model: String, scenario: Scenario, fields: RequestFields, seq: Int, baseHead: ResponseHead,
        preamble: Preamble, streamFraming: BodyFraming, allocator: ByteBufferAllocator
    ) -> PlannedResponse {
        var head = baseHead
        head.status = 200
        head.extraHeaders.append(("x-amzn-RequestId", "fake-request-\(seq)"))
        var preamble = preamble
        switch route {
        case .converseStream:
            head.contentType = "application/vnd.amazon.eventstream"
            head.framing = streamFraming
            var closesConnection = false
            if case .closeDelimited = streamFraming {
                head.close = true
                closesConnection = true
            }
            preamble.resetBeforeHeaders = scenario.resetAfter == 0
            let faults = StreamFaults(
                resetAfter: scenario.resetAfter, stallAfter: scenario.stallAfter, malformedAfter: scenario.malformedAfter,
                errorEventAfter: scenario.errorEventAfter, noDone: scenario.noDone)
            let parameters = ConverseStreamProducer.Parameters(
                tokens: scenario.tokens, paceMilliseconds: scenario.paceMilliseconds, includeUsage: scenario.usage,
                promptTokens: fields.promptWords, toolCall: scenario.toolCall, faults: faults,
                exceptionType: scenario.errorType ?? "internalServerException",
                exceptionMessage: scenario.errorMessage ?? "The server encountered an internal error.")
            return PlannedResponse(
                seq: seq, producer: ConverseStreamProducer(head: head, parameters: parameters),
                preamble: preamble, closesConnection: closesConnection)
        case .converse:
            preamble.resetBeforeHeaders = scenario.resetAfter != nil
            preamble.headerDelayMilliseconds =
                scenario.firstMilliseconds + scenario.paceMilliseconds * max(scenario.tokens - 1, 0)
            let body = scenario.malformedAfter != nil
                ? Self.malformedBody(allocator: allocator)
                : Self.converseBody(scenario: scenario, promptTokens: fields.promptWords, allocator: allocator)
            return PlannedResponse(
                seq: seq, producer: FixedResponse(head: head, body: body, stallAfterHead: scenario.stallAfter != nil),
                preamble: preamble)
        case .invoke:
            preamble.resetBeforeHeaders = scenario.resetAfter != nil
            guard let words = fields.inputTextWords else {
                var errorHead = head
                errorHead.status = 400
                let error = BedrockError(type: "ValidationException", message: "Malformed input request: inputText is required")
                errorHead.extraHeaders.append(error.header)
                return PlannedResponse(
                    seq: seq, producer: FixedResponse(head: errorHead, body: error.body(allocator: allocator)),
                    preamble: preamble)
            }
            let dimensions = min(max(fields.dimensions ?? 8, 1), Self.maxEmbeddingDimensions)
            let body = Self.titanBody(words: words, dimensions: dimensions, allocator: allocator)
            return PlannedResponse(
                seq: seq, producer: FixedResponse(head: head, body: body, stallAfterHead: scenario.stallAfter != nil),
                preamble: preamble)
        }
    }

    /// A unary Converse answer: the tokens as one text block (and the tool call), usage.
    static func converseBody(scenario: Scenario, promptTokens: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256 + scenario.tokens * 8)
        buffer.writeStaticString("{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"")
        if scenario.tokens > 0 {
            for index in 1...scenario.tokens {
                buffer.writeStaticString("tok")
                buffer.writeDecimal(index)
                buffer.writeInteger(UInt8(ascii: " "))
            }
        }
        buffer.writeStaticString("\"}")
        if scenario.toolCall {
            buffer.writeStaticString(
                ",{\"toolUse\":{\"toolUseId\":\"tooluse_fake\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}}")
        }
        buffer.writeStaticString("]}},\"stopReason\":\"")
        buffer.writeString(scenario.toolCall ? "tool_use" : "end_turn")
        buffer.writeStaticString("\"")
        if scenario.usage {
            buffer.writeStaticString(",\"usage\":{\"inputTokens\":")
            buffer.writeDecimal(promptTokens)
            buffer.writeStaticString(",\"outputTokens\":")
            buffer.writeDecimal(scenario.tokens)
            buffer.writeStaticString(",\"totalTokens\":")
            buffer.writeDecimal(promptTokens + scenario.tokens)
            buffer.writeStaticString("}")
        }
        buffer.writeStaticString(",\"metrics\":{\"latencyMs\":1}}")
        return buffer
    }

    /// A Titan text embedding: element `j` of an input of W words is `W * (j + 1) / 1000`.
    static func titanBody(words: Int, dimensions: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64 + dimensions * 8)
        buffer.writeStaticString("{\"embedding\":[")
        for element in 0..<dimensions {
            if element > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeThousandths(words * (element + 1))
        }
        buffer.writeStaticString("],\"inputTextTokenCount\":")
        buffer.writeDecimal(words)
        buffer.writeStaticString("}")
        return buffer
    }
}

/// Generates a ConverseStream answer: `messageStart`, one `contentBlockDelta` per token
/// (`tok{i} `, block 0, without a `contentBlockStart`, as Bedrock does for text), then
/// `contentBlockStop`, optionally a tool-use block, `messageStop` and `metadata` with usage.
/// Every payload carries a `p` padding member, as Bedrock's do. Faults count tokens:
/// `error_event_after` sends an exception message and ends the body, `malformed_after` a frame
/// with a wrong CRC, `no_done` leaves out `metadata`.
final class ConverseStreamProducer: ResponseProducer {
    struct Parameters {
        var tokens: Int
        var paceMilliseconds: Int
        var includeUsage: Bool
        var promptTokens: Int
        var toolCall: Bool
        var faults: StreamFaults
        var exceptionType: String
        var exceptionMessage: String
    }

    private enum Phase {
        case head
        case afterToken(Int)
        case sleeping(Int)
        case token(Int)
        case tail
        case ending(StreamEnding)
    }

    private static let padding: StaticString = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

    private let head: ResponseHead
    private let framing: BodyFraming
    private let parameters: Parameters
    private let faults: StreamFaults
    private let pace: TimeAmount
    private var phase = Phase.head
    private var events = 0
    private(set) var status: Int?
    private(set) var bodyBytes = 0
    let finalOutcome = FakeUpstreamOutcome.completed

    init(head: ResponseHead, parameters: Parameters) {
        self.head = head
        self.framing = head.framing
        self.parameters = parameters
        self.faults = parameters.faults.clamped(to: parameters.tokens)
        self.pace = .milliseconds(Int64(parameters.paceMilliseconds))
    }

    func next(allocator: ByteBufferAllocator, base: NIODeadline) -> ResponseStep {
        var out = allocator.buffer(capacity: 512)
        while true {
            switch phase {
            case .head:
                status = head.status
                head.write(into: &out)
                writeEvent("messageStart", into: &out, allocator: allocator) { $0.writeStaticString("\"role\":\"assistant\"") }
                phase = .afterToken(0)

            case .afterToken(let count):
                if count == faults.resetAfter {
                    phase = .ending(.reset)
                    continue
                }
                if count == faults.stallAfter {
                    phase = .ending(.stall)
                    continue
                }
                if count == faults.errorEventAfter {
                    write(
                        EventStreamWire.exception(
                            parameters.exceptionType, message: parameters.exceptionMessage, allocator: allocator),
                        into: &out)
                    BodyWriter.finish(framing: framing, into: &out)
                    phase = .ending(.done)
                    return .finish(out)
                }
                if count == faults.malformedAfter {
                    writeEvent("contentBlockDelta", into: &out, allocator: allocator, corrupt: true) {
                        $0.writeStaticString("\"contentBlockIndex\":0,\"delta\":{\"text\":\"?\"}")
                    }
                }
                if count >= parameters.tokens {
                    phase = .tail
                } else if parameters.paceMilliseconds > 0 && count >= 1 {
                    phase = .sleeping(count + 1)
                } else {
                    phase = .token(count + 1)
                }

            case .sleeping(let index):
                if out.readableBytes > 0 {
                    return .write(out, flush: false)
                }
                phase = .token(index)
                return .sleep(until: base + pace * Int64(index - 1))

            case .token(let index):
                writeEvent("contentBlockDelta", into: &out, allocator: allocator) { payload in
                    payload.writeStaticString("\"contentBlockIndex\":0,\"delta\":{\"text\":\"tok")
                    payload.writeDecimal(index)
                    payload.writeStaticString(" \"}")
                }
                phase = .afterToken(index)

            case .tail:
                writeTail(into: &out, allocator: allocator)
                BodyWriter.finish(framing: framing, into: &out)
                phase = .ending(.done)
                return .finish(out)

            case .ending(var ending):
                let step = ending.step(flushing: out)
                phase = .ending(ending)
                return step
            }
        }
    }

    private func writeTail(into out: inout ByteBuffer, allocator: ByteBufferAllocator) {
        var toolBlock = 0
        if parameters.tokens > 0 {
            writeEvent("contentBlockStop", into: &out, allocator: allocator) {
                $0.writeStaticString("\"contentBlockIndex\":0")
            }
            toolBlock = 1
        }
        if parameters.toolCall {
            writeEvent("contentBlockStart", into: &out, allocator: allocator) { payload in
                payload.writeStaticString("\"contentBlockIndex\":")
                payload.writeDecimal(toolBlock)
                payload.writeStaticString(",\"start\":{\"toolUse\":{\"toolUseId\":\"tooluse_fake\",\"name\":\"get_weather\"}}")
            }
            for fragment: StaticString in ["{\\\"city\\\":", "\\\"Paris\\\"}"] {
                writeEvent("contentBlockDelta", into: &out, allocator: allocator) { payload in
                    payload.writeStaticString("\"contentBlockIndex\":")
                    payload.writeDecimal(toolBlock)
                    payload.writeStaticString(",\"delta\":{\"toolUse\":{\"input\":\"")
                    payload.writeStaticString(fragment)
                    payload.writeStaticString("\"}}")
                }
            }
            writeEvent("contentBlockStop", into: &out, allocator: allocator) { payload in
                payload.writeStaticString("\"contentBlockIndex\":")
                payload.writeDecimal(toolBlock)
            }
        }
        let reason: StaticString = parameters.toolCall ? "tool_use" : "end_turn"
        writeEvent("messageStop", into: &out, allocator: allocator) { payload in
            payload.writeStaticString("\"stopReason\":\"")
            payload.writeStaticString(reason)
            payload.writeStaticString("\"")
        }
        guard !faults.noDone else { return }
        let prompt = parameters.promptTokens
        let completion = parameters.tokens
        let usage = parameters.includeUsage
        writeEvent("metadata", into: &out, allocator: allocator) { payload in
            if usage {
                payload.writeStaticString("\"usage\":{\"inputTokens\":")
                payload.writeDecimal(prompt)
                payload.writeStaticString(",\"outputTokens\":")
                payload.writeDecimal(completion)
                payload.writeStaticString(",\"totalTokens\":")
                payload.writeDecimal(prompt + completion)
                payload.writeStaticString("},")
            }
            payload.writeStaticString("\"metrics\":{\"latencyMs\":1}")
        }
    }

    /// One event whose JSON payload is `{` + members + `,"p":"…"}`.
    private func writeEvent(
        _ type: String, into out: inout ByteBuffer, allocator: ByteBufferAllocator, corrupt: Bool = false,
        _ members: (inout ByteBuffer) -> Void
    ) {
        var payload = allocator.buffer(capacity: 128)
        payload.writeInteger(UInt8(ascii: "{"))
        members(&payload)
        payload.writeStaticString(",\"p\":\"")
        events += 1
        let paddingLength = events % Self.padding.utf8CodeUnitCount + 1
        payload.writeBytes(UnsafeRawBufferPointer(start: Self.padding.utf8Start, count: paddingLength))
        payload.writeStaticString("\"}")
        write(EventStreamWire.event(type, json: payload, allocator: allocator, corruptChecksum: corrupt), into: &out)
    }

    private func write(_ message: ByteBuffer, into out: inout ByteBuffer) {
        bodyBytes += message.readableBytes
        BodyWriter.piece(message, framing: framing, into: &out)
    }
}
