import ModelGateCore
import ModelGateJSON

/// Turns the bytes of an Anthropic Messages stream (`"stream": true`: server-sent events
/// named by `event:`) into ``ChatStreamEvent``s.
///
/// - `message_start` → `.started` and the first usage (input counts, an early output count);
///   `content_block_start` / `content_block_delta` / `content_block_stop` → text, reasoning
///   and tool calls (``AnthropicMessageReader``); `message_delta` → `.finished` and the
///   cumulative usage; `ping` and event types added later are ignored.
/// - `message_stop` is the end marker: the stream is complete only once it was dispatched.
///   EOF before it, including an unterminated `message_stop` (the published SDK fixtures end
///   without the blank line after it, and an event still open at EOF is never dispatched),
///   is UNAVAILABLE / UPSTREAM_TRUNCATED.
/// - `event: error` (`{"type": "error", "error": {"type", "message"}}`) throws the mapped
///   error: `overloaded_error` is UNAVAILABLE and retryable, `rate_limit_error`
///   RESOURCE_EXHAUSTED, and so on (``AnthropicResponseDecoding/errorBody(_:)``). An event
///   that is not a JSON object is INTERNAL / UPSTREAM_MALFORMED.
/// - The event's `event:` name decides; the data's `type` stands in when a proxy dropped the
///   names.
package struct AnthropicStreamDecoder: ServerSentEventStreamDecoding {
    package let provider: String
    private let secrets: [String]
    package var events: ServerSentEventDecoder
    private var reader: AnthropicMessageReader
    /// Whether `message_stop` arrived: the only proof the stream is complete.
    package private(set) var isDone = false

    /// - Parameters:
    ///   - jsonResponseTool: the forced tool whose input is the answer's text, when the
    ///     request asked for JSON (``AnthropicRequestEncoder/jsonResponseTool(for:)``).
    ///   - secrets: values to redact from the messages of error events.
    package init(
        provider: String, jsonResponseTool: String? = nil, secrets: [String] = [],
        maxEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes
    ) {
        self.provider = provider
        self.secrets = secrets
        self.events = ServerSentEventDecoder(maxEventBytes: maxEventBytes)
        self.reader = AnthropicMessageReader(provider: provider, jsonResponseTool: jsonResponseTool, secrets: secrets)
    }

    package static let endMarker = "event: message_stop"

    package mutating func decodeEvent(_ event: ServerSentEvent, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        if event.type == "ping" { return }
        let object = try OpenAIResponseDecoding.parseObject(event.data, what: "stream event", provider: provider)
        let type = event.type == "message" ? object["type"].string ?? "" : event.type
        switch type {
        case "content_block_delta":
            try reader.blockDelta(object, into: &output)
        case "content_block_start":
            try reader.blockStarted(object, into: &output)
        case "content_block_stop":
            try reader.blockStopped(object, into: &output)
        case "message_start":
            reader.readMessage(object["message"], into: &output)
        case "message_delta":
            reader.messageDelta(object, into: &output)
        case "message_stop":
            isDone = true
        case "error":
            throw UpstreamErrorMapping.streamError(
                AnthropicResponseDecoding.errorBody(object), provider: provider, secrets: secrets)
        default:
            break  // ping without a name, and event types added after this adapter was written
        }
    }
}
