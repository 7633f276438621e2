import Foundation
import Testing

@testable import ModelGateFakeUpstream

@Suite("Faults")
struct FaultTests {
    @Test func statusWithRetryAfterGivesAnOpenAIError() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, body: #"{"model":"status=429;retry_after=2","stream":true}"#)
            #expect(response.status == 429)
            #expect(response.header("retry-after") == "2")
            #expect(response.header("content-type") == "application/json")
            let error = try #require(try jsonObject(response.body)["error"] as? [String: Any])
            #expect(Set(error.keys) == ["message", "type", "param", "code"])
            #expect(error["code"] as? String == "rate_limit_exceeded")
            #expect(error["param"] is NSNull)
            #expect((error["message"] as? String)?.isEmpty == false)
        }
    }

    @Test func errorFieldsAndRetryAfterMillisecondsCanBeSet() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port,
                headers: [
                    (
                        "X-Fake-Scenario",
                        "status=400;retry_after_ms=1500;error_code=context_length_exceeded;error_type=invalid_request_error;error_message=too%20long%3B%20sorry"
                    )
                ],
                body: #"{"model":"gpt-4o"}"#)
            #expect(response.status == 400)
            #expect(response.header("retry-after-ms") == "1500")
            let error = try #require(try jsonObject(response.body)["error"] as? [String: Any])
            #expect(error["code"] as? String == "context_length_exceeded")
            #expect(error["type"] as? String == "invalid_request_error")
            #expect(error["message"] as? String == "too long; sorry")

            let nullCode = try send(port: port, body: #"{"model":"status=503;error_code=null"}"#)
            #expect(nullCode.status == 503)
            let nullError = try #require(try jsonObject(nullCode.body)["error"] as? [String: Any])
            #expect(nullError["code"] is NSNull)
            #expect(nullError["type"] as? String == "server_error")
        }
    }

    @Test func resetAfterTwoTokensResetsTheConnection() async throws {
        try await withFakeUpstream { port in
            let connection = try RawHTTPConnection(port: port)
            try connection.send(
                RawHTTPConnection.request(
                    path: "/v1/chat/completions", headers: [("X-Request-Id", "reset-2")],
                    body: #"{"model":"reset_after=2","stream":true}"#))
            do {
                let response = try connection.readResponse()
                Issue.record("stream ended normally: \(response.text)")
            } catch let incomplete as RawHTTPConnection.Incomplete {
                #expect(incomplete.cause == .reset)
                #expect(incomplete.response.status == 200)
                let events = sseEvents(incomplete.response.text)
                #expect(events.count == 3)
                #expect(events.last?.contains(#""content":"tok2 ""#) == true)
            }
            let event = try await waitForEvent(port: port, requestID: "reset-2") { $0["outcome"] as? String != "in_progress" }
            #expect(event["outcome"] as? String == "reset")
            #expect(event["ended_ms"] is Int)
        }
    }

    @Test func resetAfterZeroResetsBeforeTheHead() async throws {
        try await withFakeUpstream { port in
            let connection = try RawHTTPConnection(port: port)
            try connection.send(
                RawHTTPConnection.request(path: "/v1/chat/completions", body: #"{"model":"reset_after=0","stream":true}"#))
            do {
                _ = try connection.readResponse()
                Issue.record("got a response")
            } catch let incomplete as RawHTTPConnection.Incomplete {
                #expect(incomplete.cause == .reset)
                #expect(incomplete.response.status == 0)
            }
        }
    }

    @Test func stallHeadersThenClientCloseIsRecordedAsClientClosed() async throws {
        try await withFakeUpstream { port in
            let connection = try RawHTTPConnection(port: port)
            try connection.send(
                RawHTTPConnection.request(
                    path: "/v1/chat/completions", headers: [("X-Request-Id", "stall-headers")],
                    body: #"{"model":"stall_headers","stream":true}"#))
            let seen = try await waitForEvent(port: port, requestID: "stall-headers") { _ in true }
            #expect(seen["outcome"] as? String == "in_progress")
            #expect(seen["ended_ms"] is NSNull)
            connection.close()
            let event = try await waitForEvent(port: port, requestID: "stall-headers") {
                $0["outcome"] as? String != "in_progress"
            }
            #expect(event["outcome"] as? String == "client_closed")
            #expect(event["status"] is NSNull)
            let started = try #require(event["started_ms"] as? Int)
            let ended = try #require(event["ended_ms"] as? Int)
            #expect(ended >= started)
        }
    }

    @Test func stallAfterSendsTokensThenGoesSilent() async throws {
        try await withFakeUpstream { port in
            let connection = try RawHTTPConnection(port: port, timeoutSeconds: 1)
            try connection.send(
                RawHTTPConnection.request(
                    path: "/v1/chat/completions", headers: [("X-Request-Id", "stall-after")],
                    body: #"{"model":"tokens=5;stall_after=1","stream":true}"#))
            do {
                _ = try connection.readResponse()
                Issue.record("stream ended")
            } catch let incomplete as RawHTTPConnection.Incomplete {
                // The receive timeout is how a client notices silence.
                #expect(incomplete.cause == .timedOut)
                #expect(sseEvents(incomplete.response.text).count == 2)
            }
            let stalled = try await waitForEvent(port: port, requestID: "stall-after") { ($0["body_bytes_sent"] as? Int ?? 0) > 0 }
            #expect(stalled["outcome"] as? String == "in_progress")
            #expect(stalled["status"] as? Int == 200)
            connection.close()
            let event = try await waitForEvent(port: port, requestID: "stall-after") {
                $0["outcome"] as? String != "in_progress"
            }
            #expect(event["outcome"] as? String == "client_closed")
        }
    }

    @Test func clientClosingAPacedStreamIsRecorded() async throws {
        try await withFakeUpstream { port in
            let connection = try RawHTTPConnection(port: port)
            try connection.send(
                RawHTTPConnection.request(
                    path: "/v1/chat/completions", headers: [("X-Request-Id", "cancel-mid")],
                    body: #"{"model":"tokens=100000;pace_ms=20","stream":true}"#))
            _ = try await waitForEvent(port: port, requestID: "cancel-mid") { ($0["body_bytes_sent"] as? Int ?? 0) > 0 }
            connection.close()
            let event = try await waitForEvent(port: port, requestID: "cancel-mid") {
                $0["outcome"] as? String != "in_progress"
            }
            #expect(event["outcome"] as? String == "client_closed")
        }
    }

    @Test func malformedAfterInsertsBrokenJSONAndEndsNormally() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, body: #"{"model":"tokens=3;malformed_after=1","stream":true}"#)
            #expect(response.complete)
            let events = sseEvents(response.text)
            #expect(events.count == 7)
            #expect(events[2] == #"data: {"choices": ["#)
            #expect(events[1].contains(#""content":"tok1 ""#))
            #expect(events[3].contains(#""content":"tok2 ""#))
            #expect(events.last == "data: [DONE]")
        }
    }

    @Test func errorEventAfterEndsTheStreamWithAnErrorEvent() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, body: #"{"model":"tokens=5;error_event_after=2;error_message=boom","stream":true}"#)
            #expect(response.complete)
            let events = sseEvents(response.text)
            #expect(events.count == 4)
            #expect(events[2].contains(#""content":"tok2 ""#))
            let last = try #require(events.last)
            #expect(last.hasPrefix("data: "))
            let error = try #require(try jsonObject(Array(last.dropFirst(6).utf8))["error"] as? [String: Any])
            #expect(error["message"] as? String == "boom")
            #expect(Set(error.keys) == ["message", "type", "param", "code"])
            #expect(!response.text.contains("[DONE]"))
        }
    }

    @Test func noDoneEndsCleanlyWithoutDone() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port,
                body: #"{"model":"tokens=2;no_done","stream":true,"stream_options":{"include_usage":true}}"#)
            #expect(response.complete)
            let events = sseEvents(response.text)
            #expect(events.count == 5)
            #expect(events.last?.contains(#""usage""#) == true)
            #expect(!response.text.contains("[DONE]"))
        }
    }

    @Test func unaryAnswersTakeMalformedAndResetFaults() async throws {
        try await withFakeUpstream { port in
            let malformed = try send(port: port, body: #"{"model":"malformed_after=0"}"#)
            #expect(malformed.status == 200)
            #expect(malformed.text == #"{"choices": ["#)

            let connection = try RawHTTPConnection(port: port)
            try connection.send(RawHTTPConnection.request(path: "/v1/embeddings", body: #"{"model":"reset_after=3","input":"x"}"#))
            #expect(throws: RawHTTPConnection.Incomplete.self) { try connection.readResponse() }
        }
    }

    @Test func unknownScenarioKeyIsA400NamingIt() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, body: #"{"model":"tokens=2;tokenz=3","stream":true}"#)
            #expect(response.status == 400)
            let error = try #require(try jsonObject(response.body)["error"] as? [String: Any])
            #expect((error["message"] as? String)?.contains("\"tokenz\"") == true)
            #expect(error["type"] as? String == "invalid_request_error")
            #expect(error["code"] as? String == "unknown_scenario_key")

            let header = try send(port: port, headers: [("X-Fake-Scenario", "bogus_flag")], body: #"{"model":"gpt-4o"}"#)
            #expect(header.status == 400)
            let headerError = try #require(try jsonObject(header.body)["error"] as? [String: Any])
            #expect(headerError["param"] as? String == "x-fake-scenario")

            let combination = try send(port: port, body: #"{"model":"tokens=2;chunk=4"}"#)
            #expect(combination.status == 400)

            let event = try #require(try events(port: port).first)
            #expect(event["outcome"] as? String == "error")
            #expect(event["status"] as? Int == 400)
        }
    }
}
