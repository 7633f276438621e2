import Foundation
import ModelGateProviders
import Testing

@testable import ModelGateFakeUpstream

/// The event-stream messages of a body, decoded by the gateway's own decoder (which is
/// checked against botocore's vectors), so the fake's encoder and the decoder check each other.
private func messages(_ body: [UInt8]) throws -> [AWSEventStreamMessage] {
    var decoder = AWSEventStreamDecoder()
    decoder.append(body)
    var result: [AWSEventStreamMessage] = []
    while let message = try decoder.next() { result.append(message) }
    #expect(decoder.bufferedByteCount == 0)
    return result
}

private func payload(_ message: AWSEventStreamMessage) throws -> [String: Any] {
    try jsonObject(message.payload)
}

private let converseBody = #"{"messages":[{"role":"user","content":[{"text":"one two three"}]}]}"#

@Suite("Fake upstream: Bedrock")
struct FakeBedrockTests {
    @Test func converseStreamSpeaksTheEventStream() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, path: "/model/tokens%3D2/converse-stream", body: converseBody)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/vnd.amazon.eventstream")
            #expect(response.header("x-amzn-RequestId") == "fake-request-\(try seq(of: response))")
            let decoded = try messages(response.body)
            #expect(
                decoded.map { $0.string(":event-type") } == [
                    "messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata",
                ])
            #expect(decoded.allSatisfy { $0.string(":message-type") == "event" && $0.string(":content-type") == "application/json" })
            #expect(try decoded.allSatisfy { (try payload($0)["p"] as? String)?.isEmpty == false })
            let second = try payload(decoded[2])
            #expect((second["delta"] as? [String: Any])?["text"] as? String == "tok2 ")
            #expect(try payload(decoded[4])["stopReason"] as? String == "end_turn")
            let usage = try #require(try payload(decoded[5])["usage"] as? [String: Int])
            #expect(usage == ["inputTokens": 3, "outputTokens": 2, "totalTokens": 5])
        }
    }

    @Test func toolCallAndFaults() async throws {
        try await withFakeUpstream { port in
            let tool = try messages(send(port: port, path: "/model/tokens%3D0%3Btool_call/converse-stream", body: converseBody).body)
            #expect(
                tool.map { $0.string(":event-type") } == [
                    "messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
                    "messageStop", "metadata",
                ])
            let inputs = try tool[2...3].map { try payload($0) }.compactMap {
                (($0["delta"] as? [String: Any])?["toolUse"] as? [String: Any])?["input"] as? String
            }
            #expect(inputs.joined() == #"{"city":"Paris"}"#)

            let exception = try messages(
                send(
                    port: port, path: "/model/x/converse-stream",
                    headers: [("X-Fake-Scenario", "tokens=3;error_event_after=1;error_type=throttlingException")],
                    body: converseBody
                ).body)
            #expect(exception.count == 3)
            #expect(exception.last?.string(":message-type") == "exception")
            #expect(exception.last?.string(":exception-type") == "throttlingException")

            let noMetadata = try messages(
                send(port: port, path: "/model/tokens%3D1%3Bno_done/converse-stream", body: converseBody).body)
            #expect(noMetadata.last?.string(":event-type") == "messageStop")

            let corrupt = try send(port: port, path: "/model/tokens%3D2%3Bmalformed_after%3D1/converse-stream", body: converseBody)
            #expect(throws: AWSEventStreamError.self) { _ = try messages(corrupt.body) }
        }
    }

    @Test func errorsUnaryAndTitan() async throws {
        try await withFakeUpstream { port in
            let throttled = try send(port: port, path: "/model/status%3D429/converse", body: converseBody)
            #expect(throttled.status == 429)
            #expect(throttled.header("x-amzn-ErrorType")?.hasPrefix("ThrottlingException:") == true)
            #expect(throttled.text == #"{"message":"Too many requests, please wait before trying again."}"#)

            let unary = try send(port: port, path: "/model/tokens%3D2/converse", body: converseBody)
            #expect(
                unary.text
                    == #"{"output":{"message":{"role":"assistant","content":[{"text":"tok1 tok2 "}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":2,"totalTokens":5},"metrics":{"latencyMs":1}}"#
            )

            let titan = try send(
                port: port, path: "/model/amazon.titan-embed-text-v2%3A0/invoke", body: #"{"inputText":"a b","dimensions":3}"#)
            #expect(titan.text == #"{"embedding":[0.002,0.004,0.006],"inputTextTokenCount":2}"#)
            let missing = try send(port: port, path: "/model/amazon.titan-embed-text-v2%3A0/invoke", body: "{}")
            #expect(missing.status == 400 && missing.header("x-amzn-ErrorType")?.hasPrefix("ValidationException") == true)

            let misplaced = try send(port: port, body: #"{"model":"tool_call","stream":true}"#)
            #expect(misplaced.status == 400)
        }
    }

    /// `part=` serves one vector of the hex file, one member of a JSON file, one body of an
    /// `.http` exchange, byte for byte.
    @Test func replayParts() async throws {
        try await withFakeUpstream { port in
            let vector = try send(
                port: port, path: "/model/x/converse-stream",
                headers: [("X-Fake-Scenario", "replay=aws_eventstream_vectors.hex;part=PAYLOAD_ONE_STR_HEADER")],
                body: converseBody)
            #expect(vector.header("content-type") == "application/vnd.amazon.eventstream")
            #expect(
                vector.body
                    == Array(
                        "0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b27666f6f273a27626172277d8d9c08b1"
                            .hexBytes))

            let member = try send(
                port: port, path: "/v2/models/iris/infer",
                headers: [("X-Fake-Scenario", "replay=kserve_v2_infer.json;part=response")], body: "{}")
            let file = String(decoding: try TestFixtures.bytes("kserve_v2_infer.json"), as: UTF8.self)
            #expect(member.header("content-type") == "application/json")
            #expect(member.header("content-length") == String(member.body.count))
            #expect(member.text.hasPrefix("{\n    \"id\": \"823248cc") && file.contains(member.text))

            let http = try send(
                port: port, path: "/v2/models/mymodel/infer",
                headers: [("X-Fake-Scenario", "replay=kserve_v2_infer_spec_example.http;part=response")], body: "{}")
            #expect(http.status == 200)
            #expect(http.text.hasPrefix("{\n  \"id\" : \"42\"\n  \"outputs\"") && http.text.hasSuffix("]\n    }\n  ]\n}"))

            let unknown = try send(
                port: port, headers: [("X-Fake-Scenario", "replay=kserve_v2_infer.json;part=nothing")], body: "{}")
            #expect(unknown.status == 404)
            let withoutReplay = try send(port: port, headers: [("X-Fake-Scenario", "part=response")], body: "{}")
            #expect(withoutReplay.status == 400)
        }
    }
}

@Suite("Fake upstream: KServe v2")
struct FakeKServeTests {
    @Test func inferEchoesInputsAsOutputs() async throws {
        try await withFakeUpstream { port in
            let body = #"{"id":"r1","inputs":[{"name":"a","shape":[2,2],"datatype":"UINT32","data":[[1,2],[3,4]]},{"name":"b","shape":[1],"datatype":"BOOL","data":[true]}]}"#
            let response = try send(port: port, path: "/v2/models/iris/versions/3/infer", body: body)
            #expect(response.status == 200)
            #expect(
                response.text
                    == #"{"model_name":"iris","model_version":"3","id":"r1","parameters":null,"outputs":[{"name":"output0","datatype":"UINT32","shape":[2,2],"data":[1,2,3,4]},{"name":"output1","datatype":"BOOL","shape":[1],"data":[true]}]}"#
            )
            let selected = try send(
                port: port, path: "/v2/models/iris/infer",
                body: #"{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1.5]}],"outputs":[{"name":"output0"}]}"#)
            #expect(selected.text.hasPrefix(#"{"model_name":"iris","model_version":"1","id":"fake-"#))
        }
    }

    @Test func errorsMetadataAndReadiness() async throws {
        try await withFakeUpstream { port in
            let mismatch = try send(
                port: port, path: "/v2/models/iris/infer",
                body: #"{"inputs":[{"name":"a","shape":[3],"datatype":"BOOL","data":[true]}]}"#)
            #expect(mismatch.status == 400)
            #expect(mismatch.text == #"{"error":"unexpected shape for input 'a': 1 elements for shape [3]"}"#)
            let failing = try send(port: port, path: "/v2/models/status%3D503/infer", body: "{}")
            #expect(failing.status == 503 && failing.text == #"{"error":"fake error with status 503"}"#)

            let metadata = try send(port: port, method: "GET", path: "/v2/models/iris")
            #expect(try jsonObject(metadata.body)["name"] as? String == "iris")
            #expect(try send(port: port, method: "GET", path: "/v2/models/iris/ready").status == 200)
            #expect(try send(port: port, method: "GET", path: "/v2/models/status%3D503/ready").status == 503)
            #expect(try send(port: port, method: "GET", path: "/v2/health/ready").status == 200)
            #expect(try send(port: port, method: "GET", path: "/v2/models/iris/infer").status == 405)
        }
    }
}

extension String {
    fileprivate var hexBytes: [UInt8] {
        var bytes: [UInt8] = []
        var index = startIndex
        while index < endIndex {
            let next = self.index(index, offsetBy: 2)
            bytes.append(UInt8(self[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }
}
