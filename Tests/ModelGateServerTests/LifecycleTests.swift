import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateTestSupport
import ModelGateWire
import Testing

@Suite("Limits, drain and the Unix socket against the real gateway")
struct LifecycleTests {
    @Test("CALLs beyond the stream limit get RESOURCE_EXHAUSTED; the admitted streams finish")
    func streamLimit() async throws {
        let gateway = try GatewayProcess(extra: "limits:\n  max_concurrent_streams: 3")
        defer { gateway.stop() }
        let client = try await gateway.connect()
        var admitted: [ResponseStream<ChatChunk>] = []
        for _ in 0..<3 {
            admitted.append(
                try await client.chatStream(
                    userMessage("slow"),
                    // Hold the slot for seconds, so even a loaded machine makes the next call while it is taken.
                    options: CallOptions(metadata: ["mock-tokens": "10", "mock-first-token-ms": "3000"])))
        }
        let refused = await #expect(throws: GatewayError.self) { _ = try await client.chat(userMessage("one too many")) }
        #expect(refused?.code == .resourceExhausted)
        #expect(refused?.detail.kind == .gatewayLimit && refused?.detail.retryable == true)
        for stream in admitted {
            let (chunks, error) = await collect(stream)
            #expect(error == nil && chunks.map(\.text).joined() == mockText(tokens: 10))
        }
        #expect(try await client.chat(userMessage("now fine")).text == mockText(tokens: 16))
        await client.close()
    }

    @Test("connections beyond the limit get GOAWAY CONNECTION_LIMIT")
    func connectionLimit() async throws {
        let gateway = try GatewayProcess(extra: "limits:\n  max_connections: 2")
        defer { gateway.stop() }
        let first = try await gateway.connect()
        let second = try await gateway.connect()
        let third = try RawConnection(gateway.unixAddress)
        let frames = try third.readUntilClosed()
        #expect(try frames.last.map(Raw.decodeGoAway)?.code == .connectionLimit)
        #expect(try await first.chat(userMessage("a")).text == mockText(tokens: 16))
        await second.close()
        await first.close()
    }

    @Test("a connection that sends no preface is closed with GOAWAY TIMEOUT")
    func helloTimeout() async throws {
        let gateway = try GatewayProcess(extra: "limits:\n  hello_timeout_ms: 200")
        defer { gateway.stop() }
        let silent = try RawConnection(gateway.tcpAddress)
        let frames = try silent.readUntilClosed(timeout: 5)
        #expect(try frames.last.map(Raw.decodeGoAway)?.code == .timeout)
    }

    @Test("SIGTERM drains: in-flight streams finish, new CALLs are refused, the process exits 0")
    func gracefulDrain() async throws {
        let gateway = try GatewayProcess()
        let client = try await gateway.connect()
        let raw = try RawConnection(gateway.unixAddress)
        try raw.send(Raw.preface())
        _ = try raw.readFrame()
        // Each call is known to be running (its first chunk arrived) before SIGTERM: on a busy
        // machine a fixed sleep does not guarantee the gateway has even read the CALLs.
        var streams: [ResponseStream<ChatChunk>.Iterator] = []
        var texts: [String] = []
        for _ in 0..<3 {
            var stream = try await client.chatStream(
                userMessage("drain"), options: CallOptions(metadata: ["mock-tokens": "30", "mock-interval-ms": "50"])
            ).makeAsyncIterator()
            texts.append(try await stream.next()?.text ?? "")
            streams.append(stream)
        }
        try raw.send(Raw.call(1, metadata: ["mock-tokens": "30", "mock-interval-ms": "50"]))
        var frames: [RawConnection.RawFrame] = []
        while let frame = try raw.readFrame() {
            frames.append(frame)
            if frame.type == FrameType.message.rawValue && frame.streamID == 1 { break }
        }
        gateway.process.signal(SIGTERM)

        // The raw connection sees GOAWAY(NO_ERROR); a CALL after it is refused with UNAVAILABLE.
        var sawGoAway = false
        while let frame = try raw.readFrame() {
            frames.append(frame)
            if frame.type == FrameType.goAway.rawValue, !sawGoAway {
                sawGoAway = true
                #expect(try Raw.decodeGoAway(frame) == GoAwayMessage(lastStreamID: 1, code: .noError, reason: "the gateway is shutting down"))
                try raw.send(Raw.call(3))
            }
        }
        #expect(sawGoAway)
        let ends = try frames.filter { $0.type == FrameType.end.rawValue }.map { ($0.streamID, try Raw.decodeEnd($0)) }
        #expect(ends.first { $0.0 == 1 }?.1.code == .ok, "the in-flight raw stream finished")
        let refused = ends.first { $0.0 == 3 }?.1
        #expect(refused?.code == .unavailable && refused?.detail?.kind == .shuttingDown)

        for index in streams.indices {
            var rest = ""
            do {
                while let chunk = try await streams[index].next() { rest += chunk.text }
            } catch {
                Issue.record("stream \(index) failed: \(error)")
            }
            #expect(texts[index] + rest == mockText(tokens: 30))
        }
        #expect(gateway.process.waitForExit(timeout: 10) == 0)
        #expect(!FileManager.default.fileExists(atPath: gateway.socketPath), "the socket file is removed")
    }

    @Test("streams still running at the drain timeout end with UNAVAILABLE and their final chunk")
    func drainTimeout() async throws {
        let gateway = try GatewayProcess(extra: "shutdown:\n  drain_timeout_ms: 300")
        let client = try await gateway.connect()
        let stream = try await client.chatStream(
            userMessage("forever"), options: CallOptions(metadata: ["mock-tokens": "100000", "mock-interval-ms": "10"]))
        try await Task.sleep(for: .milliseconds(100))
        let stopped = Date()
        gateway.process.signal(SIGTERM)
        let (chunks, error) = await collect(stream)
        #expect(error?.code == .unavailable && error?.detail.kind == .shuttingDown)
        #expect(chunks.last?.isFinal == true && (chunks.last?.usage?.deliveredChunks ?? 0) > 0)
        #expect(gateway.process.waitForExit(timeout: 10) == 0)
        #expect(Date().timeIntervalSince(stopped) < 5)
    }

    @Test("the Unix socket has the configured mode")
    func socketMode() async throws {
        let gateway = try GatewayProcess(extra: "")
        defer { gateway.stop() }
        let attributes = try FileManager.default.attributesOfItem(atPath: gateway.socketPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o660)

        let directory = try TestPaths.temporaryDirectory()
        let path = directory.appendingPathComponent("private.sock").path
        let strict = try GatewayProcess(
            extra: "", directory: directory,
            unixSection: "  unix:\n    path: \(path)\n    mode: \"0600\"")
        defer { strict.stop() }
        let strictAttributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((strictAttributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test("a live socket is never taken over; a stale one is replaced")
    func socketTakeover() async throws {
        let gateway = try GatewayProcess()
        defer { gateway.stop() }
        // A second gateway on the same path must refuse to start.
        let second = try ChildProcessExpectingFailure(configPath: gateway.configPath)
        #expect(second.status != 0)
        #expect(second.stderr.contains("another process is already serving"))
        #expect(try await gateway.connect().chat(userMessage("still mine")).text == mockText(tokens: 16))

        // A stale socket (bound, never unlinked, nobody listening) is removed and replaced.
        let directory = try TestPaths.temporaryDirectory()
        let stalePath = directory.appendingPathComponent("gw.sock").path
        try makeStaleSocket(at: stalePath)
        let replacement = try GatewayProcess(directory: directory)
        defer { replacement.stop() }
        #expect(try await replacement.connect().chat(userMessage("hi")).text == mockText(tokens: 16))
    }
}

/// Runs `modelgate serve` expecting it to fail at start.
private struct ChildProcessExpectingFailure {
    var status: Int32
    var stderr: String

    init(configPath: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.gatewayBinary)
        process.arguments = ["serve", "--config", configPath]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        status = process.terminationStatus
        stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}

private func makeStaleSocket(at path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
    }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    close(fd)
    guard result == 0 else { throw TestSupportError("bind \(path): errno \(errno)") }
}
