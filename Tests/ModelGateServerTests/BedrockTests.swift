import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateProviders
import ModelGateTestSupport
import ModelGateUpstream
import Testing

private let accessKeyID = "AKIDEXAMPLE"
private let secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
private let sessionToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
private let apiKey = "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl"

/// A gateway whose models reach the fake upstream's Bedrock endpoints through libcurl. The
/// `bedrock` provider signs with SigV4 (credentials from the environment, under test-only
/// variable names so the machine's own AWS variables cannot interfere); `bedrock-key` uses a
/// Bedrock API key.
private struct BedrockSetup {
    let upstream: FakeUpstreamProcess
    let gateway: GatewayProcess

    /// - Parameter models: model name → upstream model id (the fake's scenario).
    init(models: [String: String], provider: String = "bedrock", embeddings: [String: String] = [:], timeouts: String = "") throws {
        upstream = try FakeUpstreamProcess()
        let providers = """
              bedrock:
                kind: bedrock
                region: us-east-1
                base_url: http://127.0.0.1:\(upstream.port)
                aws_access_key_id_env: MG_TEST_AWS_ACCESS_KEY_ID
                aws_secret_access_key_env: MG_TEST_AWS_SECRET_ACCESS_KEY
                aws_session_token_env: MG_TEST_AWS_SESSION_TOKEN
            \(timeouts.isEmpty ? "" : "    timeouts:\n" + timeouts)
              bedrock-key:
                kind: bedrock
                region: eu-west-1
                base_url: http://127.0.0.1:\(upstream.port)/
                api_key_env: MG_TEST_BEDROCK_API_KEY
            """
        var yaml = models.sorted { $0.key < $1.key }.map { name, scenario in
            "  \(name):\n    provider: \(provider)\n    upstream_model: \"\(scenario)\"\n"
        }.joined()
        yaml += embeddings.sorted { $0.key < $1.key }.map { name, model in
            "  \(name):\n    provider: \(provider)\n    kind: embedding\n    upstream_model: \"\(model)\"\n"
        }.joined()
        gateway = try GatewayProcess(
            providers: providers, models: yaml,
            environment: [
                "MG_TEST_AWS_ACCESS_KEY_ID": accessKeyID, "MG_TEST_AWS_SECRET_ACCESS_KEY": secretAccessKey,
                "MG_TEST_AWS_SESSION_TOKEN": sessionToken, "MG_TEST_BEDROCK_API_KEY": apiKey,
            ])
    }

    func stop() {
        gateway.stop()
        upstream.stop()
    }

    /// The request the fake upstream recorded for `requestID`.
    func recorded(_ requestID: String) throws -> FakeUpstreamProcess.RecordedRequest {
        let event = try #require(try upstream.events(requestID: requestID).first)
        return try upstream.request(event.seq)
    }
}

private func chat(_ text: String, model: String) -> ChatRequest {
    ChatRequest(
        model: model, messages: [ChatMessage(role: .system, text: "be brief"), ChatMessage(role: .user, text: text)],
        maxTokens: 64)
}

/// Seconds since the epoch of an `X-Amz-Date` (`20150830T123600Z`).
private func seconds(amzDate: String) throws -> Int64 {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    let date = try #require(formatter.date(from: amzDate))
    return Int64(date.timeIntervalSince1970)
}

@Suite("Bedrock through the gateway and the fake upstream", .serialized)
struct BedrockTests {
    /// A generated ConverseStream (text, a tool call, usage after messageStop), and the
    /// request as the fake upstream received it: the model id percent-encoded in the path and a
    /// SigV4 signature that verifies over exactly the path, headers and body that arrived.
    @Test func streamedChatWithToolCallAndVerifiedSignature() async throws {
        let setup = try BedrockSetup(models: ["claude": "tokens=3;tool_call"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let (chunks, error) = await collect(
            try await client.chatStream(
                chat("what is the weather", model: "claude"), options: CallOptions(requestID: "bedrock-stream-1")))
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == "tok1 tok2 tok3 ")
        #expect(chunks.first?.id.hasPrefix("fake-request-") == true)
        #expect(chunks.first?.model == "tokens=3;tool_call" && chunks.first?.provider == "bedrock")
        #expect(chunks.map(\.sequence) == Array(0..<UInt64(chunks.count)))
        let deltas = chunks.flatMap(\.toolCallDeltas)
        #expect(deltas.first == ToolCallDelta(index: 0, id: "tooluse_fake", name: "get_weather"))
        #expect(deltas.map(\.argumentsFragment).joined() == #"{"city":"Paris"}"#)
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .toolCalls && final.providerFinishReason == "tool_use")
        #expect(final.toolCalls == [ToolCall(id: "tooluse_fake", name: "get_weather", argumentsJSON: #"{"city":"Paris"}"#)])
        // The fake counts the words of the messages' text blocks ("what is the weather").
        #expect(final.usage == Usage(inputTokens: 4, outputTokens: 3, totalTokens: 7, source: .provider, deliveredChunks: UInt32(chunks.count - 1)))

        let sent = try setup.recorded("bedrock-stream-1")
        #expect(sent.method == "POST")
        #expect(sent.path == "/model/tokens%3D3%3Btool_call/converse-stream")
        #expect(
            sent.body
                == #"{"system":[{"text":"be brief"}],"messages":[{"role":"user","content":[{"text":"what is the weather"}]}],"inferenceConfig":{"maxTokens":64}}"#
        )
        #expect(sent.header("x-amz-security-token") == sessionToken)
        let authorization = try #require(sent.header("authorization"))
        let amzDate = try #require(sent.header("x-amz-date"))
        #expect(
            authorization.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(amzDate.prefix(8))/us-east-1/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token;x-request-id, Signature="
            ))
        let signedNames = authorization.split(separator: "SignedHeaders=")[1].prefix { $0 != "," }.split(separator: ";")
        let given = try signedNames.filter { !["host", "x-amz-date", "x-amz-security-token"].contains($0) }.map { name in
            HTTPHeader(String(name), try #require(sent.header(String(name))))
        }
        let signer = AWSSigV4Signer(
            credentials: AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken),
            region: "us-east-1", service: "bedrock")
        let recomputed = signer.sign(
            method: sent.method, url: "http://\(try #require(sent.header("host")))\(sent.path)", headers: given,
            body: Array(sent.body.utf8), secondsSinceEpoch: try seconds(amzDate: amzDate))
        #expect(recomputed.authorization == authorization)
        #expect(recomputed.canonicalRequest.contains("\n/model/tokens%253D3%253Btool_call/converse-stream\n"))
        await client.close()
    }

    @Test func unaryChatEmbeddingsAndAPIKey() async throws {
        let setup = try BedrockSetup(
            models: ["claude": "tokens=4"], embeddings: ["titan": "amazon.titan-embed-text-v2:0"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let response = try await client.chat(chat("hi there", model: "claude"), options: CallOptions(requestID: "bedrock-unary"))
        #expect(response.text == "tok1 tok2 tok3 tok4 ")
        #expect(response.finishReason == .stop && response.providerFinishReason == "end_turn")
        #expect(response.usage.inputTokens == 2 && response.usage.outputTokens == 4 && response.usage.source == .provider)
        #expect(try setup.recorded("bedrock-unary").path == "/model/tokens%3D4/converse")

        let embeddings = try await client.embed(
            EmbedRequest(model: "titan", inputs: ["a b", "c d e"], dimensions: 3), options: CallOptions(requestID: "titan-1"))
        #expect(embeddings.embeddings.map(\.index) == [0, 1])
        #expect(embeddings.embeddings.map(\.values) == [[0.002, 0.004, 0.006], [0.003, 0.006, 0.009]])
        #expect(embeddings.usage.inputTokens == 5 && embeddings.usage.source == .provider)
        let titanCalls = try setup.upstream.events(requestID: "titan-1")
        #expect(titanCalls.count == 2)
        #expect(titanCalls.allSatisfy { $0.path == "/model/amazon.titan-embed-text-v2%3A0/invoke" })
        await client.close()

        let keyed = try BedrockSetup(models: ["claude-key": "tokens=2"], provider: "bedrock-key")
        defer { keyed.stop() }
        let keyClient = try await keyed.gateway.connect()
        let (chunks, error) = await collect(
            try await keyClient.chatStream(chat("x", model: "claude-key"), options: CallOptions(requestID: "bedrock-key-1")))
        #expect(error == nil && chunks.map(\.text).joined() == "tok1 tok2 ")
        let sent = try keyed.recorded("bedrock-key-1")
        #expect(sent.header("authorization") == "Bearer \(apiKey)")
        #expect(sent.header("x-amz-date") == nil)
        await keyClient.close()
    }

    /// botocore's framing vectors replayed byte for byte as a ConverseStream body: the error
    /// message vector is a typed upstream error; every other vector is not a Bedrock event (no
    /// `:message-type`) or is corrupt, so UPSTREAM_MALFORMED. None is OK.
    @Test func eventStreamVectorsReplayed() async throws {
        let vectors: [(String, StatusCode, ErrorKind, String)] = [
            ("EMPTY_MESSAGE", .internal, .upstreamMalformed, "no \":message-type\" header"),
            ("INT8_HEADER", .internal, .upstreamMalformed, "no \":message-type\" header"),
            ("INT16_HEADER", .internal, .upstreamMalformed, "no \":message-type\" header"),
            ("INT32_HEADER", .internal, .upstreamMalformed, "no \":message-type\" header"),
            ("INT64_HEADER", .internal, .upstreamMalformed, "no \":message-type\" header"),
            ("PAYLOAD_NO_HEADERS", .internal, .upstreamMalformed, "no \":message-type\" header"),
            ("PAYLOAD_ONE_STR_HEADER", .internal, .upstreamMalformed, "no \":message-type\" header"),
            ("ALL_HEADERS_TYPES", .internal, .upstreamMalformed, "no \":message-type\" header"),
            ("ERROR_EVENT_MESSAGE", .unavailable, .upstreamUnavailable, "reported an error mid-stream: message"),
            ("CORRUPTED_HEADER_LENGTH", .internal, .upstreamMalformed, "prelude CRC mismatch"),
            ("CORRUPTED_HEADERS", .internal, .upstreamMalformed, "message CRC mismatch"),
            ("CORRUPTED_LENGTH", .internal, .upstreamMalformed, "prelude CRC mismatch"),
            ("CORRUPTED_PAYLOAD", .internal, .upstreamMalformed, "message CRC mismatch"),
            ("DUPLICATE_HEADER", .internal, .upstreamMalformed, "duplicate header \"test\""),
            ("INVALID_HEADERS_LENGTH", .internal, .upstreamMalformed, "invalid headers length 4278190338"),
        ]
        var models: [String: String] = [:]
        for (name, _, _, _) in vectors {
            models["v-\(name.lowercased())"] = "replay=aws_eventstream_vectors.hex;part=\(name);chunk=5"
        }
        let setup = try BedrockSetup(models: models)
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        for (name, code, kind, message) in vectors {
            let failure = try expectFailedStream(
                await collect(try await client.chatStream(chat("x", model: "v-\(name.lowercased())"))), name, code: code,
                kind: kind, provider: "bedrock", partial: false)
            #expect(failure.message.contains(message), "\(name): \(failure.message)")
            if name == "ERROR_EVENT_MESSAGE" {
                #expect(failure.detail.upstreamCode == "code" && failure.detail.upstreamMessage == "message")
            }
        }
        await client.close()
    }

    @Test(
        "Bedrock failures map to the documented status; none is OK after partial output",
        arguments: [
            ("status=429;retry_after=2", StatusCode.resourceExhausted, ErrorKind.rateLimited, false),
            ("status=403", .permissionDenied, .upstreamPermission, false),
            ("status=424", .unavailable, .upstreamUnavailable, false),
            ("tokens=20;reset_after=3", .unavailable, .upstreamTruncated, true),
            ("tokens=20;no_done", .unavailable, .upstreamTruncated, true),
            ("tokens=20;stall_after=3", .unavailable, .upstreamTimeout, true),
            ("tokens=20;error_event_after=3;error_type=throttlingException", .resourceExhausted, .rateLimited, true),
            ("tokens=20;error_event_after=3;error_type=modelStreamErrorException", .unavailable, .upstreamUnavailable, true),
            ("tokens=20;malformed_after=3", .internal, .upstreamMalformed, true),
        ])
    func failures(scenario: String, code: StatusCode, kind: ErrorKind, partial: Bool) async throws {
        let setup = try BedrockSetup(models: ["claude": scenario], timeouts: "      idle_ms: 400\n")
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let failure = try expectFailedStream(
            await collect(try await client.chatStream(chat("x", model: "claude"))), scenario, code: code, kind: kind,
            provider: "bedrock", partial: partial)
        if scenario.hasPrefix("status=429") {
            #expect(failure.detail.retryAfterMilliseconds == 2000 && failure.detail.upstreamStatus == 429)
            #expect(failure.detail.upstreamCode == "ThrottlingException" && failure.detail.retryable)
            let unary = await #expect(throws: GatewayError.self) { _ = try await client.chat(chat("x", model: "claude")) }
            #expect(unary?.code == .resourceExhausted && unary?.detail.kind == .rateLimited)
        }
        await client.close()
    }

    @Test func cancellationReachesTheUpstream() async throws {
        let setup = try BedrockSetup(models: ["slow": "tokens=1000;pace_ms=10"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let stream = try await client.chatStream(chat("long", model: "slow"), options: CallOptions(requestID: "bedrock-cancel"))
        var received = 0
        var thrown: GatewayError?
        do {
            for try await _ in stream {
                received += 1
                if received == 5 { stream.call.cancel() }
            }
        } catch let error as GatewayError {
            thrown = error
        }
        #expect(thrown?.code == .cancelled)
        #expect(try setup.upstream.waitForOutcome(requestID: "bedrock-cancel", "client_closed")?.outcome == "client_closed")
        await client.close()
    }
}
