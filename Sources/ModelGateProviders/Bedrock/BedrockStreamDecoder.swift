import ModelGateCore
import ModelGateJSON

/// Turns the bytes of a Bedrock ConverseStream response (`application/vnd.amazon.eventstream`)
/// into ``ChatStreamEvent``s.
///
/// Events (`:message-type` `event`, named by `:event-type`, JSON payload carrying a junk `p`
/// padding member that is ignored like every unknown member):
/// - `messageStart {role}` → `.started` (the response id is the HTTP `x-amzn-RequestId`);
/// - `contentBlockStart {contentBlockIndex, start: {toolUse: {toolUseId, name}}}` → a tool-call
///   delta with id and name. Text blocks usually have no start event;
/// - `contentBlockDelta {contentBlockIndex, delta: {text} | {toolUse: {input}} |
///   {reasoningContent: {text}}}` → text, argument fragments, reasoning;
/// - `contentBlockStop {contentBlockIndex}` → for a tool call that received no input fragment,
///   the fragment `{}` (a call without arguments still has an arguments object);
/// - `messageStop {stopReason}` → `.finished`;
/// - `metadata {usage, metrics}` → `.usage`.
///
/// Tool calls are numbered 0, 1, … in the order their blocks appear, whatever their
/// `contentBlockIndex` (text blocks take indices too). The stream is complete only when both
/// `messageStop` and `metadata` arrived; an `exception` or `error` message throws the mapped
/// error; a framing or CRC error, or a message without `:message-type`, is UPSTREAM_MALFORMED.
package struct BedrockStreamDecoder: Sendable {
    package let provider: String
    private let responseID: String
    private let secrets: [String]
    private var frames: AWSEventStreamDecoder
    private var started = false
    private var sawMessageStop = false
    private var sawMetadata = false
    /// contentBlockIndex → tool-call number, for blocks that are tool calls.
    private var toolCallNumbers: [Int: UInt32] = [:]
    /// Tool-call blocks that received at least one input fragment.
    private var toolCallsWithInput: Set<Int> = []

    /// - Parameters:
    ///   - responseID: the response's `x-amzn-RequestId`, reported as the response id.
    ///   - secrets: values to redact from provider error messages.
    package init(
        provider: String, responseID: String = "", secrets: [String] = [],
        maxMessageBytes: Int = AWSEventStreamDecoder.defaultMaxMessageBytes
    ) {
        self.provider = provider
        self.responseID = responseID
        self.secrets = secrets
        self.frames = AWSEventStreamDecoder(maxMessageBytes: maxMessageBytes)
    }

    /// Whether `messageStop` and `metadata` both arrived: the only proof the stream is complete.
    package var isDone: Bool { sawMessageStop && sawMetadata }

    /// Decodes the messages completed by `bytes`, appending what they mean to `output`.
    /// - Throws: ``GatewayError``: the mapped error for an exception or error message,
    ///   UPSTREAM_MALFORMED for bad framing or a payload that is not a JSON object.
    package mutating func decode(_ bytes: [UInt8], into output: inout [ChatStreamEvent]) throws(GatewayError) {
        guard !isDone else { return }
        frames.append(bytes)
        while !isDone {
            let frame: Frame?
            do {
                frame = try frames.nextMessage(Frame.init)
            } catch {
                throw BedrockResponseDecoding.malformed("a broken event-stream frame (\(error))", provider: provider)
            }
            guard let frame else { return }
            try decodeFrame(frame, into: &output)
        }
    }

    /// The body ended.
    /// - Throws: UNAVAILABLE / UPSTREAM_TRUNCATED unless `messageStop` and `metadata` arrived.
    package func finish() throws(GatewayError) {
        guard !isDone else { return }
        let missing =
            sawMessageStop
            ? "after messageStop but before metadata (usage)"
            : sawMetadata ? "after metadata but before messageStop" : "before messageStop"
        let pending = frames.hasPartialMessage ? " (in the middle of a message)" : ""
        throw GatewayError(
            code: .unavailable,
            message: "provider \"\(provider)\" ended the stream \(missing)\(pending)",
            detail: ErrorDetail(kind: .upstreamTruncated, retryable: true, provider: provider, upstreamStatus: 200))
    }

    /// What a message says, taken out of the decoder's buffer: known names are matched as
    /// bytes, so the common events cost no String, and the payload is parsed straight from
    /// the buffer.
    private enum Frame {
        case event(EventType, Result<JSONDocument, JSONParseError>)
        case exception(type: String, payload: [UInt8])
        case error(code: String, message: String)
        case unexpected(String)

        enum EventType {
            case messageStart, contentBlockStart, contentBlockDelta, contentBlockStop, messageStop, metadata
            case other(String)
        }

        init(_ message: AWSEventStreamMessageView) {
            guard let messageType = message.stringValue(":message-type") else {
                self = .unexpected("an event-stream message with no \":message-type\" header")
                return
            }
            if Self.equal(messageType, "exception") {
                self = .exception(type: message.string(":exception-type") ?? "", payload: Array(message.payload))
                return
            }
            if Self.equal(messageType, "error") {
                self = .error(code: message.string(":error-code") ?? "", message: message.string(":error-message") ?? "")
                return
            }
            guard Self.equal(messageType, "event") else {
                let text = String(decoding: messageType, as: UTF8.self)
                self = .unexpected("an event-stream message with \":message-type\" \"\(text)\"")
                return
            }
            guard let name = message.stringValue(":event-type") else {
                self = .unexpected("an event without \":event-type\"")
                return
            }
            let type: EventType =
                if Self.equal(name, "contentBlockDelta") {
                    .contentBlockDelta
                } else if Self.equal(name, "contentBlockStart") {
                    .contentBlockStart
                } else if Self.equal(name, "contentBlockStop") {
                    .contentBlockStop
                } else if Self.equal(name, "messageStart") {
                    .messageStart
                } else if Self.equal(name, "messageStop") {
                    .messageStop
                } else if Self.equal(name, "metadata") {
                    .metadata
                } else {
                    .other(String(decoding: name, as: UTF8.self))
                }
            self = .event(type, Result { () throws(JSONParseError) in try JSONDocument(parsing: message.payload) })
        }

        private static func equal(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
            AWSEventStreamMessageView.equal(bytes, UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
    }

    private mutating func decodeFrame(_ frame: Frame, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        let type: Frame.EventType
        let event: JSONValue
        switch frame {
        case .exception(let exceptionType, let payload):
            throw BedrockResponseDecoding.streamException(
                type: exceptionType, payload: payload, provider: provider, secrets: secrets)
        case .error(let code, let message):
            throw BedrockResponseDecoding.streamError(code: code, message: message, provider: provider, secrets: secrets)
        case .unexpected(let what):
            throw BedrockResponseDecoding.malformed(what, provider: provider)
        case .event(let eventType, let parsed):
            type = eventType
            switch parsed {
            case .success(let document) where document.root.kind == .object:
                event = document.root
            case .success:
                throw BedrockResponseDecoding.malformed("an event payload that is not a JSON object", provider: provider)
            case .failure(let error):
                throw BedrockResponseDecoding.malformed("an unparseable event payload (\(error))", provider: provider)
            }
        }
        if !started {
            started = true
            output.append(.started(id: responseID, model: ""))
        }
        switch type {
        case .messageStart:
            break
        case .contentBlockStart:
            let block = event["contentBlockIndex"].int ?? 0
            let toolUse = event["start"]["toolUse"]
            if toolUse.kind == .object {
                let number = toolCallNumber(block)
                output.append(
                    .delta(
                        ChatDelta(toolCalls: [
                            ToolCallDelta(
                                index: number, id: toolUse["toolUseId"].string ?? "", name: toolUse["name"].string ?? "")
                        ])))
            }
        case .contentBlockDelta:
            let block = event["contentBlockIndex"].int ?? 0
            let delta = event["delta"]
            if let text = delta["text"].string {
                if !text.isEmpty { output.append(.delta(ChatDelta(text: text))) }
            } else if let input = delta["toolUse"]["input"].string {
                // Bedrock often opens a tool call with an empty fragment; it carries nothing.
                guard !input.isEmpty else { break }
                toolCallsWithInput.insert(block)
                output.append(
                    .delta(
                        ChatDelta(toolCalls: [ToolCallDelta(index: toolCallNumber(block), argumentsFragment: input)])))
            } else if let thought = delta["reasoningContent"]["text"].string {
                if !thought.isEmpty { output.append(.delta(ChatDelta(reasoning: thought))) }
            }
            // Citations, reasoning signatures and redacted reasoning have no unified field.
        case .contentBlockStop:
            let block = event["contentBlockIndex"].int ?? 0
            if let number = toolCallNumbers[block], !toolCallsWithInput.contains(block) {
                toolCallsWithInput.insert(block)
                output.append(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: number, argumentsFragment: "{}")])))
            }
        case .messageStop:
            sawMessageStop = true
            let reason = event["stopReason"].string ?? ""
            if !reason.isEmpty {
                output.append(.finished(BedrockResponseDecoding.finishReason(reason), providerReason: reason))
            }
        case .metadata:
            sawMetadata = true
            if let usage = BedrockResponseDecoding.usage(event["usage"]) {
                output.append(.usage(usage))
            }
        case .other:
            break  // event types added after this adapter was written
        }
    }

    private mutating func toolCallNumber(_ block: Int) -> UInt32 {
        if let number = toolCallNumbers[block] { return number }
        let number = UInt32(toolCallNumbers.count)
        toolCallNumbers[block] = number
        return number
    }
}
