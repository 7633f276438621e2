import ModelGateCore
import ModelGateJSON

/// Turns the bytes of a Cohere v2 `/v2/chat` stream (`"stream": true`) into
/// ``ChatStreamEvent``s.
///
/// - Each SSE event's data is one JSON object discriminated by `type`: `message-start` (the
///   response id), `content-start`/`content-delta` (`text`, or `thinking` as reasoning),
///   `tool-plan-delta` (the model's plan before calling tools, relayed as reasoning),
///   `tool-call-start` (`tool_calls` is one object: id, name, arguments so far) and
///   `tool-call-delta` (argument fragments), `message-end` (finish reason and usage).
///   `content-end`, `tool-call-end`, `citation-start`, `citation-end`, `debug` and types
///   this decoder does not know are ignored.
/// - Tool calls are numbered 0, 1, … in the order they start, whatever Cohere's `index`;
///   each fragment is relayed as a delta and ``ChatStreamAssembler`` assembles the calls.
/// - The stream is complete once `message-end` arrived; nothing after it is decoded (a
///   `data: [DONE]` there is drained). EOF or `[DONE]` before it is UNAVAILABLE /
///   UPSTREAM_TRUNCATED. `message-end` with `ERROR` or `TIMEOUT` is a failure, reported after
///   its usage.
/// - An event whose data is not a JSON object, has no `type`, or continues a tool call that
///   never started is INTERNAL / UPSTREAM_MALFORMED; an object with a `message` but no
///   `type` is an error Cohere reported mid-stream.
package struct CohereStreamDecoder: ServerSentEventStreamDecoding {
    package let provider: String
    package var events: ServerSentEventDecoder
    /// The unified index of each tool call by Cohere's `index`.
    private var toolCallIndices: [Int64: UInt32] = [:]
    /// Whether `message-end` arrived: the only proof the stream is complete.
    package private(set) var isDone = false

    package init(provider: String, maxEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes) {
        self.provider = provider
        self.events = ServerSentEventDecoder(maxEventBytes: maxEventBytes)
    }

    package static let endMarker = "message-end"

    /// - Throws: UPSTREAM_TRUNCATED for `[DONE]` before `message-end`, UPSTREAM_MALFORMED for
    ///   broken events, the generation failure of `message-end`.
    package mutating func decodeEvent(_ event: ServerSentEvent, into output: inout [ChatStreamEvent])
        throws(GatewayError)
    {
        if event.dataEquals("[DONE]") {
            throw GatewayError.truncatedStream(provider: provider, "with [DONE] before message-end")
        }
        let object = try OpenAIResponseDecoding.parseObject(event.data, what: "stream event", provider: provider)
        try read(object, into: &output)
    }

    private mutating func read(_ object: JSONValue, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        guard let type = object["type"].string else {
            if object["message"].kind == .string {
                throw UpstreamErrorMapping.streamError(UpstreamErrorBody(object), provider: provider)
            }
            throw OpenAIResponseDecoding.malformed("a stream event without a type", provider: provider)
        }
        let message = object["delta"]["message"]
        switch type {
        case "message-start":
            output.append(.started(id: object["id"].string ?? "", model: ""))
        case "content-start", "content-delta":
            let content = message["content"]
            let delta = ChatDelta(text: content["text"].string ?? "", reasoning: content["thinking"].string ?? "")
            if !delta.isEmpty { output.append(.delta(delta)) }
        case "tool-plan-delta":
            if let plan = message["tool_plan"].string, !plan.isEmpty { output.append(.delta(ChatDelta(reasoning: plan))) }
        case "tool-call-start":
            let cohereIndex = object["index"].int64 ?? Int64(toolCallIndices.count)
            guard toolCallIndices[cohereIndex] == nil else {
                throw OpenAIResponseDecoding.malformed("a second tool-call-start for index \(cohereIndex)", provider: provider)
            }
            let index = UInt32(toolCallIndices.count)
            toolCallIndices[cohereIndex] = index
            var call = message["tool_calls"]
            if call.kind == .array { call = call[0] }
            let function = call["function"]
            output.append(
                .delta(
                    ChatDelta(toolCalls: [
                        ToolCallDelta(
                            index: index, id: call["id"].string ?? "", name: function["name"].string ?? "",
                            argumentsFragment: function["arguments"].string ?? "")
                    ])))
        case "tool-call-delta":
            let cohereIndex = object["index"].int64 ?? Int64(toolCallIndices.count - 1)
            guard let index = toolCallIndices[cohereIndex] else {
                throw OpenAIResponseDecoding.malformed(
                    "a tool-call-delta for index \(cohereIndex), which no tool-call-start opened", provider: provider)
            }
            var call = message["tool_calls"]
            if call.kind == .array { call = call[0] }
            if let fragment = call["function"]["arguments"].string, !fragment.isEmpty {
                output.append(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: index, argumentsFragment: fragment)])))
            }
        case "message-end":
            isDone = true
            let delta = object["delta"]
            try CohereResponseDecoding.readEnd(
                finishReason: delta["finish_reason"].string, usage: delta["usage"], error: delta["error"],
                provider: provider, into: &output)
        default:
            break  // content-end, tool-call-end, citations, debug, and types added later
        }
    }
}
