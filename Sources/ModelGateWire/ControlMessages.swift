import CModelGateProto
import CProtobufC
import ModelGateCore

/// Limits one side announces in its HELLO (`modelgate.v1.Settings`); zero means the default.
package struct WireSettings: Sendable, Hashable {
    package var maxFrameSize: UInt32
    package var maxConcurrentStreams: UInt32
    package var initialWindowSize: UInt32

    package init(maxFrameSize: UInt32 = 0, maxConcurrentStreams: UInt32 = 0, initialWindowSize: UInt32 = 0) {
        self.maxFrameSize = maxFrameSize
        self.maxConcurrentStreams = maxConcurrentStreams
        self.initialWindowSize = initialWindowSize
    }

    /// `maxFrameSize` with the default applied.
    package var effectiveMaxFrameSize: UInt32 {
        maxFrameSize == 0 ? WireProtocol.defaultMaxFrameSize : maxFrameSize
    }

    package var effectiveMaxConcurrentStreams: UInt32 {
        maxConcurrentStreams == 0 ? WireProtocol.defaultMaxConcurrentStreams : maxConcurrentStreams
    }

    package var effectiveInitialWindowSize: UInt32 {
        initialWindowSize == 0 ? WireProtocol.defaultInitialWindowSize : initialWindowSize
    }
}

/// HELLO payload (`modelgate.v1.Hello`).
package struct HelloMessage: Sendable, Hashable {
    package var version: UInt32
    package var agent: String
    package var settings: WireSettings

    package init(version: UInt32 = WireProtocol.version, agent: String, settings: WireSettings) {
        self.version = version
        self.agent = agent
        self.settings = settings
    }
}

/// CALL payload (`modelgate.v1.CallHeader`).
package struct CallHeader: Sendable, Hashable {
    package var method: String
    /// Relative deadline in microseconds; 0 for none.
    package var timeoutMicros: UInt64
    package var metadata: [String: String]
    package var requestID: String

    package init(method: String, timeoutMicros: UInt64 = 0, metadata: [String: String] = [:], requestID: String = "") {
        self.method = method
        self.timeoutMicros = timeoutMicros
        self.metadata = metadata
        self.requestID = requestID
    }
}

/// END payload (`modelgate.v1.EndStatus`).
package struct EndStatus: Sendable, Hashable {
    package var code: StatusCode
    package var message: String
    package var detail: ErrorDetail?
    package var trailers: [String: String]

    package init(code: StatusCode, message: String = "", detail: ErrorDetail? = nil, trailers: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.detail = detail
        self.trailers = trailers
    }

    package static let ok = EndStatus(code: .ok)

    package init(_ error: GatewayError) {
        self.init(code: error.code, message: error.message, detail: error.detail)
    }
}

/// Why a connection is going away (`modelgate.v1.GoAwayCode`).
package enum GoAwayCode: Int32, Sendable, Hashable, CustomStringConvertible {
    case noError = 0
    case protocolError = 1
    case frameSizeError = 2
    case badMagic = 3
    case unsupportedVersion = 4
    case timeout = 5
    case enhanceYourCalm = 6
    case connectionLimit = 7
    case internalError = 8

    package var description: String {
        switch self {
        case .noError: "GOAWAY_NO_ERROR"
        case .protocolError: "GOAWAY_PROTOCOL_ERROR"
        case .frameSizeError: "GOAWAY_FRAME_SIZE_ERROR"
        case .badMagic: "GOAWAY_BAD_MAGIC"
        case .unsupportedVersion: "GOAWAY_UNSUPPORTED_VERSION"
        case .timeout: "GOAWAY_TIMEOUT"
        case .enhanceYourCalm: "GOAWAY_ENHANCE_YOUR_CALM"
        case .connectionLimit: "GOAWAY_CONNECTION_LIMIT"
        case .internalError: "GOAWAY_INTERNAL_ERROR"
        }
    }
}

/// GOAWAY payload (`modelgate.v1.GoAway`).
package struct GoAwayMessage: Sendable, Hashable, Error {
    package var lastStreamID: UInt32
    package var code: GoAwayCode
    package var reason: String

    package init(lastStreamID: UInt32, code: GoAwayCode, reason: String) {
        self.lastStreamID = lastStreamID
        self.code = code
        self.reason = reason
    }
}

// MARK: - protobuf-c conversions

extension Modelgate__V1__StatusCode: CEnum {}
extension Modelgate__V1__ErrorKind: CEnum {}
extension Modelgate__V1__GoAwayCode: CEnum {}

extension HelloMessage: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.Hello"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__Hello>?
    { modelgate__v1__hello__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__Hello, reader: CMessageReader) throws(WireDecodingError) {
        self.version = m.version
        self.agent = try reader.string(m.agent, field: "agent")
        if let s = m.settings {
            self.settings = WireSettings(
                maxFrameSize: s.pointee.max_frame_size,
                maxConcurrentStreams: s.pointee.max_concurrent_streams,
                initialWindowSize: s.pointee.initial_window_size)
        } else {
            self.settings = WireSettings()
        }
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__Hello> {
        b.message(modelgate__v1__hello__init) { m in
            m.version = version
            m.agent = b.optionalString(agent)
            m.settings = b.message(modelgate__v1__settings__init) { s in
                s.max_frame_size = settings.maxFrameSize
                s.max_concurrent_streams = settings.maxConcurrentStreams
                s.initial_window_size = settings.initialWindowSize
            }
        }
    }
}

extension CallHeader: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.CallHeader"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__CallHeader>?
    { modelgate__v1__call_header__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__CallHeader, reader: CMessageReader) throws(WireDecodingError) {
        self.method = try reader.string(m.method, field: "method")
        self.timeoutMicros = m.timeout_micros
        self.metadata = try reader.map(m.metadata, count: m.n_metadata, field: "metadata")
        self.requestID = try reader.string(m.request_id, field: "request_id")
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__CallHeader> {
        b.message(modelgate__v1__call_header__init) { m in
            m.method = b.optionalString(method)
            m.timeout_micros = timeoutMicros
            m.n_metadata = metadata.count
            m.metadata = b.map(metadata)
            m.request_id = b.optionalString(requestID)
        }
    }
}

extension ErrorDetail: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.ErrorDetail"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__ErrorDetail>?
    { modelgate__v1__error_detail__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__ErrorDetail, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            kind: ErrorKind(wireValue: m.kind.wire),
            retryable: m.retryable != 0,
            retryAfterMilliseconds: m.retry_after_ms,
            provider: try reader.string(m.provider, field: "provider"),
            upstreamStatus: m.upstream_status,
            upstreamMessage: try reader.string(m.upstream_message, field: "upstream_message"),
            upstreamCode: try reader.string(m.upstream_code, field: "upstream_code"),
            requestID: try reader.string(m.request_id, field: "request_id"))
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__ErrorDetail> {
        b.message(modelgate__v1__error_detail__init) { m in
            m.kind = Modelgate__V1__ErrorKind(wire: kind.rawValue)
            m.retryable = retryable ? 1 : 0
            m.retry_after_ms = retryAfterMilliseconds
            m.provider = b.optionalString(provider)
            m.upstream_status = upstreamStatus
            m.upstream_message = b.optionalString(upstreamMessage)
            m.upstream_code = b.optionalString(upstreamCode)
            m.request_id = b.optionalString(requestID)
        }
    }
}

extension EndStatus: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.EndStatus"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__EndStatus>?
    { modelgate__v1__end_status__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__EndStatus, reader: CMessageReader) throws(WireDecodingError) {
        self.code = StatusCode(wireValue: m.code.wire)
        self.message = try reader.string(m.message, field: "message")
        self.detail = try m.error.map { (p) throws(WireDecodingError) in try ErrorDetail(p.pointee, reader: reader) }
        self.trailers = try reader.map(m.trailers, count: m.n_trailers, field: "trailers")
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__EndStatus> {
        b.message(modelgate__v1__end_status__init) { m in
            m.code = Modelgate__V1__StatusCode(wire: code.rawValue)
            m.message = b.optionalString(message)
            m.error = detail?.cMessage(b)
            m.n_trailers = trailers.count
            m.trailers = b.map(trailers)
        }
    }
}

extension GoAwayMessage: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.GoAway"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__GoAway>?
    { modelgate__v1__go_away__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__GoAway, reader: CMessageReader) throws(WireDecodingError) {
        self.lastStreamID = m.last_stream_id
        self.code = GoAwayCode(rawValue: m.code.wire) ?? .internalError
        self.reason = try reader.string(m.reason, field: "reason")
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__GoAway> {
        b.message(modelgate__v1__go_away__init) { m in
            m.last_stream_id = lastStreamID
            m.code = Modelgate__V1__GoAwayCode(wire: code.rawValue)
            m.reason = b.optionalString(reason)
        }
    }
}
