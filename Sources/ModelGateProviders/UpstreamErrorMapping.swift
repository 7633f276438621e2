import ModelGateCore
import ModelGateJSON
import ModelGateUpstream

/// The fields of a provider's error body, whatever its shape.
package struct UpstreamErrorBody: Sendable, Hashable {
    package var message: String
    /// The error's type or status name (`invalid_request_error`, `RESOURCE_EXHAUSTED`).
    package var type: String
    /// The error's code, as text even when the provider sent a number.
    package var code: String
    /// The numeric code, when the provider sent one (vLLM, Gemini put the HTTP status there).
    package var numericCode: Int?
    /// The HTTP status the error stands for when the body says it more precisely than the
    /// response status (Gemini answers a bad API key with 400 and the reason
    /// `API_KEY_INVALID`, an authentication failure); it decides the classification, while
    /// `upstream_status` stays the status received.
    package var impliedStatus: Int?
    /// A retry delay the body names (Gemini's `RetryInfo`); `Retry-After` headers win.
    package var retryAfterMilliseconds: UInt32?

    package init(
        message: String = "", type: String = "", code: String = "", numericCode: Int? = nil, impliedStatus: Int? = nil,
        retryAfterMilliseconds: UInt32? = nil
    ) {
        self.message = message
        self.type = type
        self.code = code
        self.numericCode = numericCode
        self.impliedStatus = impliedStatus
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    /// Reads an error body. Understood shapes: `{"error":{"message","type","code",…}}`
    /// (OpenAI, vLLM, Anthropic, Gemini with `status`), `{"error":"text"}` (Ollama, KServe) and
    /// flat `{"message","type","code"}` (vLLM's older `"object":"error"`, Cohere). Anything
    /// else, non-JSON included, becomes the message as text.
    package init(parsing bytes: [UInt8]) {
        guard let document = try? JSONDocument(parsing: bytes), document.root.kind == .object else {
            self.init(message: String(decoding: bytes, as: UTF8.self))
            return
        }
        self.init(document.root)
    }

    /// Reads an already parsed error object (see ``init(parsing:)``).
    package init(_ root: JSONValue) {
        let error = root["error"]
        if let text = error.string {
            self.init(message: text)
            return
        }
        let fields = error.kind == .object ? error : root
        let code = fields["code"]
        self.init(
            message: fields["message"].string ?? fields["detail"].string ?? "",
            type: fields["type"].string ?? fields["status"].string ?? "",
            code: code.string ?? code.numberText ?? "",
            numericCode: code.int)
    }
}

/// The mapping of upstream failures to ``GatewayError`` shared by every provider adapter; it
/// implements the table of docs/protocol.md §3.2.
package enum UpstreamErrorMapping {
    /// The most bytes of an error response body read.
    package static let maxErrorBodyBytes = 64 << 10

    /// The error for a provider's HTTP error response.
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - headers: the response headers, for `Retry-After` / `retry-after-ms`.
    ///   - body: the response body (already capped).
    ///   - provider: the configured provider name.
    ///   - secrets: values to redact from the provider's message (its API key).
    ///   - nowSecondsSinceEpoch: the wall clock, for `Retry-After` HTTP dates.
    package static func error(
        status: Int,
        headers: HTTPHeaders,
        body: [UInt8],
        provider: String,
        secrets: [String] = [],
        nowSecondsSinceEpoch: Int64 = HTTPDate.nowSecondsSinceEpoch()
    ) -> GatewayError {
        error(
            status: status, headers: headers, parsedBody: UpstreamErrorBody(parsing: body), provider: provider,
            secrets: secrets, nowSecondsSinceEpoch: nowSecondsSinceEpoch)
    }

    /// The error for a provider's HTTP error response whose body the adapter has already read:
    /// for shapes ``UpstreamErrorBody/init(parsing:)`` does not know in full, or providers that
    /// put part of the error elsewhere (Bedrock names the error type in `x-amzn-ErrorType`).
    package static func error(
        status: Int,
        headers: HTTPHeaders,
        parsedBody parsed: UpstreamErrorBody,
        provider: String,
        secrets: [String] = [],
        nowSecondsSinceEpoch: Int64 = HTTPDate.nowSecondsSinceEpoch()
    ) -> GatewayError {
        var error = classify(status: status, body: parsed, provider: provider, secrets: secrets)
        if error.detail.retryable {
            error.detail.retryAfterMilliseconds = retryAfterMilliseconds(
                headers, nowSecondsSinceEpoch: nowSecondsSinceEpoch)
            if error.detail.retryAfterMilliseconds == 0, let fromBody = parsed.retryAfterMilliseconds {
                error.detail.retryAfterMilliseconds = fromBody
            }
        }
        let described = error.detail.upstreamMessage.isEmpty ? "" : ": \(error.detail.upstreamMessage)"
        error.message = "provider \"\(provider)\" answered HTTP \(status)\(described)"
        return error
    }

    /// The error for an error event inside a successful (HTTP 200) stream. Its status is
    /// `status` when the provider's event names one (Bedrock's exception types have a documented
    /// HTTP status), else inferred from a numeric code in the HTTP range, else from the type or
    /// code name, else taken as a server error (UNAVAILABLE, retryable).
    package static func streamError(
        _ body: UpstreamErrorBody, provider: String, secrets: [String] = [], httpStatus: Int = 200, status: Int? = nil
    ) -> GatewayError {
        var error = classify(status: status ?? inferredStatus(body), body: body, provider: provider, secrets: secrets)
        error.detail.upstreamStatus = UInt32(clamping: httpStatus)
        if error.detail.retryable, let fromBody = body.retryAfterMilliseconds {
            error.detail.retryAfterMilliseconds = fromBody
        }
        let described = error.detail.upstreamMessage.isEmpty ? "" : ": \(error.detail.upstreamMessage)"
        error.message = "provider \"\(provider)\" reported an error mid-stream\(described)"
        return error
    }

    /// The error for a transfer that failed without a usable response.
    package static func error(for failure: UpstreamError, provider: String) -> GatewayError {
        let code: StatusCode
        let kind: ErrorKind
        let retryable: Bool
        switch failure.kind {
        case .connect:
            (code, kind, retryable) = (.unavailable, .upstreamUnavailable, true)
        case .connectTimeout, .firstByteTimeout, .idleTimeout, .totalTimeout:
            (code, kind, retryable) = (.unavailable, .upstreamTimeout, true)
        case .transfer:
            (code, kind, retryable) = (.unavailable, .upstreamTruncated, true)
        case .cancelled:
            return GatewayError.cancelled()
        case .invalidRequest:
            (code, kind, retryable) = (.internal, .internal, false)
        case .bodyTooLarge:
            (code, kind, retryable) = (.internal, .upstreamMalformed, false)
        case .shutdown:
            (code, kind, retryable) = (.unavailable, .shuttingDown, true)
        }
        return GatewayError(
            code: code,
            message: "provider \"\(provider)\": \(failure.message)",
            detail: ErrorDetail(kind: kind, retryable: retryable, provider: provider))
    }

    /// Any error thrown while talking to a provider, as the ``GatewayError`` the caller sees.
    /// Cancellation and upstream timeouts become DEADLINE_EXCEEDED when the call's deadline
    /// has passed (adapters cap the transfer's total timeout at the deadline).
    package static func gatewayError(from error: any Error, provider: String, context: CallContext) -> GatewayError {
        var result: GatewayError
        switch error {
        case let error as GatewayError:
            result = error
        case let error as UpstreamError:
            result = self.error(for: error, provider: provider)
        case is CancellationError:
            result = .cancelled()
        default:
            result = .internalError("provider \"\(provider)\": unexpected error")
            result.detail.provider = provider
        }
        if result.code == .cancelled || result.detail.kind == .upstreamTimeout,
            let deadline = context.deadline, deadline <= .now
        {
            result = .deadlineExceeded()
        }
        if result.detail.requestID.isEmpty { result.detail.requestID = context.requestID }
        return result
    }

    /// Reads at most `limit` bytes of an error response's body; transfer errors end it early,
    /// since the status alone already decides the outcome.
    package static func collectErrorBody(_ body: UpstreamBody, limit: Int = maxErrorBodyBytes) async -> [UInt8] {
        var result: [UInt8] = []
        do {
            for try await chunk in body {
                let room = limit - result.count
                if chunk.count >= room {
                    result.append(contentsOf: chunk.prefix(room))
                    break
                }
                result.append(contentsOf: chunk)
            }
        } catch {
            // Keep what arrived.
        }
        return result
    }

    // MARK: Retry-After

    /// The delay a response asks for, in milliseconds; 0 when it names none.
    ///
    /// `retry-after-ms` (OpenAI, Anthropic; may be fractional) wins over `Retry-After`, which
    /// is either delay-seconds (fractions tolerated) or an IMF-fixdate HTTP date, measured
    /// against `nowSecondsSinceEpoch`. Dates in the past and other date formats give 0.
    package static func retryAfterMilliseconds(
        _ headers: HTTPHeaders, nowSecondsSinceEpoch: Int64 = HTTPDate.nowSecondsSinceEpoch()
    ) -> UInt32 {
        if let text = headers["retry-after-ms"], let milliseconds = nonNegativeNumber(text) {
            return clampedMilliseconds(milliseconds)
        }
        guard let text = headers["retry-after"] else { return 0 }
        if let seconds = nonNegativeNumber(text) {
            return clampedMilliseconds(seconds * 1000)
        }
        if let date = HTTPDate.secondsSinceEpoch(imfFixdate: String(trimmed(text))), date > nowSecondsSinceEpoch {
            return clampedMilliseconds(Double(date - nowSecondsSinceEpoch) * 1000)
        }
        return 0
    }

    private static func trimmed(_ text: String) -> Substring {
        var result = text[...]
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }

    private static func nonNegativeNumber(_ text: String) -> Double? {
        let text = trimmed(text)
        guard let first = text.utf8.first, isDigit(first), let value = Double(text), value.isFinite else { return nil }
        return value
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    private static func clampedMilliseconds(_ value: Double) -> UInt32 {
        UInt32(min(value.rounded(.up), Double(UInt32.max)))
    }

    // MARK: Classification

    /// Status, kind and retryability for an HTTP status, refined by the error body.
    private static func classify(status: Int, body: UpstreamErrorBody, provider: String, secrets: [String])
        -> GatewayError
    {
        let code: StatusCode
        var kind: ErrorKind
        let retryable: Bool
        switch body.impliedStatus ?? status {
        case 400, 413, 422:
            (code, kind, retryable) = (.invalidArgument, .invalidRequest, false)
        case 401:
            (code, kind, retryable) = (.failedPrecondition, .upstreamAuth, false)
        case 403:
            (code, kind, retryable) = (.permissionDenied, .upstreamPermission, false)
        case 404:
            (code, kind, retryable) = (.notFound, .upstreamNotFound, false)
        case 408:
            (code, kind, retryable) = (.unavailable, .upstreamTimeout, true)
        case 409:
            (code, kind, retryable) = (.aborted, .upstreamConflict, true)
        case 429:
            if matches(body, ["insufficient_quota", "billing_error"]) {
                (code, kind, retryable) = (.resourceExhausted, .quotaExceeded, false)
            } else {
                (code, kind, retryable) = (.resourceExhausted, .rateLimited, true)
            }
        case 498:
            // Cohere's InvalidToken: the key was refused.
            (code, kind, retryable) = (.failedPrecondition, .upstreamAuth, false)
        case 499:
            // The upstream cancelled the request (Cohere's RequestCancelled); the gateway's own
            // cancellations never read a response.
            (code, kind, retryable) = (.unavailable, .upstreamUnavailable, true)
        case 500...599:
            (code, kind, retryable) = (.unavailable, .upstreamUnavailable, true)
        case 400...499:
            // Not in the table: the request as sent was refused (405, 415, …).
            (code, kind, retryable) = (.invalidArgument, .invalidRequest, false)
        default:
            // 1xx/3xx and nonsense: the provider does not behave as its API says.
            (code, kind, retryable) = (.internal, .upstreamMalformed, false)
        }
        if code == .invalidArgument {
            if isContextLengthError(body) {
                kind = .contextLengthExceeded
            } else if matches(body, ["content_filter", "content_policy_violation", "content_filtered"]) {
                kind = .contentFiltered
            }
        }
        return GatewayError(
            code: code,
            message: "",
            detail: ErrorDetail(
                kind: kind,
                retryable: retryable,
                provider: provider,
                upstreamStatus: UInt32(clamping: max(status, 0)),
                upstreamMessage: SecretRedaction.redact(body.message, secrets: secrets),
                upstreamCode: SecretRedaction.redact(body.code, secrets: secrets)))
    }

    private static func matches(_ body: UpstreamErrorBody, _ names: [String]) -> Bool {
        names.contains(body.code) || names.contains(body.type)
    }

    /// OpenAI says `context_length_exceeded`; vLLM, llama.cpp and others only say it in words.
    private static func isContextLengthError(_ body: UpstreamErrorBody) -> Bool {
        if matches(body, ["context_length_exceeded", "model_context_window_exceeded"]) { return true }
        let message = body.message.lowercased()
        // Gemini: "The input token count (…) exceeds the maximum number of tokens allowed (…)".
        // Bedrock's ValidationException: "Input is too long for requested model".
        // Anthropic: "input length and `max_tokens` exceed context limit: 199000 + 21333 > 200000".
        // Cohere: "too many tokens: total number of tokens in the prompt cannot exceed …".
        let phrases = [
            "context length", "context_length", "context window", "prompt is too long", "maximum number of tokens",
            "input is too long", "exceed context limit", "too many tokens",
        ]
        return phrases.contains {
            message.contains($0)
        }
    }

    /// The HTTP status an in-stream error stands for.
    private static func inferredStatus(_ body: UpstreamErrorBody) -> Int {
        if let implied = body.impliedStatus { return implied }
        if let numeric = body.numericCode, (400...599).contains(numeric) { return numeric }
        for name in [body.code, body.type] {
            switch name.lowercased() {
            case "context_length_exceeded", "content_filter", "content_policy_violation", "invalid_request_error",
                "invalid_request", "bad_request", "invalid_argument", "failed_precondition", "out_of_range":
                return 400
            case "authentication_error", "invalid_api_key", "unauthenticated":
                return 401
            case "permission_error", "permission_denied":
                return 403
            case "not_found_error", "model_not_found", "not_found":
                return 404
            case "insufficient_quota", "rate_limit_exceeded", "rate_limit_error", "resource_exhausted":
                return 429
            case "overloaded_error":
                return 529
            default:
                continue
            }
        }
        return 500
    }
}
