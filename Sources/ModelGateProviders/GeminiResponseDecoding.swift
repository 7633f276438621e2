import ModelGateCore
import ModelGateJSON

/// Reading Gemini responses: `GenerateContentResponse` objects (a unary answer is one, each
/// stream event another), embeddings, and Google's error envelope.
package enum GeminiResponseDecoding {
    /// The unified finish reason for a Gemini `finishReason`.
    ///
    /// `STOP` is a natural end, or `toolCalls` when the response called functions (Gemini
    /// says `STOP` then too); `MAX_TOKENS` is length; the safety family (`SAFETY`,
    /// `RECITATION`, `LANGUAGE`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII`, `IMAGE_SAFETY`, …)
    /// is content filter; a failed function call (`MALFORMED_FUNCTION_CALL`,
    /// `UNEXPECTED_TOOL_CALL`, `TOO_MANY_TOOL_CALLS`) is error. Any other value (`OTHER`,
    /// new ones) maps to stop, as for OpenAI; the provider's word is kept alongside.
    package static func finishReason(_ raw: String, calledFunctions: Bool) -> FinishReason {
        switch raw {
        case "STOP": calledFunctions ? .toolCalls : .stop
        case "MAX_TOKENS": .length
        case "SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
            .contentFilter
        case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS": .error
        default: .stop
        }
    }

    /// The usage in a `usageMetadata` object; nil when the value is not an object.
    ///
    /// Input is `promptTokenCount` plus `toolUsePromptTokenCount`; output is
    /// `candidatesTokenCount` plus `thoughtsTokenCount` (thoughts are generated and billed
    /// as output), of which reasoning is `thoughtsTokenCount`; cached input is
    /// `cachedContentTokenCount`; the total is Gemini's own `totalTokenCount`. The numbers
    /// are cumulative in a stream, so the last report is the one that counts.
    package static func usage(_ value: JSONValue) -> Usage? {
        guard value.kind == .object else { return nil }
        let thoughts = tokenCount(value["thoughtsTokenCount"])
        return Usage(
            inputTokens: tokenCount(value["promptTokenCount"]) &+ tokenCount(value["toolUsePromptTokenCount"]),
            outputTokens: tokenCount(value["candidatesTokenCount"]) &+ thoughts,
            cachedInputTokens: tokenCount(value["cachedContentTokenCount"]),
            reasoningTokens: thoughts,
            totalTokens: value["totalTokenCount"].uint64.map { UInt32(clamping: $0) },
            source: .provider)
    }

    private static func tokenCount(_ value: JSONValue) -> UInt32 {
        value.uint64.map { UInt32(clamping: $0) } ?? 0
    }

    // MARK: Errors

    /// The fields of Google's error envelope `{"error":{"code","message","status","details"}}`:
    /// the type is the `google.rpc.Code` name, the code the `ErrorInfo` reason when there is
    /// one (`API_KEY_INVALID`) and the status name otherwise, the retry delay `RetryInfo`'s.
    package static func errorBody(_ root: JSONValue) -> UpstreamErrorBody {
        let error = root["error"]
        guard error.kind == .object else { return UpstreamErrorBody(root) }
        let status = error["status"].string ?? ""
        var reason = ""
        var retryDelay: UInt32?
        for detail in error["details"].elements {
            let type = detail["@type"].string ?? ""
            if type.hasSuffix("google.rpc.ErrorInfo"), let text = detail["reason"].string {
                reason = text
            } else if type.hasSuffix("google.rpc.RetryInfo"), let text = detail["retryDelay"].string {
                retryDelay = milliseconds(duration: text)
            }
        }
        return UpstreamErrorBody(
            message: error["message"].string ?? "",
            type: status,
            code: reason.isEmpty ? status : reason,
            numericCode: error["code"].int,
            impliedStatus: impliedStatus(status: status, reason: reason),
            retryAfterMilliseconds: retryDelay)
    }

    /// ``errorBody(_:)`` of raw bytes; anything that is not JSON becomes the message.
    package static func errorBody(parsing bytes: [UInt8]) -> UpstreamErrorBody {
        guard let document = try? JSONDocument(parsing: bytes), document.root.kind == .object else {
            return UpstreamErrorBody(parsing: bytes)
        }
        return errorBody(document.root)
    }

    /// The HTTP status a `google.rpc.Code` name stands for, as the gateway classifies it.
    /// A bad or expired API key is authentication (Google says 400 `INVALID_ARGUMENT`);
    /// `CANCELLED` inside a stream is the upstream giving up (the gateway's own cancellations
    /// never read a body), so unavailable; `DEADLINE_EXCEEDED` is an upstream timeout;
    /// `UNIMPLEMENTED` a request the model cannot serve.
    static func impliedStatus(status: String, reason: String) -> Int? {
        if reason == "API_KEY_INVALID" || reason == "API_KEY_EXPIRED" { return 401 }
        switch status {
        case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE", "UNIMPLEMENTED": return 400
        case "UNAUTHENTICATED": return 401
        case "PERMISSION_DENIED": return 403
        case "NOT_FOUND": return 404
        case "DEADLINE_EXCEEDED": return 408
        case "ABORTED", "ALREADY_EXISTS": return 409
        case "RESOURCE_EXHAUSTED": return 429
        case "INTERNAL", "UNKNOWN", "DATA_LOSS": return 500
        case "UNAVAILABLE", "CANCELLED": return 503
        default: return nil
        }
    }

    /// A protobuf JSON `Duration` ("37s", "0.250s") in milliseconds.
    static func milliseconds(duration text: String) -> UInt32? {
        guard text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds.isFinite, seconds >= 0 else { return nil }
        return UInt32(min((seconds * 1000).rounded(.up), Double(UInt32.max)))
    }

    // MARK: Unary chat

    /// The unified response for a `generateContent` answer.
    /// - Throws: UPSTREAM_MALFORMED for bodies that are not a response object, the mapped
    ///   error when the body is an error envelope.
    package static func chatResponse(_ body: [UInt8], provider: String, fallbackModel: String) throws(GatewayError)
        -> ChatResponse
    {
        try ProviderDecoding.chatResponse(
            body, reader: GeminiResponseReader(provider: provider), what: "generateContent response", provider: provider,
            fallbackModel: fallbackModel)
    }

    // MARK: Embeddings

    /// The unified response for an `embedContent` (`{"embedding":{"values"}}`) or
    /// `batchEmbedContents` (`{"embeddings":[{"values"}]}`) answer, one vector per input.
    package static func embedResponse(
        _ body: [UInt8], inputCount: Int, provider: String, model: String
    ) throws(GatewayError) -> EmbedResponse {
        let (root, embeddings) = try ProviderDecoding.embeddings(
            body, inputCount: inputCount, provider: provider, errorBody: errorBody(_:)
        ) { root in
            let single = root["embedding"]
            return single.exists ? [single["values"]] : root["embeddings"].elements.map { $0["values"] }
        }
        let metadata = root["usageMetadata"]
        let usage =
            metadata.kind == .object
            ? Usage(
                inputTokens: tokenCount(metadata["promptTokenCount"]),
                totalTokens: metadata["totalTokenCount"].uint64.map { UInt32(clamping: $0) }, source: .provider)
            : Usage.notReported
        return EmbedResponse(embeddings: embeddings, model: model, provider: provider, usage: usage)
    }
}

/// Turns `GenerateContentResponse` objects into ``ChatStreamEvent``s, for the unary answer
/// and for each stream event.
///
/// Per response it emits, in order: `.started` (the first only: `responseId`,
/// `modelVersion`), `.delta` (text; `thought: true` parts as reasoning; each `functionCall`
/// as one whole tool-call delta), `.finished` (a `finishReason`, or a blocked prompt's
/// `promptFeedback.blockReason` as content filter) and `.usage` (`usageMetadata`).
///
/// Function calls arrive whole, so each is one ``ToolCallDelta`` with the complete
/// arguments. Gemini may give no call id; the gateway then makes one up,
/// `gemini_call_<n>` with `n` the call's position in the response, which is unique within
/// the response and never sent back to Gemini. `thoughtSignature`s are dropped (see
/// ``GeminiRequestEncoder/thoughtSignaturePlaceholder``). Parts the unified API has no place
/// for (generated images, code execution) are not requested by the gateway and are skipped.
struct GeminiResponseReader: ResponseObjectReading {
    let provider: String
    private var started = false
    private var calls: UInt32 = 0
    /// Whether a finish reason (or a prompt block) arrived: the end of a Gemini stream.
    private(set) var hasFinished = false

    init(provider: String) {
        self.provider = provider
    }

    mutating func read(_ response: JSONValue, into output: inout [ChatStreamEvent]) throws(GatewayError) {
        let candidates = response["candidates"]
        // An error envelope has nothing else; look for it only when there are no candidates.
        if candidates.count == 0, response["error"].isPresent {
            throw UpstreamErrorMapping.streamError(GeminiResponseDecoding.errorBody(response), provider: provider)
        }
        if !started {
            started = true
            output.append(.started(id: response["responseId"].string ?? "", model: response["modelVersion"].string ?? ""))
        }
        if candidates.count > 0 {
            readCandidate(candidates[0], into: &output)
        } else if let blocked = response["promptFeedback"]["blockReason"].string {
            output.append(.finished(.contentFilter, providerReason: blocked))
            hasFinished = true
        }
        if let usage = GeminiResponseDecoding.usage(response["usageMetadata"]) {
            output.append(.usage(usage))
        }
    }

    private mutating func readCandidate(_ candidate: JSONValue, into output: inout [ChatStreamEvent]) {
        var text = ""
        var reasoning = ""
        var toolCalls: [ToolCallDelta] = []
        for part in candidate["content"]["parts"].elements {
            if let piece = part["text"].string {
                if part["thought"].bool == true {
                    reasoning += piece
                } else {
                    text += piece
                }
                continue
            }
            let call = part["functionCall"]
            guard call.kind == .object else { continue }
            let arguments = call["args"]
            toolCalls.append(
                ToolCallDelta(
                    index: calls,
                    id: call["id"].string ?? (GeminiRequestEncoder.synthesizedCallIDPrefix + String(calls)),
                    name: call["name"].string ?? "",
                    argumentsFragment: arguments.kind == .object ? arguments.rawText : "{}"))
            calls += 1
        }
        let delta = ChatDelta(text: text, reasoning: reasoning, toolCalls: toolCalls)
        if !delta.isEmpty { output.append(.delta(delta)) }
        if let reason = candidate["finishReason"].string, !reason.isEmpty, reason != "FINISH_REASON_UNSPECIFIED" {
            output.append(
                .finished(GeminiResponseDecoding.finishReason(reason, calledFunctions: calls > 0), providerReason: reason))
            hasFinished = true
        }
    }
}
