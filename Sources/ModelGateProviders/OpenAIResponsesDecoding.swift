import ModelGateCore
import ModelGateJSON

/// Reading Responses API objects (`POST /responses`): the parts shared by unary answers and
/// streams, and the unary answer.
package enum OpenAIResponsesDecoding {
    /// The usage in a Responses `usage` object (`input_tokens`, `output_tokens`,
    /// `input_tokens_details.cached_tokens`, `output_tokens_details.reasoning_tokens`,
    /// `total_tokens`); nil when the value is not an object.
    package static func usage(_ value: JSONValue) -> Usage? {
        guard value.kind == .object else { return nil }
        return Usage(
            inputTokens: OpenAIResponseDecoding.tokenCount(value["input_tokens"]),
            outputTokens: OpenAIResponseDecoding.tokenCount(value["output_tokens"]),
            cachedInputTokens: OpenAIResponseDecoding.tokenCount(value["input_tokens_details"]["cached_tokens"]),
            reasoningTokens: OpenAIResponseDecoding.tokenCount(value["output_tokens_details"]["reasoning_tokens"]),
            totalTokens: value["total_tokens"].uint64.map { UInt32(clamping: $0) },
            source: .provider)
    }

    /// The finish of a completed or incomplete response. A completed response that called
    /// functions finished with tool calls (the API has no separate word for it); an incomplete
    /// one finishes for its `incomplete_details.reason`: `max_output_tokens` → length,
    /// `content_filter` → content filter, another reason → stop. The provider's word is the
    /// reason, or the status.
    static func finish(of response: JSONValue, calledTools: Bool) -> ChatStreamEvent {
        let status = response["status"].string ?? "completed"
        guard status == "incomplete" else {
            return .finished(calledTools ? .toolCalls : .stop, providerReason: status)
        }
        let reason = response["incomplete_details"]["reason"].string ?? status
        let unified: FinishReason =
            switch reason {
            case "max_output_tokens": .length
            case "content_filter": .contentFilter
            default: .stop
            }
        return .finished(unified, providerReason: reason)
    }

    /// The error of a `failed` response (`response.error {code, message}`).
    static func failure(of response: JSONValue, provider: String) -> GatewayError {
        let error = response["error"]
        return errorEvent(
            code: error["code"].string ?? "", message: error["message"].string ?? "the response failed",
            provider: provider)
    }

    /// The error for an error the API reports inside a 200 answer. The Responses API's own
    /// codes decide the status (`rate_limit_exceeded` 429, `server_error` and
    /// `vector_store_timeout` 500, `invalid_prompt` and the image errors 400); other codes are
    /// classified as in any stream.
    static func errorEvent(code: String, message: String, provider: String) -> GatewayError {
        let status: Int? =
            switch code {
            case "rate_limit_exceeded": 429
            case "server_error", "vector_store_timeout": 500
            case "invalid_prompt": 400
            default: code.hasPrefix("image_") || code.contains("_image") ? 400 : nil
            }
        return UpstreamErrorMapping.streamError(
            UpstreamErrorBody(message: message, code: code), provider: provider, status: status)
    }

    // MARK: Unary

    /// The unified response for a non-streamed `response` object, assembled as a stream's
    /// events would be.
    /// - Throws: the mapped error for a failed response or an error body, UPSTREAM_MALFORMED
    ///   for anything that is not a response.
    package static func chatResponse(_ body: [UInt8], provider: String, fallbackModel: String) throws(GatewayError)
        -> ChatResponse
    {
        try ProviderDecoding.chatResponse(
            body, reader: ResponseObjectReader(provider: provider), what: "response", provider: provider,
            fallbackModel: fallbackModel)
    }

    /// Reads a whole `response` object: its output items in order (message text and refusals,
    /// reasoning summaries and text, function calls with complete arguments), usage, finish.
    struct ResponseObjectReader: ResponseObjectReading {
        let provider: String

        func read(_ response: JSONValue, into output: inout [ChatStreamEvent]) throws(GatewayError) {
            let status = response["status"].string ?? "completed"
            if status == "failed" { throw failure(of: response, provider: provider) }
            if response["error"].kind == .object {
                throw UpstreamErrorMapping.streamError(UpstreamErrorBody(response), provider: provider)
            }
            guard status == "completed" || status == "incomplete" else {
                throw OpenAIResponseDecoding.malformed("a response with status \"\(status)\"", provider: provider)
            }
            output.append(.started(id: response["id"].string ?? "", model: response["model"].string ?? ""))
            var toolCalls: [ToolCallDelta] = []
            var delta = ChatDelta()
            for item in response["output"].elements {
                switch item["type"].string {
                case "message":
                    for part in item["content"].elements {
                        delta.text += part["text"].string ?? part["refusal"].string ?? ""
                    }
                case "reasoning":
                    for part in item["summary"].elements { delta.reasoning += part["text"].string ?? "" }
                    for part in item["content"].elements { delta.reasoning += part["text"].string ?? "" }
                case "function_call":
                    toolCalls.append(
                        ToolCallDelta(
                            index: UInt32(toolCalls.count), id: item["call_id"].string ?? "", name: item["name"].string ?? "",
                            argumentsFragment: item["arguments"].string ?? ""))
                default:
                    continue  // built-in tools the gateway never asks for
                }
            }
            delta.toolCalls = toolCalls
            output.append(.delta(delta))
            if let usage = usage(response["usage"]) { output.append(.usage(usage)) }
            output.append(finish(of: response, calledTools: !toolCalls.isEmpty))
        }
    }
}
