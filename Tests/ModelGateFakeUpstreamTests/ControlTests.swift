import Foundation
import Testing

@testable import ModelGateFakeUpstream

@Suite("Control endpoints")
struct ControlTests {
    @Test func eventsRecordEveryRequestInOrder() async throws {
        try await withFakeUpstream { port in
            let body = #"{"model":"tokens=2","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
            let streamed = try send(port: port, headers: [("X-Request-Id", "abc")], body: body)
            _ = try send(port: port, path: "/v1/embeddings", headers: [("X-Request-Id", "def")], body: #"{"model":"e","input":"x"}"#)
            _ = try send(port: port, path: "/v1/nowhere", body: "{}")

            let all = try events(port: port)
            #expect(all.count == 3)
            #expect(all.map { $0["seq"] as? Int } == [1, 2, 3])
            let first = try #require(all.first)
            #expect(first["request_id"] as? String == "abc")
            #expect(first["method"] as? String == "POST")
            #expect(first["path"] as? String == "/v1/chat/completions")
            #expect(first["model"] as? String == "tokens=2")
            #expect(first["scenario"] as? String == "tokens=2")
            #expect(first["stream"] as? Bool == true)
            #expect(first["outcome"] as? String == "completed")
            #expect(first["status"] as? Int == 200)
            #expect(first["body_bytes_sent"] as? Int == streamed.body.count)
            let started = try #require(first["started_ms"] as? Int)
            let ended = try #require(first["ended_ms"] as? Int)
            #expect(ended >= started)
            #expect(all[2]["outcome"] as? String == "error")
            #expect(all[2]["status"] as? Int == 404)

            let filtered = try events(port: port, requestID: "def")
            #expect(filtered.count == 1)
            #expect(filtered.first?["path"] as? String == "/v1/embeddings")
            #expect(try events(port: port, requestID: "nobody").isEmpty)
        }
    }

    @Test func requestsEndpointShowsExactlyWhatWasSent() async throws {
        try await withFakeUpstream { port in
            let body = #"{"model":"tokens=1","messages":[{"role":"user","content":"quote \" and \\ and é"}]}"#
            let response = try send(
                port: port, path: "/v1/chat/completions?x=1", headers: [("Authorization", "Bearer sk-test"), ("X-Request-Id", "r1")],
                body: body)
            let seq = try seq(of: response)

            let record = try send(port: port, method: "GET", path: "/_fake/requests/\(seq)")
            #expect(record.status == 200)
            let object = try jsonObject(record.body)
            #expect(object["method"] as? String == "POST")
            #expect(object["path"] as? String == "/v1/chat/completions?x=1")
            #expect(object["body"] as? String == body)
            let headers = try #require(object["headers"] as? [[String]])
            #expect(headers.contains(["Authorization", "Bearer sk-test"]))
            #expect(headers.contains(["X-Request-Id", "r1"]))

            #expect(try send(port: port, method: "GET", path: "/_fake/requests/999").status == 404)
            #expect(try send(port: port, method: "GET", path: "/_fake/requests/abc").status == 400)
        }
    }

    @Test func resetForgetsEventsButSeqKeepsCounting() async throws {
        try await withFakeUpstream { port in
            _ = try send(port: port, body: #"{"model":"tokens=1"}"#)
            let reset = try send(port: port, method: "POST", path: "/_fake/reset")
            #expect(reset.status == 200)
            #expect(try events(port: port).isEmpty)
            #expect(try send(port: port, method: "GET", path: "/_fake/requests/1").status == 404)
            let next = try send(port: port, body: #"{"model":"tokens=1"}"#)
            #expect(try seq(of: next) == 2)
            #expect(try events(port: port).map { $0["seq"] as? Int } == [2])
            #expect(try send(port: port, method: "GET", path: "/_fake/unknown").status == 404)
            #expect(try send(port: port, method: "GET", path: "/_fake/reset").status == 405)
        }
    }

    @Test func logKeepsOnlyTheNewestRecords() {
        let log = FakeUpstreamEventLog(maxEvents: 3, maxRequests: 2)
        for index in 1...5 {
            _ = log.begin(
                method: "POST", path: "/p", headers: [:], body: nil, requestID: "\(index)", model: nil, scenario: nil,
                stream: false)
        }
        #expect(log.events().map(\.seq) == [3, 4, 5])
        #expect(log.request(seq: 3) == nil)
        #expect(log.request(seq: 5)?.seq == 5)
        log.finish(seq: 4, outcome: .clientClosed, status: nil, bodyBytesSent: 0)
        log.finish(seq: 4, outcome: .completed, status: 200, bodyBytesSent: 9)
        #expect(log.events(requestID: "4").first?.outcome == .clientClosed)
    }
}
