import Foundation
import Testing

@testable import ModelGateFakeUpstream

@Suite("Gemini wire format")
struct GeminiWireTests {
    static let body =
        #"{"contents":[{"role":"user","parts":[{"text":"Say two words"}]}],"systemInstruction":{"parts":[{"text":"Be brief"}]}}"#

    /// The events Google's format prescribes for a two-token stream whose prompt has 5 words.
    static func expectedStream(seq: Int, model: String, finished: Bool = true) -> String {
        let usage = #""usageMetadata": {"promptTokenCount": 5,"totalTokenCount": 5,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 5}]}"#
        let tail = #","modelVersion": "\#(model)","responseId": "fake-\#(seq)"}"# + "\r\n\r\n"
        var text = ""
        for token in 1...2 {
            text += #"data: {"candidates": [{"content": {"parts": [{"text": "tok\#(token) "}],"role": "model"},"index": 0}],"#
                + usage + tail
        }
        if finished {
            text += #"data: {"candidates": [{"content": {"parts": [{"text": ""}],"role": "model"},"finishReason": "STOP","index": 0}],"#
                + #""usageMetadata": {"promptTokenCount": 5,"candidatesTokenCount": 2,"totalTokenCount": 7,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 5}]}"#
                + tail
        }
        return text
    }

    @Test func streamIsGooglesSSEWithCRLFAndAFinishReason() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, path: "/v1beta/models/tokens=2:streamGenerateContent?alt=sse",
                headers: [("X-Request-Id", "gem-1")], body: Self.body)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            #expect(response.complete)
            #expect(response.text == Self.expectedStream(seq: try seq(of: response), model: "tokens=2"))
            let event = try #require(try events(port: port, requestID: "gem-1").first)
            #expect(event["scenario"] as? String == "tokens=2")
            #expect(event["stream"] as? Bool == true)
            #expect(event["path"] as? String == "/v1beta/models/tokens=2:streamGenerateContent?alt=sse")
        }
    }

    @Test func escapedScenariosInThePathAndStreamsNeedAltSSE() async throws {
        try await withFakeUpstream { port in
            let encoded = try send(
                port: port, path: "/v1beta/models/tokens%3D2%3Bno_done:streamGenerateContent?alt=sse", body: Self.body)
            #expect(encoded.text == Self.expectedStream(seq: try seq(of: encoded), model: "tokens=2;no_done", finished: false))

            let withoutSSE = try send(port: port, path: "/v1beta/models/tokens=2:streamGenerateContent", body: Self.body)
            #expect(withoutSSE.status == 400)
            let error = try #require(try jsonObject(withoutSSE.body)["error"] as? [String: Any])
            #expect(error["status"] as? String == "INVALID_ARGUMENT")
            #expect(error["code"] as? Int == 400)

            let unknown = try send(port: port, path: "/v1beta/models/x:countTokens", body: Self.body)
            #expect(unknown.status == 404)
        }
    }

    @Test func unaryAnswerIsOneResponseObject() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, path: "/v1beta/models/tokens=3:generateContent", body: Self.body)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            let object = try jsonObject(response.body)
            let candidate = try #require((object["candidates"] as? [[String: Any]])?.first)
            let parts = try #require((candidate["content"] as? [String: Any])?["parts"] as? [[String: Any]])
            #expect(parts.first?["text"] as? String == "tok1 tok2 tok3 ")
            #expect(candidate["finishReason"] as? String == "STOP")
            let usage = try #require(object["usageMetadata"] as? [String: Any])
            #expect(usage["promptTokenCount"] as? Int == 5)
            #expect(usage["candidatesTokenCount"] as? Int == 3)
            #expect(usage["totalTokenCount"] as? Int == 8)
            #expect(object["modelVersion"] as? String == "tokens=3")
        }
    }

    @Test func statusAnswersAreGoogleErrorsWithRetryInfo() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, path: "/v1beta/models/status=429;retry_after=7;error_code=RATE_LIMIT_EXCEEDED:generateContent",
                body: Self.body)
            #expect(response.status == 429)
            #expect(response.header("retry-after") == nil, "Google puts the delay in the body")
            #expect(
                response.text == """
                    {
                      "error": {
                        "code": 429,
                        "message": "Resource has been exhausted (e.g. check quota).",
                        "status": "RESOURCE_EXHAUSTED",
                        "details": [
                          {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "RATE_LIMIT_EXCEEDED",
                            "domain": "googleapis.com"
                          },
                          {
                            "@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": "7s"
                          }
                        ]
                      }
                    }

                    """)
            let plain = try send(
                port: port, path: "/v1beta/models/status=503;error_message=busy%20now:streamGenerateContent?alt=sse",
                body: Self.body)
            #expect(plain.status == 503)
            let error = try #require(try jsonObject(plain.body)["error"] as? [String: Any])
            #expect(error["status"] as? String == "UNAVAILABLE")
            #expect(error["message"] as? String == "busy now")
            #expect(error["details"] == nil)
        }
    }

    @Test func midStreamErrorIsBareJSONAfterTheEvents() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, path: "/v1beta/models/tokens=3;error_event_after=1;error_type=CANCELLED:streamGenerateContent?alt=sse",
                body: Self.body)
            #expect(response.complete)
            let parts = response.text.splitting(on: "\r\n\r\n")
            #expect(parts.count == 2)
            #expect(parts[0].hasPrefix(#"data: {"candidates": [{"content": {"parts": [{"text": "tok1 "}]"#))
            #expect(parts[1].hasPrefix("{\n  \"error\": {\n    \"code\": 500,\n"))
            let error = try #require(try jsonObject(Array(parts[1].utf8))["error"] as? [String: Any])
            #expect(error["status"] as? String == "CANCELLED")
        }
    }

    @Test func faultsCutTheStream() async throws {
        try await withFakeUpstream { port in
            let connection = try RawHTTPConnection(port: port)
            try connection.send(
                RawHTTPConnection.request(
                    path: "/v1beta/models/tokens=5;reset_after=2:streamGenerateContent?alt=sse",
                    headers: [("X-Request-Id", "gem-reset")], body: Self.body))
            do {
                _ = try connection.readResponse()
                Issue.record("stream ended normally")
            } catch let incomplete as RawHTTPConnection.Incomplete {
                #expect(incomplete.cause == .reset)
                #expect(incomplete.response.text.splitting(on: "\r\n\r\n").filter { !$0.isEmpty }.count == 2)
            }
            let event = try await waitForEvent(port: port, requestID: "gem-reset") { $0["outcome"] as? String != "in_progress" }
            #expect(event["outcome"] as? String == "reset")

            let malformed = try send(port: port, path: "/v1beta/models/tokens=1;malformed_after=0;usage=0:streamGenerateContent?alt=sse", body: "{}")
            let pieces = malformed.text.splitting(on: "\r\n\r\n")
            #expect(pieces.first == #"data: {"candidates": ["#)
            #expect(!malformed.text.contains("usageMetadata"))
            #expect(malformed.text.contains(#""finishReason": "STOP""#))
        }
    }

    @Test func embeddingsOneOrABatch() async throws {
        try await withFakeUpstream { port in
            let one = try send(
                port: port, path: "/v1beta/models/gemini-embedding-001:embedContent",
                body: #"{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a b"}]},"outputDimensionality":3}"#)
            #expect(one.status == 200)
            #expect(one.text == "{\n  \"embedding\": {\"values\": [0.001, 0.002, 0.003]}\n}\n")

            let batch = try send(
                port: port, path: "/v1beta/models/text-embedding-004:batchEmbedContents",
                body: #"{"requests":[{"model":"models/m","content":{"parts":[{"text":"a"}]},"outputDimensionality":2},{"model":"models/m","content":{"parts":[{"text":"b"}]}}]}"#
            )
            #expect(batch.text == "{\n  \"embeddings\": [ {\"values\": [0.001, 0.002]}, {\"values\": [0.002, 0.004]}]\n}\n")
            let values = try #require((try jsonObject(batch.body)["embeddings"] as? [[String: Any]])?.last?["values"] as? [Double])
            #expect(values == [0.002, 0.004])

            let empty = try send(port: port, path: "/v1beta/models/m:embedContent", body: #"{"model":"models/m"}"#)
            #expect(empty.status == 400)
        }
    }
}

@Suite("Ollama wire format")
struct OllamaWireTests {
    static func lines(_ response: RawHTTPConnection.Response) throws -> [[String: Any]] {
        #expect(response.text.hasSuffix("\n"))
        return try response.text.split(separator: "\n").map { try jsonObject(Array($0.utf8)) }
    }

    @Test func chatStreamsNDJSONByDefault() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, path: "/api/chat", headers: [("X-Request-Id", "oll-1")],
                body: #"{"model":"tokens=2","messages":[{"role":"user","content":"Say two words"}]}"#)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/x-ndjson")
            #expect(response.complete)
            let lines = try Self.lines(response)
            #expect(lines.count == 3)
            let createdAt = try #require(lines[0]["created_at"] as? String)
            #expect(createdAt.count == 24 && createdAt.hasSuffix("Z") && createdAt.dropFirst(10).first == "T")
            #expect(
                response.text.split(separator: "\n").first
                    == #"{"model":"tokens=2","created_at":"\#(createdAt)","message":{"role":"assistant","content":"tok1 "},"done":false}"#)
            #expect((lines[1]["message"] as? [String: Any])?["content"] as? String == "tok2 ")
            #expect(lines[1]["done"] as? Bool == false)
            let done = lines[2]
            #expect(done["done"] as? Bool == true)
            #expect(done["done_reason"] as? String == "stop")
            #expect((done["message"] as? [String: Any])?["content"] as? String == "")
            #expect(done["prompt_eval_count"] as? Int == 3)
            #expect(done["eval_count"] as? Int == 2)
            #expect(done["total_duration"] is Int && done["eval_duration"] is Int)
            let event = try #require(try events(port: port, requestID: "oll-1").first)
            #expect(event["stream"] as? Bool == true)
        }
    }

    @Test func unaryWhenStreamIsFalse() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, path: "/api/chat",
                body: #"{"model":"tokens=3;usage=0","stream":false,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(response.header("content-type") == "application/json")
            let object = try jsonObject(response.body)
            #expect((object["message"] as? [String: Any])?["content"] as? String == "tok1 tok2 tok3 ")
            #expect(object["done"] as? Bool == true)
            #expect(object["eval_count"] == nil)
        }
    }

    @Test func errorsAreBareStrings() async throws {
        try await withFakeUpstream { port in
            let notFound = try send(port: port, path: "/api/chat", body: #"{"model":"status=404","messages":[]}"#)
            #expect(notFound.status == 404)
            #expect(notFound.text == #"{"error":"model \"status=404\" not found, try pulling it first"}"#)

            let midStream = try send(port: port, path: "/api/chat", body: #"{"model":"tokens=4;error_event_after=1","messages":[]}"#)
            #expect(midStream.complete)
            let lines = try Self.lines(midStream)
            #expect(lines.count == 2)
            #expect(lines[1]["error"] as? String == "an error was encountered while running the model")

            let typed = try send(port: port, path: "/api/chat", body: #"{"model":"status=500;error_type=x","messages":[]}"#)
            #expect(typed.status == 400)
        }
    }

    @Test func noDoneAndStall() async throws {
        try await withFakeUpstream { port in
            let cut = try send(port: port, path: "/api/chat", body: #"{"model":"tokens=2;no_done","messages":[]}"#)
            #expect(cut.complete)
            #expect(try Self.lines(cut).allSatisfy { $0["done"] as? Bool == false })

            let connection = try RawHTTPConnection(port: port, timeoutSeconds: 1)
            try connection.send(
                RawHTTPConnection.request(path: "/api/chat", body: #"{"model":"tokens=5;stall_after=1","stream":true}"#))
            do {
                _ = try connection.readResponse()
                Issue.record("stream ended")
            } catch let incomplete as RawHTTPConnection.Incomplete {
                #expect(incomplete.cause == .timedOut)
                #expect(incomplete.response.text.split(separator: "\n").count == 1)
            }
        }
    }

    @Test func embed() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, path: "/api/embed", body: #"{"model":"embeddinggemma","input":["a b","c"],"dimensions":2}"#)
            #expect(
                response.text
                    == #"{"model":"embeddinggemma","embeddings":[[0.001,0.002],[0.002,0.004]],"total_duration":1300000,"load_duration":1000000,"prompt_eval_count":3}"#
            )
            let missing = try send(port: port, path: "/api/embed", body: #"{"model":"e"}"#)
            #expect(missing.status == 400)
        }
    }
}
