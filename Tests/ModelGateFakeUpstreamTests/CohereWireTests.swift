import Foundation
import Testing

@testable import ModelGateFakeUpstream

@Suite("Cohere wire format")
struct CohereWireTests {
    static let chatBody = #"{"model":"tokens=2","messages":[{"role":"user","content":"Say two words"}],"stream":true}"#

    static func expectedStream(seq: Int, end: String) -> String {
        "event: message-start\ndata: {\"id\":\"fake-\(seq)\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[],\"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}}\n\n"
            + "event: content-start\ndata: {\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}\n\n"
            + "event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"tok1 \"}}}}\n\n"
            + "event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"tok2 \"}}}}\n\n"
            + end
    }

    static let completeEnd =
        "event: content-end\ndata: {\"type\":\"content-end\",\"index\":0}\n\n"
        + "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":{\"billed_units\":{\"input_tokens\":3,\"output_tokens\":2},\"tokens\":{\"input_tokens\":13,\"output_tokens\":2}}}}\n\n"

    @Test func generatedStreamUnaryAndEmbeddings() async throws {
        try await withFakeUpstream { port in
            let stream = try send(port: port, path: "/v2/chat", headers: [("X-Request-Id", "co-1")], body: Self.chatBody)
            #expect(stream.status == 200)
            #expect(stream.header("content-type") == "text/event-stream")
            #expect(stream.text == Self.expectedStream(seq: try seq(of: stream), end: Self.completeEnd))
            let event = try #require(try events(port: port, requestID: "co-1").first)
            #expect(event["stream"] as? Bool == true && event["scenario"] as? String == "tokens=2")

            let unary = try send(port: port, path: "/v2/chat", body: Self.chatBody.replacingOccurrences(of: "true", with: "false"))
            #expect(
                unary.text
                    == "{\"id\":\"fake-\(try seq(of: unary))\",\"message\":{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"tok1 tok2 \"}]},\"finish_reason\":\"COMPLETE\",\"usage\":{\"billed_units\":{\"input_tokens\":3,\"output_tokens\":2},\"tokens\":{\"input_tokens\":13,\"output_tokens\":2}}}"
            )

            let embed = try send(
                port: port, path: "/v2/embed",
                body: #"{"model":"embed-v4.0","texts":["a b","c"],"input_type":"search_document","embedding_types":["float"],"output_dimension":2}"#)
            #expect(
                embed.text
                    == "{\"id\":\"fake-\(try seq(of: embed))\",\"embeddings\":{\"float\":[[0.001,0.002],[0.002,0.004]]},\"meta\":{\"api_version\":{\"version\":\"2\"},\"billed_units\":{\"input_tokens\":3}}}"
            )
            let noTexts = try send(port: port, path: "/v2/embed", body: #"{"model":"embed-v4.0"}"#)
            #expect(noTexts.status == 400)
            #expect(try jsonObject(noTexts.body)["message"] as? String == "invalid request: texts must be a non-empty list of strings")
        }
    }

    @Test func errorsAndFaultsInCoheresShape() async throws {
        try await withFakeUpstream { port in
            let limited = try send(
                port: port, path: "/v2/chat", body: #"{"model":"status=429;retry_after=3","messages":[],"stream":true}"#)
            #expect(limited.status == 429 && limited.header("retry-after") == "3")
            let error = try jsonObject(limited.body)
            #expect(error["message"] as? String == "You are past the per minute request limit, please wait and try again later.")
            #expect(error["id"] as? String == "fake-\(try seq(of: limited))")

            let failed = try send(
                port: port, path: "/v2/chat",
                body: #"{"model":"tokens=2;error_event_after=2;error_type=TIMEOUT;error_message=slow","messages":[],"stream":true}"#)
            #expect(
                failed.text
                    == Self.expectedStream(
                        seq: try seq(of: failed),
                        end: "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"error\":\"slow\",\"finish_reason\":\"TIMEOUT\",\"usage\":{\"billed_units\":{\"input_tokens\":0,\"output_tokens\":2},\"tokens\":{\"input_tokens\":10,\"output_tokens\":2}}}}\n\n"
                    ))

            let badType = try send(port: port, path: "/v2/chat", body: #"{"model":"error_type=overloaded","messages":[]}"#)
            #expect(badType.status == 400)
        }
    }

    @Test("the published examples replay as SSE events converted from the YAML")
    func fernExamplesReplayAsEvents() async throws {
        try await withFakeUpstream { port in
            let replay = try send(
                port: port, path: "/v2/chat",
                body: #"{"model":"replay=cohere_v2_chat_stream.example.yaml;part=stream;chunk=64","messages":[]}"#)
            #expect(replay.status == 200 && replay.header("content-type") == "text/event-stream")
            let events = replay.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.count == 28)
            #expect(
                events.first
                    == #"event: message-start"# + "\n"
                    + #"data: {"type":"message-start","id":"29f14a5a-11de-4cae-9800-25e4747408ea","delta":{"message":{"role":"assistant"}}}"#)
            #expect(
                events[2]
                    == "event: content-delta\n" + #"data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"LL"}}}}"#)
            #expect(
                events.last
                    == "event: message-end\n"
                    + #"data: {"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":5,"output_tokens":26},"tokens":{"input_tokens":71,"output_tokens":26}}}}"#
            )

            let request = try send(
                port: port, path: "/v2/chat",
                body: #"{"model":"replay=cohere_v2_chat_stream_tools.example.yaml;part=request","messages":[]}"#)
            let published = try jsonObject(request.body)
            #expect(published["stream"] as? Bool == true)
            let tools = try #require(published["tools"] as? [[String: Any]])
            let function = try #require(tools.first?["function"] as? [String: Any])
            #expect(
                function["description"] as? String
                    == "Connects to a database to retrieve overall sales volumes and sales information for a given day.")
        }
    }

    @Test func theFernReaderKeepsQuotedTextAndTypesPlainScalars() throws {
        let example = try FernExample(
            yaml: """
                request:
                  texts:
                    - '0'
                    - "a \\"b\\""
                    - it''s plain
                  n: 12
                  f: -1.5
                  on: true
                  none: ~
                  folded: 'one
                    two ''three'''
                  nested:
                    - k: v
                      j: 2
                """)
        #expect(
            String(decoding: try #require(example.requestJSON), as: UTF8.self)
                == #"{"texts":["0","a \"b\"","it''s plain"],"n":12,"f":-1.5,"on":true,"none":null,"folded":"one two 'three'","nested":[{"k":"v","j":2}]}"#
        )
        #expect(example.serverSentEvents == nil)
        #expect(throws: FernExample.SyntaxError.self) { try FernExample(yaml: "a: 'open\nb: 1") }
        #expect(throws: FernExample.SyntaxError.self) { try FernExample(yaml: "a: &anchor x") }
    }
}
