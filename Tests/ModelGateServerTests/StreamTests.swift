import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateTestSupport
import ModelGateWire
import Testing

@Suite("Calls, streams, cancellation and deadlines against the real gateway")
struct StreamTests {
    @Test("unary chat, streamed chat, list models and health over both listeners", arguments: [false, true])
    func basicCalls(tcp: Bool) async throws {
        let gateway = try GatewayProcess(models: "  second:\n    provider: mock\n    aliases: [two]\n    mock: { tokens: 3 }\n")
        defer { gateway.stop() }
        let client = try await gateway.connect(tcp: tcp)

        let response = try await client.chat(userMessage("one two three"))
        #expect(response.text == mockText(tokens: 16))
        #expect(response.provider == "mock")
        #expect(response.finishReason == .stop)
        #expect(response.usage == Usage(inputTokens: 3, outputTokens: 16, source: .gateway))

        let (chunks, error) = await collect(try await client.chatStream(userMessage("hi", model: "two")))
        #expect(error == nil)
        #expect(chunks.map(\.text) == ["The ", "quick ", "brown", ""])
        #expect(chunks.map(\.sequence) == [0, 1, 2, 3])
        #expect(chunks[0].provider == "mock")
        #expect(chunks[0].model == "second", "the upstream model id (it defaults to the model's name)")
        #expect(chunks[0].id.hasPrefix("mock-"))
        #expect(chunks[1].provider.isEmpty && chunks[1].id.isEmpty, "only the first chunk names the response")
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .stop)
        #expect(final.usage == Usage(inputTokens: 1, outputTokens: 3, source: .gateway, deliveredChunks: 3))

        let models = try await client.listModels()
        #expect(models.map(\.name) == ["mock", "second"])
        #expect(models[1].aliases == ["two"] && models[1].kind == .chat && models[1].providers == ["mock"])

        let health = try await client.health()
        #expect(health.status == .serving && health.version == ModelGateVersion.current)
        await client.close()
    }

    @Test("100 concurrent streams on one connection each get their whole, ordered answer")
    func manyConcurrentStreams() async throws {
        let gateway = try GatewayProcess()
        defer { gateway.stop() }
        let client = try await gateway.connect()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                group.addTask {
                    let tokens = 5 + index % 20
                    let stream = try await client.chatStream(
                        userMessage("stream \(index)"),
                        options: CallOptions(metadata: ["mock-tokens": "\(tokens)", "mock-interval-ms": "\(index % 3)"]))
                    let (chunks, error) = await collect(stream)
                    #expect(error == nil)
                    #expect(chunks.map(\.text).joined() == mockText(tokens: tokens))
                    #expect(chunks.map(\.sequence) == Array(0...UInt64(tokens)))
                }
            }
            try await group.waitForAll()
        }
        await client.close()
    }

    @Test("CANCEL mid-stream ends it with CANCELLED after a final chunk with usage")
    func cancelMidStream() async throws {
        let gateway = try GatewayProcess()
        defer { gateway.stop() }
        let client = try await gateway.connect()
        let stream = try await client.chatStream(
            userMessage("long"), options: CallOptions(metadata: ["mock-tokens": "1000", "mock-interval-ms": "50"]))
        var chunks: [ChatChunk] = []
        var thrown: GatewayError?
        do {
            for try await chunk in stream {
                chunks.append(chunk)
                if chunks.count == 3 { stream.call.cancel() }
            }
        } catch let error as GatewayError {
            thrown = error
        }
        #expect(thrown?.code == .cancelled)
        #expect(thrown?.detail.kind == .cancelled)
        let final = try #require(chunks.last)
        #expect(final.isFinal && final.finishReason == .cancelled)
        #expect(final.sequence == UInt64(chunks.count - 1), "no gaps, final numbered last")
        #expect(final.usage?.deliveredChunks == UInt32(chunks.count - 1))
        // 50 chunks are 2.5 s of the stream: room for a loaded machine, far from its 1,000.
        #expect(chunks.count < 50, "the stream stopped promptly")
        // The connection is still good.
        #expect(try await client.chat(userMessage("again")).text == mockText(tokens: 16))
        await client.close()
    }

    @Test("a deadline before the first token ends the call with DEADLINE_EXCEEDED, promptly")
    func deadlineBeforeFirstToken() async throws {
        let gateway = try GatewayProcess()
        defer { gateway.stop() }
        let connection = try RawConnection(gateway.unixAddress)
        try connection.send(
            Raw.preface()
                + Raw.call(1, metadata: ["mock-first-token-ms": "10000"], timeoutMicros: 200_000))
        let started = Date()
        var frames: [RawConnection.RawFrame] = []
        while let frame = try connection.readFrame(), frames.append(frame) == (), frame.type != FrameType.end.rawValue {}
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(frames.map(\.type) == [FrameType.hello.rawValue, FrameType.message.rawValue, FrameType.end.rawValue])
        let final = try Raw.decodeChunk(frames[1])
        #expect(final.isFinal && final.finishReason == .cancelled && final.sequence == 0)
        #expect(final.usage?.source == .notReported)
        let end = try Raw.decodeEnd(frames[2])
        #expect(end.code == .deadlineExceeded && end.detail?.kind == .deadlineExceeded)

        // The client library enforces the same deadline locally.
        let client = try await gateway.connect()
        let error = await #expect(throws: GatewayError.self) {
            _ = try await client.chat(
                userMessage("slow"),
                options: CallOptions(timeout: .milliseconds(150), metadata: ["mock-first-token-ms": "10000"]))
        }
        #expect(error?.code == .deadlineExceeded)
        await client.close()
    }

    @Test("an error after partial output is not retryable and still carries the final chunk")
    func errorAfterPartialOutput() async throws {
        let gateway = try GatewayProcess()
        defer { gateway.stop() }
        let client = try await gateway.connect()
        let stream = try await client.chatStream(
            userMessage("x"),
            options: CallOptions(metadata: [
                "mock-tokens": "10", "mock-error": "UNAVAILABLE", "mock-error-after": "4", "mock-retry-after-ms": "250",
            ]))
        let (chunks, error) = await collect(stream)
        #expect(chunks.map(\.text).joined() == mockText(tokens: 10).split(separator: " ").prefix(4).map { $0 + " " }.joined())
        #expect(chunks.last?.isFinal == true && chunks.last?.finishReason == .error)
        #expect(chunks.last?.usage?.deliveredChunks == 4)
        #expect(error?.code == .unavailable)
        #expect(error?.detail.retryable == false, "output already reached the caller")
        #expect(error?.detail.retryAfterMilliseconds == 250)

        // Before any output the same error stays retryable.
        let early = await collect(
            try await client.chatStream(userMessage("x"), options: CallOptions(metadata: ["mock-error": "UNAVAILABLE"])))
        #expect(early.error?.code == .unavailable && early.error?.detail.retryable == true)
        await client.close()
    }
}
