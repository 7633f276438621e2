import ModelGateCore
import ModelGateJSON

/// Turns the bytes of an OpenAI-style chat completion stream (SSE of
/// `chat.completion.chunk` objects, ended by `data: [DONE]`) into ``ChatStreamEvent``s.
///
/// It is synchronous and does no I/O, so the adapter drives it from the network and tests
/// drive it from fixtures split at any point. Per chunk it emits, in order: `.started` (first
/// chunk only), `.delta` (text, reasoning, tool-call fragments), `.finished` (when a
/// `finish_reason` arrives) and `.usage` (whenever a chunk carries usage; Groq's
/// `x_groq.usage` too). After `[DONE]` it ignores everything.
package struct OpenAIStreamDecoder: Sendable {
    package let provider: String
    private var events: ServerSentEventDecoder
    private var started = false
    /// Whether `data: [DONE]` arrived: the only proof the stream is complete.
    package private(set) var isDone = false

    package init(provider: String, maxEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes) {
        self.provider = provider
        self.events = ServerSentEventDecoder(maxEventBytes: maxEventBytes)
    }

    /// Decodes the events completed by `bytes`, appending what they mean to `output`.
    /// - Throws: ``GatewayError``: the mapped error for an error event, UPSTREAM_MALFORMED
    ///   for an event that is not a JSON object or an oversized event.
    package mutating func decode(_ bytes: [UInt8], into output: inout [ChatStreamEvent]) throws(GatewayError) {
        guard !isDone else { return }
        events.append(bytes)
        while true {
            let event: ServerSentEvent?
            do {
                event = try events.next()
            } catch {
                throw OpenAIResponseDecoding.malformed("a stream event larger than \(error.limit) bytes", provider: provider)
            }
            guard let event else { return }
            try decodeEvent(event, into: &output)
            if isDone { return }
        }
    }

    /// The body ended.
    /// - Throws: UNAVAILABLE / UPSTREAM_TRUNCATED unless `[DONE]` arrived.
    package func finish() throws(GatewayError) {
        guard !isDone else { return }
        let pending = events.hasPartialEvent ? " (in the middle of an event)" : ""
        throw GatewayError(
            code: .unavailable,
            message: "provider \"\(provider)\" ended the stream before data: [DONE]\(pending)",
            detail: ErrorDetail(kind: .upstreamTruncated, retryable: true, provider: provider, upstreamStatus: 200))
    }

    private mutating func decodeEvent(_ event: ServerSentEvent, into output: inout [ChatStreamEvent])
        throws(GatewayError)
    {
        if event.dataEquals("[DONE]") {
            isDone = true
            return
        }
        let chunk = try OpenAIResponseDecoding.parseObject(event.data, what: "stream event", provider: provider)
        if event.type == "error" || chunk["error"].isPresent || chunk["object"].isString("error") {
            throw UpstreamErrorMapping.streamError(UpstreamErrorBody(chunk), provider: provider)
        }
        if !started {
            started = true
            output.append(.started(id: chunk["id"].string ?? "", model: chunk["model"].string ?? ""))
        }

        let choice = OpenAIResponseDecoding.primaryChoice(chunk["choices"])
        if choice.exists {
            let delta = choice["delta"]
            var text = ""
            var reasoning = OpenAIResponseDecoding.reasoning(of: delta) ?? ""
            OpenAIResponseDecoding.appendContent(delta["content"], text: &text, reasoning: &reasoning)
            if let refusal = delta["refusal"].string { text += refusal }
            var toolCalls: [ToolCallDelta] = []
            for (position, call) in delta["tool_calls"].elements.enumerated() {
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
            }
        }
        if let usage = OpenAIResponseDecoding.usage(chunk["usage"]) ?? OpenAIResponseDecoding.usage(chunk["x_groq"]["usage"]) {
            output.append(.usage(usage))
        }
    }
}
