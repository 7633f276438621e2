import ModelGateCore
import ModelGateWire
import NIOCore

/// Why the server stopped a stream before its call finished.
enum StreamCancellation: Sendable, Hashable {
    /// The client sent CANCEL.
    case client
    /// The call's deadline passed.
    case deadline
    /// The connection closed (or broke the protocol); nothing more can be sent.
    case connectionClosed
    /// The server's drain period ended.
    case shutdown

    /// The error the stream ends with, or nil when no END can be sent.
    var error: GatewayError? {
        switch self {
        case .client: .cancelled()
        case .deadline: .deadlineExceeded()
        case .shutdown: .shuttingDown()
        case .connectionClosed: nil
        }
    }
}

/// A stream as the server's connection sees it. Event-loop confined.
final class ServerStream {
    enum Phase {
        /// CALL read, waiting for the request MESSAGE.
        case awaitingRequest
        /// The call's task is running.
        case running(Task<Void, Never>)
    }

    let id: UInt32
    let header: CallHeader
    let method: GatewayMethod
    let requestID: String
    let deadline: ContinuousClock.Instant?
    var phase: Phase = .awaitingRequest
    /// Bytes of MESSAGE payload the client will still accept.
    var credit: Int64
    /// The call task, parked until credit or writability returns.
    var waiter: CheckedContinuation<Void, any Error>?
    var cancellation: StreamCancellation?
    var deadlineTimer: Scheduled<Void>?

    init(
        id: UInt32, header: CallHeader, method: GatewayMethod, requestID: String,
        deadline: ContinuousClock.Instant?, credit: Int64
    ) {
        self.id = id
        self.header = header
        self.method = method
        self.requestID = requestID
        self.deadline = deadline
        self.credit = credit
    }

    /// Wakes a parked task, with an error when the stream was stopped.
    func wake(throwing error: (any Error)? = nil) {
        guard let waiter else { return }
        self.waiter = nil
        if let error { waiter.resume(throwing: error) } else { waiter.resume() }
    }
}

/// The methods of `modelgate.v1.Gateway`.
enum GatewayMethod: String, Sendable, CaseIterable {
    case chat = "/modelgate.v1.Gateway/Chat"
    case chatStream = "/modelgate.v1.Gateway/ChatStream"
    case embed = "/modelgate.v1.Gateway/Embed"
    case predict = "/modelgate.v1.Gateway/Predict"
    case listModels = "/modelgate.v1.Gateway/ListModels"
    case health = "/modelgate.v1.Gateway/Health"
}

/// A decoded request, ready to run.
enum GatewayCall: Sendable {
    case chat(ChatRequest)
    case chatStream(ChatRequest)
    case embed(EmbedRequest)
    case predict(PredictRequest)
    case listModels
    case health

    init(method: GatewayMethod, payload: ByteBuffer, codec: WireCodec) throws(WireDecodingError) {
        switch method {
        case .chat: self = .chat(try codec.decode(ChatRequest.self, payload))
        case .chatStream: self = .chatStream(try codec.decode(ChatRequest.self, payload))
        case .embed: self = .embed(try codec.decode(EmbedRequest.self, payload))
        case .predict: self = .predict(try codec.decode(PredictRequest.self, payload))
        case .listModels:
            _ = try codec.decode(ListModelsRequest.self, payload)
            self = .listModels
        case .health:
            _ = try codec.decode(HealthRequest.self, payload)
            self = .health
        }
    }
}
