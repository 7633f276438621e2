import ModelGateCore
import ModelGateJSON

/// Reading Ollama responses: `/api/chat` objects (the unary answer is one, each NDJSON line
/// of a stream another) and `/api/embed` answers.
package enum OllamaResponseDecoding {
    /// The prefix of the tool-call ids the gateway makes up: Ollama sends none (newer
    /// versions may; theirs are kept).
    package static let synthesizedCallIDPrefix = "ollama_call_"

    /// The unified finish reason for a `done_reason`: `length` is length, `stop` (and a
    /// missing reason) stop, or tool calls when the response called tools (Ollama says
    /// `stop` then). Any other value maps to stop, as for OpenAI.
    package static func finishReason(_ raw: String, calledTools: Bool) -> FinishReason {
        raw == "length" ? .length : calledTools ? .toolCalls : .stop
    }

    /// The usage on a `done` object: `prompt_eval_count` in, `eval_count` out (Ollama
    /// reports no cached or reasoning split); nil when it reports neither. Ollama leaves
    /// `prompt_eval_count` out when the whole prompt came from its cache, which then reads
    /// as 0 input tokens: the gateway does not estimate.
    package static func usage(_ object: JSONValue) -> Usage? {
        let prompt = object["prompt_eval_count"].uint64
        let output = object["eval_count"].uint64
        guard prompt != nil || output != nil else { return nil }
        return Usage(
            inputTokens: UInt32(clamping: prompt ?? 0), outputTokens: UInt32(clamping: output ?? 0), source: .provider)
    }

    /// The unified response for a non-streamed `/api/chat` answer.
    /// - Throws: UPSTREAM_MALFORMED for bodies that are not a chat object, the mapped error
    ///   for an `{"error": …}` body.
    package static func chatResponse(_ body: [UInt8], provider: String, fallbackModel: String) throws(GatewayError)
        -> ChatResponse
    {
        try ProviderDecoding.chatResponse(
            body, reader: OllamaResponseReader(provider: provider), what: "chat response", provider: provider,
            fallbackModel: fallbackModel)
    }

    /// The unified response for an `/api/embed` answer, one vector per input.
    package static func embedResponse(
        _ body: [UInt8], inputCount: Int, provider: String, fallbackModel: String
    ) throws(GatewayError) -> EmbedResponse {
        let (root, embeddings) = try ProviderDecoding.embeddings(
            body, inputCount: inputCount, provider: provider, errorBody: { UpstreamErrorBody($0) }
        ) { Array($0["embeddings"].elements) }
        return EmbedResponse(
            embeddings: embeddings, model: root["model"].string ?? fallbackModel, provider: provider,
            usage: root["prompt_eval_count"].uint64.map { Usage(inputTokens: UInt32(clamping: $0), source: .provider) }
                ?? .notReported)
    }
}

/// Turns `/api/chat` objects into ``ChatStreamEvent``s, for the unary answer and for each
/// line of a stream.
///
/// Per object: `.started` (the first only; Ollama has no response id, so it is empty, and
/// the `model`), `.delta` (`message.content` as text, `message.thinking` as reasoning, each
/// of `message.tool_calls` as one whole tool-call delta whose arguments are the JSON object
/// Ollama sent), then on the `"done": true` object `.finished` and `.usage`. An object with
/// an `error` is the mapped error (Ollama's mid-stream failures). Tool calls without an id
/// get `ollama_call_<n>`, `n` being the call's position in the response.
struct OllamaResponseReader: ResponseObjectReading {
    let provider: String
    private var started = false
    private var calls: UInt32 = 0
    /// Whether the `"done": true` object arrived: Ollama's end marker.
    private(set) var isDone = false

    init(provider: String) {
        self.provider = provider
    }

    mutating func read(_ object: JSONValue, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        let message = object["message"]
        // Ordinary objects carry a message; only look for an error in those without one.
        if !message.exists, object["error"].isPresent {
            throw UpstreamErrorMapping.streamError(UpstreamErrorBody(object), provider: provider)
        }
        if !started {
            started = true
            output.append(.started(id: "", model: object["model"].string ?? ""))
        }
        var toolCalls: [ToolCallDelta] = []
        for call in message["tool_calls"].elements {
            let function = call["function"]
            let arguments = function["arguments"]
            toolCalls.append(
                ToolCallDelta(
                    index: calls,
                    id: call["id"].string ?? (OllamaResponseDecoding.synthesizedCallIDPrefix + String(calls)),
                    name: function["name"].string ?? "",
                    argumentsFragment: arguments.string ?? (arguments.kind == .object ? arguments.rawText : "{}")))
            calls += 1
        }
        let delta = ChatDelta(
            text: message["content"].string ?? "", reasoning: message["thinking"].string ?? "", toolCalls: toolCalls)
        if !delta.isEmpty { output.append(.delta(delta)) }
        guard object["done"].bool == true else { return }
        isDone = true
        let reason = object["done_reason"].string ?? ""
        output.append(.finished(OllamaResponseDecoding.finishReason(reason, calledTools: calls > 0), providerReason: reason))
        if let usage = OllamaResponseDecoding.usage(object) {
            output.append(.usage(usage))
        }
    }
}

/// Turns the bytes of an `/api/chat` NDJSON stream into ``ChatStreamEvent``s (see
/// ``OllamaResponseReader``). The stream is complete once the `"done": true` line arrived;
/// what follows it is ignored. EOF before it is UNAVAILABLE / UPSTREAM_TRUNCATED; a line
/// that is not a JSON object, or longer than the limit, is UPSTREAM_MALFORMED.
package struct OllamaStreamDecoder: ChatStreamDecoding {
    package let provider: String
    private var lines: NDJSONLineDecoder
    private var reader: OllamaResponseReader

    package var isDone: Bool { reader.isDone }

    package init(provider: String, maxLineBytes: Int = NDJSONLineDecoder.defaultMaxLineBytes) {
        self.provider = provider
        self.lines = NDJSONLineDecoder(maxLineBytes: maxLineBytes)
        self.reader = OllamaResponseReader(provider: provider)
    }

    /// Decodes the lines completed by `bytes`, appending what they mean to `output`.
    package mutating func decode(_ bytes: [UInt8], into output: inout [ChatStreamEvent]) throws(GatewayError) {
        guard !isDone else { return }
        lines.append(bytes)
        while !isDone {
            let line: [UInt8]?
            do {
                line = try lines.next()
            } catch {
                throw OpenAIResponseDecoding.malformed("a stream line longer than \(error.limit) bytes", provider: provider)
            }
            guard let line else { return }
            try reader.read(
                OpenAIResponseDecoding.parseObject(line, what: "stream line", provider: provider), into: &output)
        }
    }

    /// The body ended.
    /// - Throws: UNAVAILABLE / UPSTREAM_TRUNCATED unless the `done` line arrived.
    package func finish() throws(GatewayError) {
        guard !isDone else { return }
        let pending = lines.hasPartialLine ? " (in the middle of a line)" : ""
        throw GatewayError.truncatedStream(provider: provider, "before its \"done\": true line\(pending)")
    }
}
