import Foundation
import ModelGateTestSupport
import Testing

@testable import ModelGateUpstream

/// Runs `body` with a started client, shutting it down afterwards.
private func withClient<T>(
    _ configuration: CurlClient.Configuration = CurlClient.Configuration(), _ body: (CurlClient) async throws -> T
) async throws -> T {
    let client = CurlClient(configuration: configuration)
    client.start()
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

private func chatRequest(_ upstream: FakeUpstreamProcess, scenario: String, stream: Bool, requestID: String = "")
    -> UpstreamRequest
{
    let body = #"{"model":"\#(scenario)","stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#
    var headers = [HTTPHeader("Content-Type", "application/json")]
    if !requestID.isEmpty { headers.append(HTTPHeader("X-Request-Id", requestID)) }
    return UpstreamRequest(
        url: upstream.baseURL + "/chat/completions", headers: headers, body: Array(body.utf8),
        timeouts: UpstreamTimeouts(connect: .seconds(2), firstByte: .seconds(5), idle: .seconds(5)),
        streamsResponse: stream)
}

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@Suite("libcurl client against the fake upstream", .serialized)
struct CurlClientTests {
    let upstream: FakeUpstreamProcess

    init() throws {
        upstream = try FakeUpstreamProcess()
    }

    @Test func unaryRequest() async throws {
        try await withClient { client in
            let response = try await client.execute(chatRequest(upstream, scenario: "tokens=3", stream: false))
            #expect(response.status == 200)
            #expect(response.headers["content-type"]?.hasPrefix("application/json") == true)
            let body = text(try await response.body.collect(upTo: 1 << 20))
            #expect(body.contains("\"chat.completion\""))
            #expect(body.contains("tok1 tok2 tok3"))
        }
        upstream.stop()
    }

    @Test(
        "a unary answer larger than the body buffer still arrives whole: its head is handed over once the buffer fills",
        .timeLimit(.minutes(1)))
    func unaryLargerThanTheBodyBuffer() async throws {
        let configuration = CurlClient.Configuration(bodyHighWaterMark: 512, bodyLowWaterMark: 128)
        try await withClient(configuration) { client in
            let response = try await client.execute(
                chatRequest(upstream, scenario: "tokens=3000", stream: false))
            #expect(response.status == 200)
            let body = text(try await response.body.collect(upTo: 1 << 20))
            #expect(body.count > 16 * 1024, "more than one read of libcurl's 16 KiB buffer")
            #expect(body.contains("tok1 tok2") && body.contains("tok3000"))
        }
        upstream.stop()
    }

    @Test("a replayed stream arrives byte for byte, also through tiny pause/resume buffers")
    func replayByteForByte() async throws {
        let fixture = try [UInt8](Data(contentsOf: TestPaths.fixtures.appendingPathComponent("openai_chat_stream.sse")))
        for marks in [(256 * 1024, 64 * 1024), (64, 16)] {
            let configuration = CurlClient.Configuration(bodyHighWaterMark: marks.0, bodyLowWaterMark: marks.1)
            try await withClient(configuration) { client in
                let response = try await client.execute(
                    chatRequest(upstream, scenario: "replay=openai_chat_stream.sse;chunk=7", stream: true))
                var received: [UInt8] = []
                for try await chunk in response.body {
                    received += chunk
                    try await Task.sleep(for: .microseconds(200))  // a slow reader: the transfer pauses
                }
                #expect(received == fixture)
            }
        }
        upstream.stop()
    }

    @Test("error statuses come back with their headers and body")
    func errorStatus() async throws {
        try await withClient { client in
            let response = try await client.execute(
                chatRequest(upstream, scenario: "status=429;retry_after=2", stream: true))
            #expect(response.status == 429)
            #expect(response.headers["retry-after"] == "2")
            #expect(text(try await response.body.collect(upTo: 65536)).contains("\"error\""))
        }
        upstream.stop()
    }

    @Test("a reset mid-stream fails the body read, not the head")
    func resetMidStream() async throws {
        try await withClient { client in
            let response = try await client.execute(chatRequest(upstream, scenario: "tokens=20;reset_after=2", stream: true))
            #expect(response.status == 200)
            let error = await #expect(throws: UpstreamError.self) { _ = try await response.body.collect(upTo: 1 << 20) }
            #expect(error?.kind == .transfer)
        }
        upstream.stop()
    }

    @Test("first-byte and idle timeouts fire, and the upstream sees its connection dropped")
    func timeouts() async throws {
        try await withClient { client in
            var request = chatRequest(upstream, scenario: "stall_headers", stream: true, requestID: "stall-headers")
            request.timeouts.firstByte = .milliseconds(300)
            let started = ContinuousClock.now
            let headError = await #expect(throws: UpstreamError.self) { _ = try await client.execute(request) }
            #expect(headError?.kind == .firstByteTimeout)
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(try upstream.waitForOutcome(requestID: "stall-headers", "client_closed")?.outcome == "client_closed")

            request = chatRequest(upstream, scenario: "tokens=10;stall_after=2", stream: true, requestID: "stall-body")
            request.timeouts.idle = .milliseconds(300)
            let response = try await client.execute(request)
            let bodyError = await #expect(throws: UpstreamError.self) { _ = try await response.body.collect(upTo: 1 << 20) }
            #expect(bodyError?.kind == .idleTimeout)
            #expect(try upstream.waitForOutcome(requestID: "stall-body", "client_closed")?.outcome == "client_closed")
        }
        upstream.stop()
    }

    @Test("cancelling the reading task, or dropping the body, aborts the transfer")
    func cancellation() async throws {
        try await withClient { client in
            let response = try await client.execute(
                chatRequest(upstream, scenario: "tokens=1000;pace_ms=10", stream: true, requestID: "cancel-task"))
            let reader = Task {
                var count = 0
                for try await chunk in response.body { count += chunk.count }
                return count
            }
            try await Task.sleep(for: .milliseconds(100))
            reader.cancel()
            _ = try? await reader.value
            #expect(try upstream.waitForOutcome(requestID: "cancel-task", "client_closed")?.outcome == "client_closed")

            do {
                let dropped = try await client.execute(
                    chatRequest(upstream, scenario: "tokens=1000;pace_ms=10", stream: true, requestID: "cancel-drop"))
                var iterator = dropped.body.makeAsyncIterator()
                _ = try await iterator.next()
            }
            #expect(try upstream.waitForOutcome(requestID: "cancel-drop", "client_closed")?.outcome == "client_closed")

            // Cancelled while still waiting for the response head.
            let waiting = Task {
                try await client.execute(chatRequest(upstream, scenario: "stall_headers", stream: true, requestID: "cancel-head"))
            }
            try await Task.sleep(for: .milliseconds(100))
            waiting.cancel()
            _ = try? await waiting.value
            #expect(try upstream.waitForOutcome(requestID: "cancel-head", "client_closed")?.outcome == "client_closed")
        }
        upstream.stop()
    }

    @Test("nothing listening is a connect error")
    func connectionRefused() async throws {
        upstream.stop()
        try await withClient { client in
            let request = UpstreamRequest(url: "http://127.0.0.1:\(upstream.port)/v1/chat/completions", body: [1])
            let error = await #expect(throws: UpstreamError.self) { _ = try await client.execute(request) }
            #expect(error?.kind == .connect)
            #expect(error?.message.contains("127.0.0.1") == true)
        }
    }

    @Test("many concurrent streams share the client")
    func concurrentStreams() async throws {
        try await withClient { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let response = try await client.execute(
                            chatRequest(upstream, scenario: "tokens=\(10 + index);pace_ms=1", stream: true))
                        let body = text(try await response.body.collect(upTo: 1 << 20))
                        #expect(body.contains("tok\(10 + index) "))
                        #expect(body.hasSuffix("data: [DONE]\n\n"))
                    }
                }
                try await group.waitForAll()
            }
        }
        upstream.stop()
    }

    @Test("a shut-down client refuses new work")
    func shutdownRefuses() async throws {
        let client = CurlClient()
        client.start()
        await client.shutdown()
        let error = await #expect(throws: UpstreamError.self) {
            _ = try await client.execute(chatRequest(upstream, scenario: "tokens=1", stream: false))
        }
        #expect(error?.kind == .shutdown)
        upstream.stop()
    }
}
