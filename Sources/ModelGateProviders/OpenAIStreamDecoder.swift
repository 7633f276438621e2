import ModelGateCore
import ModelGateJSON

/// Turns the bytes of an OpenAI-style chat completion stream (SSE of
/// `chat.completion.chunk` objects, ended by `data: [DONE]`) into ``ChatStreamEvent``s.
///
/// It is synchronous and does no I/O, so the adapter drives it from the network and tests
/// drive it from fixtures split at any point. Per chunk it emits, in order: `.started` (first
/// chunk with an id or choices), `.delta` (text, reasoning, tool-call fragments), `.finished` (when a
/// `finish_reason` arrives) and `.usage` (whenever a chunk carries usage; Groq's
/// `x_groq.usage` too). After `[DONE]` it ignores everything.
package struct OpenAIStreamDecoder: ServerSentEventStreamDecoding {
    package let provider: String
    package var events: ServerSentEventDecoder
    private var started = false
    /// Whether `data: [DONE]` arrived: the only proof the stream is complete.
    package private(set) var isDone = false

    package init(provider: String, maxEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes) {
        self.provider = provider
        self.events = ServerSentEventDecoder(maxEventBytes: maxEventBytes)
    }

    package static let endMarker = "data: [DONE]"

    package mutating func decodeEvent(_ event: ServerSentEvent, into output: inout [ChatStreamEvent])
        throws(GatewayError)
    {
        if event.dataEquals("[DONE]") {
            isDone = true
            return
        }
        let chunk = try OpenAIResponseDecoding.parseObject(event.data, what: "stream event", provider: provider)
        let choices = chunk["choices"]
        // Ordinary chunks carry choices; only look for an error (a lookup that scans every
        // key) in events without any.
        if choices.count == 0 || choices.kind != .array || event.type == "error" {
            if event.type == "error" || chunk["error"].isPresent || chunk["object"].isString("error") {
                throw UpstreamErrorMapping.streamError(UpstreamErrorBody(chunk), provider: provider)
            }
        }
        // Azure opens with a chunk that only carries `prompt_filter_results` (no id, no
        // choices): the response starts with the next one.
        if !started, choices.count > 0 || chunk["id"].string?.isEmpty == false {
            started = true
            output.append(.started(id: chunk["id"].string ?? "", model: chunk["model"].string ?? ""))
        }

        var finished = choices.count == 0
        let choice = OpenAIResponseDecoding.primaryChoice(choices)
        if choice.exists {
            let delta = choice["delta"]
            var text = ""
            var reasoning = ""
            var toolCalls: [ToolCallDelta] = []
            // A delta usually has one member (`content`); stop looking once every member is
            // accounted for, since each miss scans all of them.
            var unread = delta.count
            OpenAIResponseDecoding.appendContent(
                Self.take("content", from: delta, unread: &unread), text: &text, reasoning: &reasoning)
            if let thinking = Self.take("reasoning_content", from: delta, unread: &unread).string
                ?? Self.take("reasoning", from: delta, unread: &unread).string
            {
                reasoning += thinking
            }
            if let refusal = Self.take("refusal", from: delta, unread: &unread).string { text += refusal }
            for (position, call) in Self.take("tool_calls", from: delta, unread: &unread).elements.enumerated() {
                let function = call["function"]
                toolCalls.append(
                    ToolCallDelta(
                        index: UInt32(clamping: call["index"].int ?? position),
                        id: call["id"].string ?? "",
                        name: function["name"].string ?? "",
                        argumentsFragment: OpenAIResponseDecoding.arguments(function["arguments"])))
            }
            let chatDelta = ChatDelta(text: text, reasoning: reasoning, toolCalls: toolCalls)
            if !chatDelta.isEmpty { output.append(.delta(chatDelta)) }

            if let reason = choice["finish_reason"].string, !reason.isEmpty {
                output.append(.finished(OpenAIResponseDecoding.finishReason(reason), providerReason: reason))
                finished = true
            }
        }
        if let usage = OpenAIResponseDecoding.usage(chunk["usage"]) {
            output.append(.usage(usage))
        } else if finished, let usage = OpenAIResponseDecoding.usage(chunk["x_groq"]["usage"]) {
            // Groq reports usage in `x_groq` on the last chunk (the one with the finish reason).
            output.append(.usage(usage))
        }
    }

    /// `object[key]`, skipping the lookup once all `unread` members were found.
    private static func take(_ key: String, from object: JSONValue, unread: inout Int) -> JSONValue {
        guard unread > 0 else { return .missing }
        let value = object[key]
        if value.exists { unread -= 1 }
        return value
    }
}
