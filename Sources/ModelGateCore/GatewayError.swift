/// Typed detail of a failed call (`modelgate.v1.ErrorDetail`).
package struct ErrorDetail: Sendable, Hashable {
    package var kind: ErrorKind
    package var retryable: Bool
    /// Milliseconds to wait before retrying; 0 when unknown.
    package var retryAfterMilliseconds: UInt32
    /// The configured provider that failed; empty for gateway errors.
    package var provider: String
    /// The provider's HTTP status; 0 when no response arrived.
    package var upstreamStatus: UInt32
    /// The provider's message, already redacted.
    package var upstreamMessage: String
    package var upstreamCode: String
    package var requestID: String

    package init(
        kind: ErrorKind = .unspecified,
        retryable: Bool = false,
        retryAfterMilliseconds: UInt32 = 0,
        provider: String = "",
        upstreamStatus: UInt32 = 0,
        upstreamMessage: String = "",
        upstreamCode: String = "",
        requestID: String = ""
    ) {
        self.kind = kind
        self.retryable = retryable
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.provider = provider
        self.upstreamStatus = upstreamStatus
        self.upstreamMessage = upstreamMessage
        self.upstreamCode = upstreamCode
        self.requestID = requestID
    }
}

/// The per-call error of the gateway: it becomes the END frame of the call's stream.
///
/// Every module maps its own failures (upstream HTTP errors, decode errors, limits) to this
/// type at its boundary, choosing the status code and error kind the client sees.
package struct GatewayError: Error, Sendable, Hashable, CustomStringConvertible {
    package var code: StatusCode
    package var message: String
    package var detail: ErrorDetail

    package init(code: StatusCode, message: String, detail: ErrorDetail) {
        self.code = code
        self.message = message
        self.detail = detail
    }

    package init(_ code: StatusCode, _ kind: ErrorKind, _ message: String, retryable: Bool = false) {
        self.init(code: code, message: message, detail: ErrorDetail(kind: kind, retryable: retryable))
    }

    package var description: String {
        "\(code): \"\(message)\""
    }

    // MARK: Common errors

    package static func invalidRequest(_ message: String) -> GatewayError {
        GatewayError(.invalidArgument, .invalidRequest, message)
    }

    package static func unknownModel(_ name: String) -> GatewayError {
        GatewayError(.notFound, .unknownModel, "unknown model \"\(name)\"")
    }

    package static func unsupported(_ feature: String, provider: String) -> GatewayError {
        var error = GatewayError(
            .invalidArgument, .unsupportedFeature, "\(feature) is not supported by provider \"\(provider)\"")
        error.detail.provider = provider
        return error
    }

    package static func unimplemented(_ message: String) -> GatewayError {
        GatewayError(.unimplemented, .invalidRequest, message)
    }

    package static func cancelled() -> GatewayError {
        GatewayError(.cancelled, .cancelled, "call cancelled by the client")
    }

    package static func deadlineExceeded() -> GatewayError {
        GatewayError(.deadlineExceeded, .deadlineExceeded, "deadline exceeded")
    }

    package static func shuttingDown() -> GatewayError {
        GatewayError(.unavailable, .shuttingDown, "gateway is shutting down", retryable: true)
    }

    package static func internalError(_ message: String) -> GatewayError {
        GatewayError(.internal, .internal, message)
    }
}
