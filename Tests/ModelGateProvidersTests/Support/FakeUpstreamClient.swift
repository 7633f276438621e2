import ModelGateCore
import ModelGateUpstream
import Synchronization

/// A transport double for adapter unit tests: answers every request with one canned
/// response (or error) and records the requests it was given.
final class FakeUpstreamClient: UpstreamHTTPClient {
    enum Reply: Sendable {
        case response(status: Int, headers: [HTTPHeader], chunks: [[UInt8]])
        case failure(any Error & Sendable)
    }

    private let reply: Reply
    private let recorded = Mutex<[UpstreamRequest]>([])

    init(_ reply: Reply) {
        self.reply = reply
    }

    /// Answers `status` with `body`, delivered in pieces of `chunkSize` bytes.
    convenience init(status: Int = 200, headers: [HTTPHeader] = [], body: [UInt8], chunkSize: Int = .max) {
        var chunks: [[UInt8]] = []
        var start = 0
        while start < body.count {
            let end = min(body.count, start + min(chunkSize, body.count - start))
            chunks.append(Array(body[start..<end]))
            start = end
        }
        self.init(.response(status: status, headers: headers, chunks: chunks))
    }

    convenience init(status: Int = 200, headers: [HTTPHeader] = [], json: String) {
        self.init(status: status, headers: headers, body: Array(json.utf8))
    }

    var requests: [UpstreamRequest] { recorded.withLock { $0 } }

    func execute(_ request: consuming UpstreamRequest) async throws -> UpstreamResponse {
        let request = copy request
        recorded.withLock { $0.append(request) }
        switch reply {
        case .response(let status, let headers, let chunks):
            return UpstreamResponse(status: status, headers: HTTPHeaders(headers), body: UpstreamBody(chunks: chunks))
        case .failure(let error):
            throw error
        }
    }
}

/// A sink that records events; optionally it fails like a cancelled call after some events.
final class RecordingSink: ChatEventSink {
    private let storage = Mutex<[ChatStreamEvent]>([])
    private let failAfter: Int?

    init(failAfter: Int? = nil) {
        self.failAfter = failAfter
    }

    var events: [ChatStreamEvent] { storage.withLock { $0 } }

    func send(_ event: ChatStreamEvent) async throws {
        try storage.withLock { events in
            if let failAfter, events.count >= failAfter { throw CancellationError() }
            events.append(event)
        }
    }
}
