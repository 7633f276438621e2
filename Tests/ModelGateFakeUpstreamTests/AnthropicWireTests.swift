import Foundation
import ModelGateCore
import ModelGateProviders
import Testing

@testable import ModelGateFakeUpstream

@Suite("Anthropic wire format")
struct AnthropicWireTests {
    /// A Messages body whose system prompt and message have 5 words in all.
    static func body(_ scenario: String, stream: Bool = true, maxTokens: Bool = true) -> String {
        #"{"model":"\#(scenario)","#
            + (maxTokens ? #""max_tokens":64,"# : "")
            + #""system":"Be brief","messages":[{"role":"user","content":[{"type":"text","text":"Say two words"}]}]"#
            + (stream ? #","stream":true}"# : "}")
    }

    static func event(_ name: String, _ data: String) -> String {
        "event: \(name)\ndata: \(data)\n\n"
    }

    /// The events Anthropic's format prescribes up to the last token.
    static func opening(seq: Int, model: String, usage: Bool = true) -> String {
        let usageJSON = usage ? #","usage":{"input_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}"# : ""
        return event(
            "message_start",
            #"{"type":"message_start","message":{"id":"msg_fake_\#(seq)","type":"message","role":"assistant","model":"\#(model)","content":[],"stop_reason":null,"stop_sequence":null\#(usageJSON)}}"#)
            + event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
            + event("ping", #"{"type": "ping"}"#)
    }

    static func token(_ index: Int) -> String {
        event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tok\#(index) "}}"#)
    }

    static func closing(stopReason: String = "end_turn", outputTokens: Int?, messageStop: Bool = true) -> String {
        let usage = outputTokens.map { #","usage":{"output_tokens":\#($0)}"# } ?? ""
        return event("content_block_stop", #"{"type":"content_block_stop","index":0}"#)
            + event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"\#(stopReason)","stop_sequence":null}\#(usage)}"#)
            + (messageStop ? event("message_stop", #"{"type":"message_stop"}"#) : "")
    }

    @Test func streamIsNamedEventsEndedByMessageStop() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, path: "/v1/messages", headers: [("X-Request-Id", "ant-1")], body: Self.body("tokens=2"))
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream; charset=utf-8")
            let seq = try seq(of: response)
            #expect(response.header("request-id") == "req_fake_\(seq)")
            #expect(response.complete)
            #expect(
                response.text
                    == Self.opening(seq: seq, model: "tokens=2") + Self.token(1) + Self.token(2) + Self.closing(outputTokens: 2))
            let event = try #require(try events(port: port, requestID: "ant-1").first)
            #expect(event["stream"] as? Bool == true)
            #expect(event["scenario"] as? String == "tokens=2")
            #expect(event["outcome"] as? String == "completed")

            // The gateway's own decoder reads it as a complete stream.
            var decoder = AnthropicStreamDecoder(provider: "p")
            var decoded: [ChatStreamEvent] = []
            try decoder.decode(response.body, into: &decoded)
            try decoder.finish()
            #expect(decoded.contains(.usage(Usage(inputTokens: 5, outputTokens: 2, source: .provider))))
        }
    }

    @Test func unaryAnswerIsOneMessage() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, path: "/v1/messages", body: Self.body("tokens=3;tool_call", stream: false))
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            let seq = try seq(of: response)
            #expect(
                response.text
                    == #"{"id":"msg_fake_\#(seq)","type":"message","role":"assistant","model":"tokens=3;tool_call","content":[{"type":"text","text":"tok1 tok2 tok3 "},{"type":"tool_use","id":"toolu_fake","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3}}"#
            )
            #expect(try events(port: port).first?["stream"] as? Bool == false)
        }
    }

    @Test func toolCallStreamsItsInputInFragments() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, path: "/v1/messages", body: Self.body("tokens=1;tool_call"))
            let seq = try seq(of: response)
            let toolBlock =
                Self.event(
                    "content_block_start",
                    #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_fake","name":"get_weather","input":{}}}"#)
                + Self.event("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#)
                + Self.event(
                    "content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}"#)
                + Self.event("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is\"}"}}"#)
                + Self.event("content_block_stop", #"{"type":"content_block_stop","index":1}"#)
            #expect(
                response.text
                    == Self.opening(seq: seq, model: "tokens=1;tool_call") + Self.token(1)
                    + Self.event("content_block_stop", #"{"type":"content_block_stop","index":0}"#) + toolBlock
                    + Self.event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":1}}"#)
                    + Self.event("message_stop", #"{"type":"message_stop"}"#))
        }
    }

    @Test func statusAnswersAreAnthropicErrors() async throws {
        try await withFakeUpstream { port in
            let limited = try send(port: port, path: "/v1/messages", body: Self.body("status=429;retry_after=7;retry_after_ms=6500"))
            #expect(limited.status == 429)
            #expect(limited.header("retry-after") == "7" && limited.header("retry-after-ms") == "6500")
            let seq = try seq(of: limited)
            #expect(
                limited.text
                    == #"{"type":"error","error":{"type":"rate_limit_error","message":"Your account has hit a rate limit."},"request_id":"req_fake_\#(seq)"}"#)

            let table: [(Int, String, String)] = [
                (400, "invalid_request_error", "There was an issue with the format or content of your request."),
                (401, "authentication_error", "invalid x-api-key"),
                (403, "permission_error", "Your API key does not have permission to use the specified resource."),
                (404, "not_found_error", "The requested resource could not be found."),
                (413, "request_too_large", "Request exceeds the maximum allowed number of bytes."),
                (500, "api_error", "Internal server error"),
                (504, "timeout_error", "Request timed out."),
                (529, "overloaded_error", "Overloaded"),
            ]
            for (status, type, message) in table {
                let response = try send(port: port, path: "/v1/messages", body: Self.body("status=\(status)"))
                #expect(response.status == status)
                let error = try #require(try jsonObject(response.body)["error"] as? [String: Any])
                #expect(error["type"] as? String == type, "\(status)")
                #expect(error["message"] as? String == message, "\(status)")
            }
            let custom = try send(port: port, path: "/v1/messages", body: Self.body("status=400;error_type=billing_error;error_message=no%20credit"))
            let error = try #require(try jsonObject(custom.body)["error"] as? [String: Any])
            #expect(error["type"] as? String == "billing_error" && error["message"] as? String == "no credit")
        }
    }

    @Test func requestsAnthropicWouldRefuseAreRefused() async throws {
        try await withFakeUpstream { port in
            let noMaxTokens = try send(port: port, path: "/v1/messages", body: Self.body("tokens=1", maxTokens: false))
            #expect(noMaxTokens.status == 400)
            #expect(
                try jsonObject(noMaxTokens.body)["error"] as? [String: String]
                    == ["type": "invalid_request_error", "message": "max_tokens: Field required"])
            #expect(try send(port: port, path: "/v1/messages", body: "{").status == 400)
            #expect(try send(port: port, method: "GET", path: "/v1/messages").status == 405)
            let coded = try send(port: port, path: "/v1/messages", body: Self.body("status=500;error_code=x"))
            #expect(coded.status == 400)
        }
    }

    @Test func midStreamErrorIsAnErrorEvent() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, path: "/v1/messages", body: Self.body("tokens=3;error_event_after=1"))
            #expect(response.complete)
            let seq = try seq(of: response)
            #expect(
                response.text
                    == Self.opening(seq: seq, model: "tokens=3;error_event_after=1") + Self.token(1)
                    + Self.event("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_fake_\#(seq)"}"#))
            let typed = try send(port: port, path: "/v1/messages", body: Self.body("tokens=3;error_event_after=0;error_type=api_error"))
            let typedSeq = try ModelGateFakeUpstreamTests.seq(of: typed)
            #expect(
                typed.text
                    == Self.opening(seq: typedSeq, model: "tokens=3;error_event_after=0;error_type=api_error")
                    + Self.event("error", #"{"type":"error","error":{"type":"api_error","message":"Overloaded"},"request_id":"req_fake_\#(typedSeq)"}"#))
        }
    }

    @Test func noDoneLeavesOutOnlyMessageStop() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, path: "/v1/messages", body: Self.body("tokens=1;no_done;usage=0"))
            #expect(response.complete)
            #expect(
                response.text
                    == Self.opening(seq: try seq(of: response), model: "tokens=1;no_done;usage=0", usage: false) + Self.token(1)
                    + Self.closing(outputTokens: nil, messageStop: false))
        }
    }

    @Test func faultsCutTheStream() async throws {
        try await withFakeUpstream { port in
            let connection = try RawHTTPConnection(port: port)
            try connection.send(
                RawHTTPConnection.request(path: "/v1/messages", headers: [("X-Request-Id", "ant-reset")], body: Self.body("tokens=5;reset_after=2")))
            do {
                _ = try connection.readResponse()
                Issue.record("stream ended normally")
            } catch let incomplete as RawHTTPConnection.Incomplete {
                #expect(incomplete.cause == .reset)
                #expect(incomplete.response.text.hasSuffix(Self.token(2)))
            }
            let event = try await waitForEvent(port: port, requestID: "ant-reset") { $0["outcome"] as? String != "in_progress" }
            #expect(event["outcome"] as? String == "reset")

            let malformed = try send(port: port, path: "/v1/messages", body: Self.body("tokens=1;malformed_after=0"))
            let seq = try seq(of: malformed)
            #expect(
                malformed.text
                    == Self.opening(seq: seq, model: "tokens=1;malformed_after=0")
                    + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\n\n" + Self.token(1) + Self.closing(outputTokens: 1))
        }
    }

    @Test func fixturesReplayByteForByteOnTheMessagesPath() async throws {
        try await withFakeUpstream { port in
            for name in ["anthropic_messages_stream.sse", "anthropic_messages_stream_tool_use.sse", "anthropic_error_event.sse"] {
                let response = try send(port: port, path: "/v1/messages", body: Self.body("replay=\(name);chunk=13"))
                #expect(response.status == 200)
                #expect(response.header("content-type") == "text/event-stream")
                #expect(response.body == (try TestFixtures.bytes(name)), "\(name)")
            }
            let unary = try send(port: port, path: "/v1/messages", body: Self.body("replay=anthropic_message.json", stream: false))
            #expect(unary.body == (try TestFixtures.bytes("anthropic_message.json")))
        }
    }
}
