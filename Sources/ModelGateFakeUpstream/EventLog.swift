import NIOCore
import NIOHTTP1
import Synchronization

/// How a logged request ended, as `/_fake/events` reports it.
package enum FakeUpstreamOutcome: String, Sendable {
    case inProgress = "in_progress"
    case completed
    /// The peer closed before the response ended: how tests see that the gateway cancelled.
    case clientClosed = "client_closed"
    /// A `reset_after` fault reset the connection.
    case reset
    /// The fake upstream rejected the request itself (bad scenario, bad body, unknown path, missing fixture).
    case error
}

/// One request the fake upstream saw (control requests under `/_fake/` are not logged).
package struct FakeUpstreamEvent: Sendable {
    package var seq: Int
    /// The request's `X-Request-Id` header.
    package var requestID: String?
    package var method: String
    /// The request target as received, query included.
    package var path: String
    package var model: String?
    /// The scenario text applied: the `X-Fake-Scenario` header, else the model name.
    package var scenario: String?
    package var stream: Bool
    /// Unix epoch milliseconds.
    package var startedMilliseconds: Int64
    package var endedMilliseconds: Int64?
    package var outcome: FakeUpstreamOutcome
    /// The HTTP status sent, nil until the response head is written.
    package var status: Int?
    /// Response body bytes written so far (payload only: no head, no chunk framing).
    package var bodyBytesSent: Int
}

/// A request exactly as received, for `/_fake/requests/SEQ`.
package struct FakeUpstreamRequestRecord: Sendable {
    package var seq: Int
    package var method: String
    package var path: String
    package var headers: HTTPHeaders
    package var body: [UInt8]
}

/// The bounded, thread-safe record of what the fake upstream saw.
///
/// Sequence numbers keep counting across `reset()`, so a request still in flight from before a
/// reset can never be confused with a new one.
package final class FakeUpstreamEventLog: Sendable {
    private struct State {
        var nextSeq = 1
        /// Contiguous by `seq`: record `i` has `seq == events.first.seq + i`.
        var events = CircularBuffer<FakeUpstreamEvent>(initialCapacity: 1024)
        var requests = CircularBuffer<FakeUpstreamRequestRecord>(initialCapacity: 64)
        var requestBytes = 0
    }

    private let state = Mutex(State())
    private let maxEvents: Int
    private let maxRequests: Int
    private let maxRequestBytes: Int

    package init(maxEvents: Int = 10_000, maxRequests: Int = 1_000, maxRequestBytes: Int = 64 << 20) {
        self.maxEvents = max(maxEvents, 1)
        self.maxRequests = max(maxRequests, 0)
        self.maxRequestBytes = maxRequestBytes
    }

    /// Logs a new request and returns its `seq`.
    func begin(
        method: String, path: String, headers: HTTPHeaders, body: ByteBuffer?, requestID: String?, model: String?,
        scenario: String?, stream: Bool
    ) -> Int {
        let now = WallClock.nowMilliseconds()
        // Copy the body out of the receive buffer: holding a slice would pin the whole buffer.
        let bodyBytes = body.map { Array($0.readableBytesView) } ?? []
        return self.state.withLock { state in
            let seq = state.nextSeq
            state.nextSeq += 1
            state.events.append(
                FakeUpstreamEvent(
                    seq: seq, requestID: requestID, method: method, path: path, model: model, scenario: scenario,
                    stream: stream, startedMilliseconds: now, endedMilliseconds: nil, outcome: .inProgress, status: nil,
                    bodyBytesSent: 0))
            if state.events.count > self.maxEvents {
                state.events.removeFirst()
            }
            if self.maxRequests > 0 {
                state.requests.append(
                    FakeUpstreamRequestRecord(seq: seq, method: method, path: path, headers: headers, body: bodyBytes))
                state.requestBytes += bodyBytes.count
                while state.requests.count > self.maxRequests
                    || (state.requestBytes > self.maxRequestBytes && state.requests.count > 1)
                {
                    state.requestBytes -= state.requests.removeFirst().body.count
                }
            }
            return seq
        }
    }

    /// Records progress of an unfinished request (no-op once it has an outcome or was forgotten).
    func progress(seq: Int, status: Int?, bodyBytesSent: Int) {
        self.state.withLock { state in
            Self.withEvent(seq: seq, in: &state) { event in
                guard event.outcome == .inProgress else { return }
                event.status = status
                event.bodyBytesSent = bodyBytesSent
            }
        }
    }

    /// Sets the outcome of an unfinished request; the first outcome wins.
    func finish(seq: Int, outcome: FakeUpstreamOutcome, status: Int?, bodyBytesSent: Int) {
        let now = WallClock.nowMilliseconds()
        self.state.withLock { state in
            Self.withEvent(seq: seq, in: &state) { event in
                guard event.outcome == .inProgress else { return }
                event.outcome = outcome
                event.endedMilliseconds = now
                event.status = status
                event.bodyBytesSent = bodyBytesSent
            }
        }
    }

    private static func withEvent(seq: Int, in state: inout State, _ body: (inout FakeUpstreamEvent) -> Void) {
        guard let first = state.events.first?.seq else { return }
        let offset = seq - first
        guard offset >= 0, offset < state.events.count else { return }
        let index = state.events.index(state.events.startIndex, offsetBy: offset)
        body(&state.events[index])
    }

    /// Events in arrival order, optionally only those with `X-Request-Id == requestID`.
    package func events(requestID: String? = nil) -> [FakeUpstreamEvent] {
        self.state.withLock { state in
            if let requestID {
                return state.events.filter { $0.requestID == requestID }
            }
            return Array(state.events)
        }
    }

    /// The stored request with `seq`, if it is still kept.
    package func request(seq: Int) -> FakeUpstreamRequestRecord? {
        self.state.withLock { state in
            state.requests.first { $0.seq == seq }
        }
    }

    /// Forgets all events and stored requests.
    package func reset() {
        self.state.withLock { state in
            state.events.removeAll(keepingCapacity: true)
            state.requests.removeAll(keepingCapacity: true)
            state.requestBytes = 0
        }
    }
}

// MARK: JSON rendering for the control endpoints

extension FakeUpstreamEvent {
    func writeJSON(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"seq\":")
        buffer.writeDecimal(self.seq)
        buffer.writeStaticString(",\"request_id\":")
        buffer.writeJSONStringOrNull(self.requestID)
        buffer.writeStaticString(",\"method\":")
        buffer.writeJSONString(self.method)
        buffer.writeStaticString(",\"path\":")
        buffer.writeJSONString(self.path)
        buffer.writeStaticString(",\"model\":")
        buffer.writeJSONStringOrNull(self.model)
        buffer.writeStaticString(",\"scenario\":")
        buffer.writeJSONStringOrNull(self.scenario)
        buffer.writeStaticString(",\"stream\":")
        if self.stream {
            buffer.writeStaticString("true")
        } else {
            buffer.writeStaticString("false")
        }
        buffer.writeStaticString(",\"started_ms\":")
        buffer.writeDecimal(self.startedMilliseconds)
        buffer.writeStaticString(",\"ended_ms\":")
        if let ended = self.endedMilliseconds {
            buffer.writeDecimal(ended)
        } else {
            buffer.writeStaticString("null")
        }
        buffer.writeStaticString(",\"outcome\":\"")
        buffer.writeString(self.outcome.rawValue)
        buffer.writeStaticString("\",\"status\":")
        if let status = self.status {
            buffer.writeDecimal(status)
        } else {
            buffer.writeStaticString("null")
        }
        buffer.writeStaticString(",\"body_bytes_sent\":")
        buffer.writeDecimal(self.bodyBytesSent)
        buffer.writeStaticString("}")
    }
}

extension FakeUpstreamRequestRecord {
    func writeJSON(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"seq\":")
        buffer.writeDecimal(self.seq)
        buffer.writeStaticString(",\"method\":")
        buffer.writeJSONString(self.method)
        buffer.writeStaticString(",\"path\":")
        buffer.writeJSONString(self.path)
        buffer.writeStaticString(",\"headers\":[")
        var first = true
        for (name, value) in self.headers {
            if !first { buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            buffer.writeInteger(UInt8(ascii: "["))
            buffer.writeJSONString(name)
            buffer.writeInteger(UInt8(ascii: ","))
            buffer.writeJSONString(value)
            buffer.writeInteger(UInt8(ascii: "]"))
        }
        buffer.writeStaticString("],\"body\":")
        buffer.writeJSONString(String(decoding: self.body, as: UTF8.self))
        buffer.writeStaticString("}")
    }
}
