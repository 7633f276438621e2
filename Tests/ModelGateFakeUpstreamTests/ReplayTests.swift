import Foundation
import Testing

@testable import ModelGateFakeUpstream

@Suite("Replay")
struct ReplayTests {
    @Test func openAIStreamIsReplayedByteForByte() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, body: #"{"model":"replay=openai_chat_stream.sse","stream":true}"#)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            #expect(response.complete)
            #expect(response.body == (try TestFixtures.bytes("openai_chat_stream.sse")))
        }
    }

    /// CRLF framing (Gemini), no final newline (Anthropic), NDJSON and plain JSON all survive.
    @Test(arguments: [
        ("anthropic_messages_stream.sse", "text/event-stream"),
        ("gemini_stream.sse", "text/event-stream"),
        ("ollama_generate.ndjson", "application/x-ndjson"),
        ("gemini_generate_content.json", "application/json"),
        ("gemini_vertex_stream_error_mid_stream.txt", "application/octet-stream"),
    ])
    func otherProvidersFixturesAreReplayedByteForByte(name: String, contentType: String) async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, path: "/v1/messages", headers: [("X-Fake-Scenario", "replay=\(name)")], body: "{}")
            #expect(response.status == 200)
            #expect(response.header("content-type") == contentType)
            #expect(response.body == (try TestFixtures.bytes(name)))
            if name.hasSuffix(".json") {
                #expect(response.header("content-length") == String(response.body.count))
            } else {
                #expect(response.header("transfer-encoding") == "chunked")
            }
        }
    }

    @Test func chunkedReplayKeepsBytesAndSplitsThem() async throws {
        try await withFakeUpstream { port in
            let file = try TestFixtures.bytes("openai_chat_stream.sse")
            let response = try send(
                port: port, headers: [("X-Fake-Scenario", "replay=openai_chat_stream.sse;chunk=1000;chunk_delay_ms=1")],
                body: #"{"stream":true}"#)
            #expect(response.body == file)
            let pieces = (file.count + 999) / 1000
            #expect(response.chunkSizes == Array(repeating: 1000, count: pieces - 1) + [file.count - (pieces - 1) * 1000])
        }
    }

    @Test func replayResetAndStatusApplyToPieces() async throws {
        try await withFakeUpstream { port in
            let file = try TestFixtures.bytes("openai_chat_stream.sse")
            let connection = try RawHTTPConnection(port: port)
            try connection.send(
                RawHTTPConnection.request(
                    path: "/v1/chat/completions",
                    headers: [("X-Fake-Scenario", "replay=openai_chat_stream.sse;chunk=100;reset_after=2")], body: "{}"))
            do {
                _ = try connection.readResponse()
                Issue.record("replay ended normally")
            } catch let incomplete as RawHTTPConnection.Incomplete {
                #expect(incomplete.cause == .reset)
                #expect(incomplete.response.body == Array(file[0..<200]))
            }

            let error = try send(
                port: port, headers: [("X-Fake-Scenario", "replay=gemini_error_api_key.json;status=400")], body: "{}")
            #expect(error.status == 400)
            #expect(error.body == (try TestFixtures.bytes("gemini_error_api_key.json")))
        }
    }

    @Test func modelInAGeminiStylePathSelectsTheScenario() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, path: "/v1beta/models/replay%3Dgemini_stream.sse:streamGenerateContent?alt=sse",
                body: #"{"contents":[]}"#)
            #expect(response.status == 200)
            #expect(response.body == (try TestFixtures.bytes("gemini_stream.sse")))
        }
    }

    @Test(arguments: ["../README.md", "..", "/etc/passwd", "sub/dir.sse", "..%2FPackage.swift"])
    func replayRefusesPathsOutsideTheFixtures(name: String) async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, headers: [("X-Fake-Scenario", "replay=\(name)")], body: "{}")
            #expect(response.status == 400)
            let error = try #require(try jsonObject(response.body)["error"] as? [String: Any])
            #expect(error["code"] as? String == "bad_replay_name")
        }
    }

    @Test func missingReplayIsA404AndSymlinksAreRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fakeup-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("secret".utf8).write(to: directory.appendingPathComponent("outside.txt"))
        let fixtures = directory.appendingPathComponent("fixtures")
        try FileManager.default.createDirectory(at: fixtures, withIntermediateDirectories: true)
        try Data("data: hi\n\n".utf8).write(to: fixtures.appendingPathComponent("ok.sse"))
        try FileManager.default.createSymbolicLink(
            at: fixtures.appendingPathComponent("link.txt"), withDestinationURL: directory.appendingPathComponent("outside.txt"))

        try await withFakeUpstream(fixtures: fixtures.path) { port in
            let ok = try send(port: port, headers: [("X-Fake-Scenario", "replay=ok.sse")], body: "{}")
            #expect(ok.text == "data: hi\n\n")
            let missing = try send(port: port, headers: [("X-Fake-Scenario", "replay=nope.sse")], body: "{}")
            #expect(missing.status == 404)
            let link = try send(port: port, headers: [("X-Fake-Scenario", "replay=link.txt")], body: "{}")
            #expect(link.status == 404)
        }
    }
}
