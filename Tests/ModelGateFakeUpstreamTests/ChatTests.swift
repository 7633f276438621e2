import Foundation
import Testing

@testable import ModelGateFakeUpstream

@Suite("Chat completions")
struct ChatTests {
    static let streamBody =
        #"{"model":"tokens=3","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say three words"}]}"#

    /// The exact events OpenAI's format prescribes for a three-token stream.
    static func expectedEvents(seq: Int, created: Int, model: String, usage: Bool, done: Bool = true) -> [String] {
        let prefix =
            #"data: {"id":"chatcmpl-fake\#(seq)","object":"chat.completion.chunk","created":\#(created),"model":"\#(model)","system_fingerprint":"fp_fake","choices":["#
        var events = [
            prefix
                + #"{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#,
            prefix + #"{"index":0,"delta":{"content":"tok1 "},"logprobs":null,"finish_reason":null}]}"#,
            prefix + #"{"index":0,"delta":{"content":"tok2 "},"logprobs":null,"finish_reason":null}]}"#,
            prefix + #"{"index":0,"delta":{"content":"tok3 "},"logprobs":null,"finish_reason":null}]}"#,
            prefix + #"{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
        ]
        if usage {
            events.append(
                prefix
                    + #"],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6,"completion_tokens_details":{"reasoning_tokens":0}}}"#
            )
        }
        if done {
            events.append("data: [DONE]")
        }
        return events
    }

    @Test func streamOfThreeTokensIsExactlyOpenAIs() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, body: Self.streamBody)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream; charset=utf-8")
            #expect(response.header("transfer-encoding") == "chunked")
            #expect(response.complete)
            #expect(response.text.hasSuffix("\n\n"))
            let events = sseEvents(response.text)
            let expected = Self.expectedEvents(
                seq: try seq(of: response), created: try created(in: events), model: "tokens=3", usage: true)
            #expect(events == expected)
        }
    }

    @Test func usageChunkOnlyWhenAskedAndNotSuppressed() async throws {
        try await withFakeUpstream { port in
            let noOptions = try send(port: port, body: #"{"model":"tokens=3","stream":true}"#)
            #expect(!noOptions.text.contains(#""usage""#))
            #expect(sseEvents(noOptions.text).count == 6)

            let suppressed = try send(
                port: port,
                body: #"{"model":"tokens=3;usage=0","stream":true,"stream_options":{"include_usage":true}}"#)
            #expect(!suppressed.text.contains(#""usage""#))
            #expect(sseEvents(suppressed.text).last == "data: [DONE]")
        }
    }

    @Test func pacedStreamCarriesTheSameEvents() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, headers: [("X-Fake-Scenario", "tokens=3;first_ms=5;pace_ms=5")], body: Self.streamBody)
            let events = sseEvents(response.text)
            // The header scenario wins, so the model stays the body's.
            let expected = Self.expectedEvents(
                seq: try seq(of: response), created: try created(in: events), model: "tokens=3", usage: true)
            #expect(events == expected)
            // Paced tokens leave one per HTTP chunk.
            #expect(response.chunkSizes.count >= 4)
        }
    }

    @Test func unaryAnswerIsAChatCompletionWithUsage() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port,
                body: #"{"model":"tokens=3","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"two words"}]}]}"#
            )
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            #expect(response.header("content-length") == String(response.body.count))
            let object = try jsonObject(response.body)
            #expect(object["object"] as? String == "chat.completion")
            #expect(object["model"] as? String == "tokens=3")
            let choices = try #require(object["choices"] as? [[String: Any]])
            let message = try #require(choices.first?["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == "tok1 tok2 tok3 ")
            #expect(choices.first?["finish_reason"] as? String == "stop")
            let usage = try #require(object["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == 4)
            #expect(usage["completion_tokens"] as? Int == 3)
            #expect(usage["total_tokens"] as? Int == 7)
        }
    }

    @Test func plainModelNameMeansEightTokens() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, body: #"{"model":"gpt-4o","messages":[]}"#)
            let object = try jsonObject(response.body)
            let choices = try #require(object["choices"] as? [[String: Any]])
            let message = try #require(choices.first?["message"] as? [String: Any])
            #expect(message["content"] as? String == "tok1 tok2 tok3 tok4 tok5 tok6 tok7 tok8 ")
            #expect(object["model"] as? String == "gpt-4o")
        }
    }

    @Test func keepAliveAndPipelinedRequestsAreAnsweredInOrder() async throws {
        try await withFakeUpstream { port in
            let connection = try RawHTTPConnection(port: port)
            let first = try connection.exchange(path: "/v1/chat/completions", body: #"{"model":"tokens=1"}"#)
            #expect(first.status == 200)
            // Two requests in one write: the second must wait for the first's stream to end.
            let streaming = RawHTTPConnection.request(
                path: "/chat/completions", body: #"{"model":"tokens=2;pace_ms=2","stream":true}"#)
            let unary = RawHTTPConnection.request(path: "/v1/chat/completions", body: #"{"model":"tokens=4"}"#)
            try connection.send(streaming + unary)
            let second = try connection.readResponse()
            let third = try connection.readResponse()
            #expect(sseEvents(second.text).count == 5)
            #expect(try jsonObject(third.body)["object"] as? String == "chat.completion")
            #expect(try seq(of: second) + 1 == (try seq(of: third)))
        }
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() async throws {
        try await withFakeUpstream { port in
            let connection = try RawHTTPConnection(port: port)
            let body = #"{"model":"tokens=2"}"#
            let head =
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
            try connection.send(Array(head.utf8))
            let interim = try connection.readResponse()
            #expect(interim.status == 100)
            try connection.send(Array(body.utf8))
            let response = try connection.readResponse()
            #expect(response.status == 200)
        }
    }

    @Test func oversizedBodyIsA413AndClosesTheConnection() async throws {
        try await withFakeUpstream(maxRequestBodyBytes: 64) { port in
            let connection = try RawHTTPConnection(port: port)
            let body = #"{"model":"tokens=1","messages":[{"role":"user","content":"\#(String(repeating: "x ", count: 100))"}]}"#
            let response = try connection.exchange(path: "/v1/chat/completions", body: body)
            #expect(response.status == 413)
            #expect(response.header("connection") == "close")
            #expect(connection.readToEnd() == nil)
            let event = try #require(try events(port: port).first)
            #expect(event["outcome"] as? String == "error")
        }
    }

    @Test func http10StreamIsDelimitedByClose() async throws {
        try await withFakeUpstream { port in
            let connection = try RawHTTPConnection(port: port)
            try connection.send(
                RawHTTPConnection.request(path: "/v1/chat/completions", body: #"{"model":"tokens=3","stream":true}"#, version: "HTTP/1.0"))
            let response = try connection.readResponse()
            #expect(response.header("transfer-encoding") == nil)
            #expect(response.header("connection") == "close")
            #expect(sseEvents(response.text).count == 6)
        }
    }
}
