/// A call's outcome, numbered as gRPC status codes (`modelgate.v1.StatusCode`).
package enum StatusCode: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case ok = 0
    case cancelled = 1
    case unknown = 2
    case invalidArgument = 3
    case deadlineExceeded = 4
    case notFound = 5
    case alreadyExists = 6
    case permissionDenied = 7
    case resourceExhausted = 8
    case failedPrecondition = 9
    case aborted = 10
    case outOfRange = 11
    case unimplemented = 12
    case `internal` = 13
    case unavailable = 14
    case dataLoss = 15
    case unauthenticated = 16

    /// The code for a raw wire value; unknown values become `.unknown`, as gRPC clients do.
    package init(wireValue: Int32) {
        self = StatusCode(rawValue: wireValue) ?? .unknown
    }

    /// The gRPC spelling, e.g. `RESOURCE_EXHAUSTED`.
    package var description: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }
}

/// What went wrong, finer than the status code (`modelgate.v1.ErrorKind`).
package enum ErrorKind: Int32, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case invalidRequest = 1
    case unknownModel = 2
    case unsupportedFeature = 3
    case contextLengthExceeded = 4
    case contentFiltered = 5
    case rateLimited = 6
    case quotaExceeded = 7
    case upstreamAuth = 8
    case upstreamPermission = 9
    case upstreamNotFound = 10
    case upstreamUnavailable = 11
    case upstreamTimeout = 12
    case upstreamTruncated = 13
    case upstreamMalformed = 14
    case deadlineExceeded = 15
    case cancelled = 16
    case gatewayLimit = 17
    case budgetExceeded = 18
    case shuttingDown = 19
    case `internal` = 20
    case upstreamConflict = 21

    package init(wireValue: Int32) {
        self = ErrorKind(rawValue: wireValue) ?? .unspecified
    }
}
