import ModelGateCore
import ModelGateJSON
import ModelGateUpstream

/// Reading Bedrock responses: stop reasons, usage, errors (HTTP and in-stream), the unary
/// Converse response and Titan embeddings.
package enum BedrockResponseDecoding {
    /// The unified finish reason for a Converse `stopReason`.
    ///
    /// `end_turn` and `stop_sequence` → stop; `max_tokens` and
    /// `model_context_window_exceeded` (the output ran into the context window) → length;
    /// `tool_use` → tool calls; `guardrail_intervened` and `content_filtered` → content filter;
    /// `malformed_model_output` and `malformed_tool_use` → error. Any other value maps to stop,
    /// as for OpenAI; the provider's word is kept in `providerFinishReason`.
    package static func finishReason(_ raw: String) -> FinishReason {
        switch raw {
        case "end_turn", "stop_sequence": .stop
        case "max_tokens", "model_context_window_exceeded": .length
        case "tool_use": .toolCalls
        case "guardrail_intervened", "content_filtered": .contentFilter
        case "malformed_model_output", "malformed_tool_use": .error
        default: .stop
        }
    }

    /// The usage in a Converse `usage` object; nil when it is not an object.
    ///
    /// Bedrock counts `inputTokens` without the cache: `cacheReadInputTokens` and
    /// `cacheWriteInputTokens` come on top (its `totalTokens` includes them). The unified
    /// `inputTokens` includes cached tokens, so it is the sum of the three.
    package static func usage(_ value: JSONValue) -> Usage? {
        guard value.kind == .object else { return nil }
        let uncached = tokenCount(value["inputTokens"])
        let cacheRead = tokenCount(value["cacheReadInputTokens"])
        let cacheWrite = tokenCount(value["cacheWriteInputTokens"])
        let output = tokenCount(value["outputTokens"])
        return Usage(
            inputTokens: UInt32(clamping: UInt64(uncached) + UInt64(cacheRead) + UInt64(cacheWrite)),
            outputTokens: output,
            cachedInputTokens: cacheRead,
            cacheWriteInputTokens: cacheWrite,
            totalTokens: value["totalTokens"].uint64.map { UInt32(clamping: $0) },
            source: .provider)
    }

    private static func tokenCount(_ value: JSONValue) -> UInt32 {
        value.uint64.map { UInt32(clamping: $0) } ?? 0
    }

    // MARK: Errors

    /// The HTTP status Bedrock documents for each modelled exception (service model
    /// `error.httpStatusCode`), by the event-stream `:exception-type` (lower camel case) or the
    /// `x-amzn-ErrorType` name (upper camel case).
    static func documentedStatus(ofException type: String) -> Int? {
        switch type.lowercased() {
        case "validationexception", "servicequotaexceededexception": 400
        case "accessdeniedexception": 403
        case "resourcenotfoundexception": 404
        case "modeltimeoutexception": 408
        case "modelerrorexception", "modelstreamerrorexception": 424
        case "throttlingexception", "modelnotreadyexception": 429
        case "internalserverexception": 500
        case "serviceunavailableexception": 503
        default: nil
        }
    }

    /// An HTTP error response. The type is in the `x-amzn-ErrorType` header
    /// (`ThrottlingException:http://internal.amazon.com/coral/…`) or the body's `__type`
    /// (`com.amazon.coral.validate#ValidationException`); the body is `{"message": …}`.
    package static func httpError(
        status: Int, headers: HTTPHeaders, body: [UInt8], provider: String, secrets: [String]
    ) -> GatewayError {
        var parsed = UpstreamErrorBody(parsing: body)
        var type = headers["x-amzn-errortype"].map { String($0.prefix { $0 != ":" }) } ?? ""
        if let document = try? JSONDocument(parsing: body), document.root.kind == .object {
            if parsed.message.isEmpty, let message = document.root["Message"].string { parsed.message = message }
            if type.isEmpty, let raw = document.root["__type"].string {
                type = String(raw.split(separator: "#").last ?? "")
            }
        }
        if !type.isEmpty {
            parsed.type = type
            if parsed.code.isEmpty { parsed.code = type }
        }
        let error = UpstreamErrorMapping.error(
            status: status, headers: headers, parsedBody: parsed, provider: provider, secrets: secrets)
        return refined(error, type: type, headers: headers)
    }

    /// An `exception` message inside a ConverseStream (`:exception-type`, payload
    /// `{"message": …}`, and for `modelStreamErrorException` also `originalStatusCode` and
    /// `originalMessage`).
    package static func streamException(type: String, payload: [UInt8], provider: String, secrets: [String])
        -> GatewayError
    {
        var body = UpstreamErrorBody(parsing: payload)
        if let document = try? JSONDocument(parsing: payload), document.root.kind == .object {
            if let original = document.root["originalMessage"].string, !original.isEmpty {
                body.message = body.message.isEmpty ? original : "\(body.message) (\(original))"
            }
        }
        body.type = type
        body.code = type
        let error = UpstreamErrorMapping.streamError(
            body, provider: provider, secrets: secrets, status: documentedStatus(ofException: type) ?? 500)
        return refined(error, type: type, headers: HTTPHeaders())
    }

    /// An `error` message inside a ConverseStream (`:error-code`, `:error-message` headers).
    package static func streamError(code: String, message: String, provider: String, secrets: [String])
        -> GatewayError
    {
        let body = UpstreamErrorBody(message: message, type: code, code: code)
        let error = UpstreamErrorMapping.streamError(
            body, provider: provider, secrets: secrets, status: documentedStatus(ofException: code))
        return refined(error, type: code, headers: HTTPHeaders())
    }

    /// Bedrock's own meanings on top of the shared table: a 424 (ModelError,
    /// ModelStreamError: "retry your request") is the model failing, so UNAVAILABLE and
    /// retryable; ServiceQuotaExceededException is a quota, not a bad request.
    private static func refined(_ error: GatewayError, type: String, headers: HTTPHeaders) -> GatewayError {
        var error = error
        switch type.lowercased() {
        case "modelerrorexception", "modelstreamerrorexception":
            error.code = .unavailable
            error.detail.kind = .upstreamUnavailable
            error.detail.retryable = true
            error.detail.retryAfterMilliseconds = UpstreamErrorMapping.retryAfterMilliseconds(headers)
        case "servicequotaexceededexception":
            error.code = .resourceExhausted
            error.detail.kind = .quotaExceeded
            error.detail.retryable = false
        default:
            break
        }
        return error
    }

    static func malformed(_ what: String, provider: String) -> GatewayError {
        OpenAIResponseDecoding.malformed(what, provider: provider)
    }

    // MARK: Converse

    /// The unified response for a Converse response body.
    /// - Parameter requestID: the `x-amzn-RequestId` header, used as the response id.
    package static func chatResponse(_ body: [UInt8], requestID: String, model: String, provider: String)
        throws(GatewayError) -> ChatResponse
    {
        let root = try OpenAIResponseDecoding.parseObject(body, what: "Converse response", provider: provider)
        let message = root["output"]["message"]
        guard message.kind == .object else {
            throw malformed("a Converse response without output.message", provider: provider)
        }
        var text = ""
        var reasoning = ""
        var toolCalls: [ToolCall] = []
        for block in message["content"].elements {
            if let piece = block["text"].string {
                text += piece
            } else if block["toolUse"].kind == .object {
                let use = block["toolUse"]
                let input = use["input"]
                toolCalls.append(
                    ToolCall(
                        id: use["toolUseId"].string ?? "", name: use["name"].string ?? "",
                        argumentsJSON: input.exists && !input.isNull ? input.rawText : "{}"))
            } else if let thought = block["reasoningContent"]["reasoningText"]["text"].string {
                reasoning += thought
            }
        }
        let stopReason = root["stopReason"].string ?? ""
        return ChatResponse(
            id: requestID,
            model: model,
            provider: provider,
            text: text,
            reasoning: reasoning,
            toolCalls: toolCalls,
            finishReason: stopReason.isEmpty ? .unspecified : finishReason(stopReason),
            providerFinishReason: stopReason,
            usage: usage(root["usage"]) ?? .notReported)
    }

    // MARK: Titan embeddings

    /// One Titan text embedding response: `{"embedding": [...], "inputTextTokenCount": N}`.
    package static func titanEmbedding(_ body: [UInt8], provider: String) throws(GatewayError)
        -> (values: [Float], tokens: UInt32?)
    {
        let root = try OpenAIResponseDecoding.parseObject(body, what: "Titan embedding response", provider: provider)
        return (
            try OpenAIResponseDecoding.embeddingVector(root["embedding"], provider: provider),
            root["inputTextTokenCount"].uint64.map { UInt32(clamping: $0) }
        )
    }
}
