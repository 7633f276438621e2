import ModelGateCore
import ModelGateJSON

/// Turns a Responses API event stream (`POST /responses` with `"stream": true`: named SSE
/// events, no `[DONE]`) into ``ChatStreamEvent``s.
///
/// - `response.created` (the first event) → `.started` with the response id and model.
/// - `response.output_text.delta` and `response.refusal.delta` → text;
///   `response.reasoning_summary_text.delta` and `response.reasoning_text.delta` → reasoning
///   (summary parts after the first are separated by a blank line).
/// - `response.output_item.added` of a `function_call` item → a tool-call delta with its
///   `call_id` and name; `response.function_call_arguments.delta` → argument fragments of the
///   call at that `output_index`. Calls are numbered 0, 1, … in order of appearance.
/// - The `.done` events (`response.output_text.done`, `response.function_call_arguments.done`,
///   `response.output_item.done`) carry the whole text or arguments: what the deltas did not
///   deliver (a lost or elided delta) is relayed then, when the deltas were a prefix of it.
/// - `response.completed` and `response.incomplete` end the stream: usage, then the finish
///   (``OpenAIResponsesDecoding/finish(of:calledTools:)``). Only they make it a success.
/// - `response.failed` and `error` events are the mapped errors; an event that is not a JSON
///   object is UPSTREAM_MALFORMED; EOF before the end is UNAVAILABLE / UPSTREAM_TRUNCATED.
package struct OpenAIResponsesStreamDecoder: ServerSentEventStreamDecoding {
    package let provider: String
    package var events: ServerSentEventDecoder
    private var started = false
    /// Whether `response.completed` or `response.incomplete` arrived.
    package private(set) var isDone = false
    /// Function calls in order of appearance: their position is the unified call index.
    private var calls: [OutputProgress] = []
    /// Text and refusal parts, for filling gaps from their `.done` events.
    private var parts: [OutputProgress] = []

    /// What was relayed of one output (a text part or a call's arguments), keyed by where it
    /// is in the response.
    private struct OutputProgress {
        var outputIndex: Int
        var contentIndex: Int
        var itemID: String
        var delivered = ""
    }

    package init(provider: String, maxEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes) {
        self.provider = provider
        self.events = ServerSentEventDecoder(maxEventBytes: maxEventBytes)
    }

    package static let endMarker = "response.completed"

    package mutating func decodeEvent(_ event: ServerSentEvent, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        let data = try OpenAIResponseDecoding.parseObject(event.data, what: "stream event", provider: provider)
        // The SSE event name and the data's `type` agree; proxies that drop `event:` lines
        // leave only the latter.
        let type = event.type != "message" ? event.type : (data["type"].string ?? "")
        let response = data["response"]
        // `.started` may only come first: the first event (normally `response.created`)
        // starts the response if it names one.
        if !started {
            started = true
            if let id = response["id"].string {
                output.append(.started(id: id, model: response["model"].string ?? ""))
            }
        }
        switch type {
        case "response.output_text.delta", "response.refusal.delta":
            let text = data["delta"].string ?? ""
            parts[partIndex(data)].delivered += text
            if !text.isEmpty { output.append(.delta(ChatDelta(text: text))) }
        case "response.output_text.done", "response.refusal.done":
            let whole = data["text"].string ?? data["refusal"].string ?? ""
            let index = partIndex(data)
            if let rest = Self.undelivered(whole, after: &parts[index].delivered) {
                output.append(.delta(ChatDelta(text: rest)))
            }
        case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
            if let text = data["delta"].string, !text.isEmpty { output.append(.delta(ChatDelta(reasoning: text))) }
        case "response.reasoning_summary_part.added":
            if let index = data["summary_index"].int, index > 0 { output.append(.delta(ChatDelta(reasoning: "\n\n"))) }
        case "response.output_item.added", "response.output_item.done":
            let item = data["item"]
            guard item["type"].isString("function_call") else { return }
            announceCall(item, data, into: &output)
            if type == "response.output_item.done" { fillArguments(item["arguments"].string ?? "", data, into: &output) }
        case "response.function_call_arguments.delta":
            let fragment = data["delta"].string ?? ""
            let index = progressIndex(calls, data) ?? announceCall(.missing, data, into: &output)
            calls[index].delivered += fragment
            if !fragment.isEmpty {
                output.append(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: UInt32(index), argumentsFragment: fragment)])))
            }
        case "response.function_call_arguments.done":
            fillArguments(data["arguments"].string ?? "", data, into: &output)
        case "response.completed", "response.incomplete":
            if let usage = OpenAIResponsesDecoding.usage(response["usage"]) { output.append(.usage(usage)) }
            output.append(OpenAIResponsesDecoding.finish(of: response, calledTools: !calls.isEmpty))
            isDone = true
        case "response.failed":
            throw OpenAIResponsesDecoding.failure(of: response, provider: provider)
        case "error":
            if data["error"].kind == .object {
                throw UpstreamErrorMapping.streamError(UpstreamErrorBody(data), provider: provider)
            }
            throw OpenAIResponsesDecoding.errorEvent(
                code: data["code"].string ?? "", message: data["message"].string ?? "", provider: provider)
        default:
            return  // lifecycle and content-part events, built-in tools: nothing to relay
        }
    }

    /// The call for `item` (at the event's `output_index`), announced with its id and name the
    /// first time it is seen; returns its index.
    @discardableResult
    private mutating func announceCall(_ item: JSONValue, _ data: JSONValue, into output: inout [ChatStreamEvent]) -> Int {
        if let index = progressIndex(calls, data) { return index }
        calls.append(
            OutputProgress(
                outputIndex: data["output_index"].int ?? -1, contentIndex: 0,
                itemID: item["id"].string ?? data["item_id"].string ?? ""))
        let index = calls.count - 1
        let arguments = item["arguments"].string ?? ""
        calls[index].delivered = arguments
        output.append(
            .delta(
                ChatDelta(toolCalls: [
                    ToolCallDelta(
                        index: UInt32(index), id: item["call_id"].string ?? "", name: item["name"].string ?? "",
                        argumentsFragment: arguments)
                ])))
        return index
    }

    private mutating func fillArguments(_ whole: String, _ data: JSONValue, into output: inout [ChatStreamEvent]) {
        guard let index = progressIndex(calls, data), let rest = Self.undelivered(whole, after: &calls[index].delivered)
        else { return }
        output.append(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: UInt32(index), argumentsFragment: rest)])))
    }

    /// Where the output an event is about is tracked: by `output_index` (and `content_index`
    /// for text), else by `item_id`.
    private func progressIndex(_ list: [OutputProgress], _ data: JSONValue) -> Int? {
        let itemID = data["item_id"].string ?? data["item"]["id"].string
        let contentIndex = data["content_index"].int ?? 0
        if let outputIndex = data["output_index"].int {
            return list.lastIndex { $0.outputIndex == outputIndex && $0.contentIndex == contentIndex }
        }
        guard let itemID, !itemID.isEmpty else { return nil }
        return list.lastIndex { $0.itemID == itemID && $0.contentIndex == contentIndex }
    }

    /// The index in ``parts`` of the text part an event is about, tracked from its first event.
    private mutating func partIndex(_ data: JSONValue) -> Int {
        if let index = progressIndex(parts, data) { return index }
        parts.append(
            OutputProgress(
                outputIndex: data["output_index"].int ?? -1, contentIndex: data["content_index"].int ?? 0,
                itemID: data["item_id"].string ?? ""))
        return parts.count - 1
    }

    /// What of `whole` was not delivered yet, when what was delivered is a prefix of it; the
    /// delivered text becomes `whole`.
    private static func undelivered(_ whole: String, after delivered: inout String) -> String? {
        guard whole.utf8.count > delivered.utf8.count, whole.utf8.starts(with: delivered.utf8) else { return nil }
        let rest = String(whole.unicodeScalars[whole.utf8.index(whole.startIndex, offsetBy: delivered.utf8.count)...])
        delivered = whole
        return rest
    }
}
