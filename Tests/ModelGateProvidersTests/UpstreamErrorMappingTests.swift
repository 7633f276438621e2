import ModelGateCore
import ModelGateProviders
import ModelGateUpstream
import Testing

@Suite("Upstream error mapping")
struct UpstreamErrorMappingTests {
    struct StatusCase: Sendable, CustomTestStringConvertible {
        var status: Int
        var body: String
        var headers: [HTTPHeader] = []
        var code: StatusCode
        var kind: ErrorKind
        var retryable: Bool
        var retryAfterMilliseconds: UInt32 = 0
        var testDescription: String { "HTTP \(status) \(body.prefix(40))" }
    }

    static func openAIError(_ message: String, type: String, code: String?) -> String {
        let codeText = code.map { "\"\($0)\"" } ?? "null"
        return #"{"error":{"message":"\#(message)","type":"\#(type)","param":null,"code":\#(codeText)}}"#
    }

    static let cases: [StatusCase] = [
        StatusCase(
            status: 400, body: openAIError("Invalid value for 'temperature'", type: "invalid_request_error", code: nil),
            code: .invalidArgument, kind: .invalidRequest, retryable: false),
        StatusCase(
            status: 400,
            body: openAIError(
                "This model's maximum context length is 128000 tokens.", type: "invalid_request_error",
                code: "context_length_exceeded"),
            code: .invalidArgument, kind: .contextLengthExceeded, retryable: false),
        StatusCase(
            status: 400, body: #"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens","type":"BadRequestError","param":null,"code":400}"#,
            code: .invalidArgument, kind: .contextLengthExceeded, retryable: false),
        StatusCase(
            status: 400, body: openAIError("Flagged", type: "invalid_request_error", code: "content_filter"),
            code: .invalidArgument, kind: .contentFiltered, retryable: false),
        StatusCase(
            status: 400, body: openAIError("Rejected by safety system", type: "invalid_request_error", code: "content_policy_violation"),
            code: .invalidArgument, kind: .contentFiltered, retryable: false),
        StatusCase(
            status: 401, body: openAIError("Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key"),
            code: .failedPrecondition, kind: .upstreamAuth, retryable: false),
        StatusCase(
            status: 403, body: openAIError("Country not supported", type: "invalid_request_error", code: "unsupported_country_region_territory"),
            code: .permissionDenied, kind: .upstreamPermission, retryable: false),
        StatusCase(
            status: 404, body: openAIError("The model `gpt-9` does not exist", type: "invalid_request_error", code: "model_not_found"),
            code: .notFound, kind: .upstreamNotFound, retryable: false),
        StatusCase(status: 408, body: "", code: .unavailable, kind: .upstreamTimeout, retryable: true),
        StatusCase(status: 409, body: "conflict", code: .aborted, kind: .upstreamConflict, retryable: true),
        StatusCase(
            status: 413, body: "<html>Request Entity Too Large</html>", code: .invalidArgument, kind: .invalidRequest,
            retryable: false),
        StatusCase(
            status: 422, body: #"{"detail":"Extra inputs are not permitted"}"#, code: .invalidArgument, kind: .invalidRequest,
            retryable: false),
        StatusCase(
            status: 429, body: openAIError("Rate limit reached", type: "requests", code: "rate_limit_exceeded"),
            headers: [HTTPHeader("Retry-After", "20")],
            code: .resourceExhausted, kind: .rateLimited, retryable: true, retryAfterMilliseconds: 20_000),
        StatusCase(
            status: 429, body: openAIError("Rate limit reached", type: "tokens", code: "rate_limit_exceeded"),
            headers: [HTTPHeader("retry-after-ms", "1234.5"), HTTPHeader("Retry-After", "2")],
            code: .resourceExhausted, kind: .rateLimited, retryable: true, retryAfterMilliseconds: 1235),
        StatusCase(
            status: 429, body: openAIError("You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota"),
            headers: [HTTPHeader("Retry-After", "20")],
            code: .resourceExhausted, kind: .quotaExceeded, retryable: false),
        StatusCase(
            status: 500, body: openAIError("The server had an error", type: "server_error", code: nil),
            code: .unavailable, kind: .upstreamUnavailable, retryable: true),
        StatusCase(status: 502, body: "<html>Bad Gateway</html>", code: .unavailable, kind: .upstreamUnavailable, retryable: true),
        StatusCase(
            status: 503, body: openAIError("Overloaded", type: "server_error", code: nil),
            headers: [HTTPHeader("Retry-After", "Wed, 21 Oct 2015 07:28:30 GMT")],
            code: .unavailable, kind: .upstreamUnavailable, retryable: true, retryAfterMilliseconds: 30_000),
        StatusCase(status: 504, body: "", code: .unavailable, kind: .upstreamUnavailable, retryable: true),
        StatusCase(
            status: 529, body: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            code: .unavailable, kind: .upstreamUnavailable, retryable: true),
        StatusCase(status: 405, body: "", code: .invalidArgument, kind: .invalidRequest, retryable: false),
        StatusCase(status: 302, body: "", code: .internal, kind: .upstreamMalformed, retryable: false),
    ]

    /// 2015-10-21T07:28:00Z
    static let now: Int64 = 1_445_412_480

    @Test(arguments: cases)
    func mapsStatus(_ testCase: StatusCase) {
        let error = UpstreamErrorMapping.error(
            status: testCase.status, headers: HTTPHeaders(testCase.headers), body: Array(testCase.body.utf8),
            provider: "openai", nowSecondsSinceEpoch: Self.now)
        #expect(error.code == testCase.code)
        #expect(error.detail.kind == testCase.kind)
        #expect(error.detail.retryable == testCase.retryable)
        #expect(error.detail.retryAfterMilliseconds == testCase.retryAfterMilliseconds)
        #expect(error.detail.provider == "openai")
        #expect(error.detail.upstreamStatus == UInt32(testCase.status))
        #expect(error.message.hasPrefix("provider \"openai\" answered HTTP \(testCase.status)"))
    }

    @Test func copiesMessageAndCode() {
        let error = UpstreamErrorMapping.error(
            status: 404, headers: HTTPHeaders(),
            body: Array(Self.openAIError("The model `gpt-9` does not exist", type: "invalid_request_error", code: "model_not_found").utf8),
            provider: "openai")
        #expect(error.detail.upstreamMessage == "The model `gpt-9` does not exist")
        #expect(error.detail.upstreamCode == "model_not_found")
        #expect(error.message == "provider \"openai\" answered HTTP 404: The model `gpt-9` does not exist")
    }

    @Test func understandsOtherProvidersBodies() {
        let gemini = UpstreamErrorBody(
            parsing: Array(#"{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}"#.utf8))
        #expect(gemini == UpstreamErrorBody(message: "API key not valid.", type: "INVALID_ARGUMENT", code: "400", numericCode: 400))
        let ollama = UpstreamErrorBody(parsing: Array(#"{"error":"model 'x' not found"}"#.utf8))
        #expect(ollama.message == "model 'x' not found")
        let text = UpstreamErrorBody(parsing: Array("upstream connect error".utf8))
        #expect(text.message == "upstream connect error")
    }

    @Test func redactsTheKeyFromMessages() {
        let key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
        let body = Self.openAIError("Incorrect API key provided: \(key). Header was Bearer \(key)", type: "invalid_request_error", code: "invalid_api_key")
        let error = UpstreamErrorMapping.error(
            status: 401, headers: HTTPHeaders(), body: Array(body.utf8), provider: "openai", secrets: [key])
        #expect(!error.message.contains("abcdefgh"))
        #expect(!error.detail.upstreamMessage.contains("abcdefgh"))
        #expect(error.detail.upstreamMessage == "Incorrect API key provided: [REDACTED]. Header was Bearer [REDACTED]")
    }

    @Test func transportFailures() {
        let table: [(UpstreamError.Kind, StatusCode, ErrorKind, Bool)] = [
            (.connect, .unavailable, .upstreamUnavailable, true),
            (.connectTimeout, .unavailable, .upstreamTimeout, true),
            (.firstByteTimeout, .unavailable, .upstreamTimeout, true),
            (.idleTimeout, .unavailable, .upstreamTimeout, true),
            (.totalTimeout, .unavailable, .upstreamTimeout, true),
            (.transfer, .unavailable, .upstreamTruncated, true),
            (.cancelled, .cancelled, .cancelled, false),
            (.bodyTooLarge, .internal, .upstreamMalformed, false),
            (.invalidRequest, .internal, .internal, false),
            (.shutdown, .unavailable, .shuttingDown, true),
        ]
        for (kind, code, errorKind, retryable) in table {
            let error = UpstreamErrorMapping.error(for: UpstreamError(kind, "detail"), provider: "p")
            #expect(error.code == code, "\(kind)")
            #expect(error.detail.kind == errorKind, "\(kind)")
            #expect(error.detail.retryable == retryable, "\(kind)")
        }
    }

    @Test func cancellationPastTheDeadlineIsDeadlineExceeded() {
        let expired = CallContext(requestID: "r1", deadline: .now - .seconds(1))
        #expect(UpstreamErrorMapping.gatewayError(from: CancellationError(), provider: "p", context: expired).code == .deadlineExceeded)
        let open = CallContext(requestID: "r2", deadline: .now + .seconds(60))
        let cancelled = UpstreamErrorMapping.gatewayError(from: CancellationError(), provider: "p", context: open)
        #expect(cancelled.code == .cancelled)
        #expect(cancelled.detail.requestID == "r2")
        struct Other: Error {}
        #expect(UpstreamErrorMapping.gatewayError(from: Other(), provider: "p", context: open).code == .internal)
    }

    @Test func streamErrorStatusIsInferredFromTheBody() {
        let table: [(UpstreamErrorBody, StatusCode, ErrorKind)] = [
            (UpstreamErrorBody(message: "m", type: "invalid_request_error"), .invalidArgument, .invalidRequest),
            (UpstreamErrorBody(message: "m", code: "context_length_exceeded"), .invalidArgument, .contextLengthExceeded),
            (UpstreamErrorBody(message: "m", type: "insufficient_quota"), .resourceExhausted, .quotaExceeded),
            (UpstreamErrorBody(message: "m", type: "overloaded_error"), .unavailable, .upstreamUnavailable),
            (UpstreamErrorBody(message: "m", code: "404", numericCode: 404), .notFound, .upstreamNotFound),
            (UpstreamErrorBody(message: "m", type: "RESOURCE_EXHAUSTED"), .resourceExhausted, .rateLimited),
            (UpstreamErrorBody(message: "m"), .unavailable, .upstreamUnavailable),
        ]
        for (body, code, kind) in table {
            let error = UpstreamErrorMapping.streamError(body, provider: "p")
            #expect(error.code == code, "\(body)")
            #expect(error.detail.kind == kind, "\(body)")
            #expect(error.detail.upstreamStatus == 200)
        }
    }
}

@Suite("Retry-After")
struct RetryAfterTests {
    private func milliseconds(_ headers: [HTTPHeader]) -> UInt32 {
        UpstreamErrorMapping.retryAfterMilliseconds(HTTPHeaders(headers), nowSecondsSinceEpoch: UpstreamErrorMappingTests.now)
    }

    @Test func parsesEveryForm() {
        #expect(milliseconds([]) == 0)
        #expect(milliseconds([HTTPHeader("Retry-After", "7")]) == 7000)
        #expect(milliseconds([HTTPHeader("retry-after", " 1.5 ")]) == 1500)
        #expect(milliseconds([HTTPHeader("Retry-After-Ms", "250")]) == 250)
        #expect(milliseconds([HTTPHeader("retry-after-ms", "oops"), HTTPHeader("Retry-After", "3")]) == 3000)
        #expect(milliseconds([HTTPHeader("Retry-After", "Wed, 21 Oct 2015 07:29:00 GMT")]) == 60_000)
        #expect(milliseconds([HTTPHeader("Retry-After", "Wed, 21 Oct 2015 07:27:00 GMT")]) == 0)  // past
        #expect(milliseconds([HTTPHeader("Retry-After", "Wednesday, 21-Oct-15 07:29:00 GMT")]) == 0)  // RFC 850: unknown
        #expect(milliseconds([HTTPHeader("Retry-After", "-5")]) == 0)
        #expect(milliseconds([HTTPHeader("Retry-After", "99999999999")]) == UInt32.max)
    }

    @Test func imfFixdates() {
        #expect(HTTPDate.secondsSinceEpoch(imfFixdate: "Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.secondsSinceEpoch(imfFixdate: "Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.secondsSinceEpoch(imfFixdate: "Tue, 29 Feb 2028 23:59:59 GMT") == 1_835_481_599)
        #expect(HTTPDate.secondsSinceEpoch(imfFixdate: "Sun, 06 Xyz 1994 08:49:37 GMT") == nil)
        #expect(HTTPDate.secondsSinceEpoch(imfFixdate: "Sun, 06 Nov 1994 08:49:37 UTC") == nil)
        #expect(HTTPDate.nowSecondsSinceEpoch() > 1_700_000_000)
    }
}

@Suite("Secret redaction")
struct SecretRedactionTests {
    @Test func redactsKeyShapedTokens() {
        #expect(SecretRedaction.redact("key sk-abcdefgh12345678 used") == "key [REDACTED] used")
        #expect(SecretRedaction.redact("masked: sk-proj-****************************abcd.") == "masked: [REDACTED].")
        #expect(SecretRedaction.redact("groq gsk_0123456789abcdef") == "groq [REDACTED]")
        #expect(SecretRedaction.redact("google AIzaSyA1234567890abcdefgh") == "google [REDACTED]")
        #expect(SecretRedaction.redact("authorization: bearer abc.def-ghi") == "authorization: bearer [REDACTED]")
    }

    @Test func leavesOrdinaryTextAlone() {
        #expect(SecretRedaction.redact("task-1234567890abcdef is fine") == "task-1234567890abcdef is fine")
        #expect(SecretRedaction.redact("sk-short") == "sk-short")
        #expect(SecretRedaction.redact("The model `gpt-4o` does not exist") == "The model `gpt-4o` does not exist")
    }

    @Test func redactsConfiguredSecretsAnywhere() {
        #expect(SecretRedaction.redact("x=hunter2hunter2;", secrets: ["hunter2hunter2"]) == "x=[REDACTED];")
        #expect(SecretRedaction.redact("short", secrets: ["short"]) == "short")  // too short to be a key
    }

    @Test func cutsLongMessagesOnCharacterBoundaries() {
        let long = String(repeating: "é", count: 1000)  // 2000 bytes
        let cut = SecretRedaction.redact(long)
        #expect(cut.utf8.count <= SecretRedaction.maxLength + 3)
        #expect(cut.hasSuffix("…"))
        #expect(!cut.contains("\u{FFFD}"))
    }
}
