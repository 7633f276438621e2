import ModelGateClient
import ModelGateCore
import ModelGateTestSupport
import ModelGateWire
import Testing

/// Every malformed-input vector against the real gateway, each while a healthy stream runs
/// on another connection: the bad connection gets its clear answer, nothing else notices.
@Suite("Bad input against the real gateway", .serialized)
struct BadInputTests {
    @Test("malformed vector gets its documented answer", arguments: try ProtocolVector.malformedNames())
    func malformedVector(name: String) async throws {
        let gateway = try GatewayProcess()
        defer { gateway.stop() }
        let canary = try await Canary(gateway)
        let vector = try ProtocolVector.load(name)
        let expectation = try #require(vector.headers["expect"])
        let connection = try RawConnection(gateway.unixAddress)
        let withPreface = vector.headers["preface"] != "yes"
        try connection.send((withPreface ? Raw.preface() : []) + vector.bytes)
        if withPreface {
            let hello = try #require(try connection.readFrame())
            #expect(hello.type == FrameType.hello.rawValue)
        }

        let words = expectation.split(separator: " ").map(String.init)
        switch words.first {
        case "goaway":
            let frames = try connection.readUntilClosed()
            let goAway = try #require(frames.last, "no GOAWAY before close")
            #expect(goAway.type == FrameType.goAway.rawValue)
            let message = try Raw.decodeGoAway(goAway)
            #expect(message.code.description == words[1], "\(message)")
            #expect(!message.reason.isEmpty)
        case "end":
            let end = try #require(try connection.readFrame())
            #expect(end.type == FrameType.end.rawValue && end.streamID == 1, "\(end)")
            let status = try Raw.decodeEnd(end)
            #expect(status.code.description == words[1], "\(status)")
            #expect(!status.message.isEmpty)
            #expect(status.detail != nil)
            // The connection survives a bad stream: it still answers PING.
            try connection.send(Raw.header(.ping, stream: 0, payload: [1, 2, 3, 4, 5, 6, 7, 8]))
            let pong = try #require(try connection.readFrame())
            #expect(pong.type == FrameType.pong.rawValue && pong.payload == [1, 2, 3, 4, 5, 6, 7, 8])
        case "close":
            connection.shutdownWrite()
            #expect(try connection.readUntilClosed().isEmpty)
        default:
            Issue.record("unknown expectation \(expectation)")
        }
        try await canary.expectHealthy()
        // And the gateway still serves new connections.
        let client = try await gateway.connect()
        #expect(try await client.chat(userMessage("after")).text == mockText(tokens: 16))
        await client.close()
        #expect(gateway.process.isRunning)
    }

    @Test("garbage bytes of every length never crash the gateway")
    func randomGarbage() async throws {
        let gateway = try GatewayProcess()
        defer { gateway.stop() }
        let canary = try await Canary(gateway)
        var generator = SystemRandomNumberGenerator()
        for length in [1, 7, 8, 9, 10, 64, 4096] {
            for withPreface in [false, true] {
                let connection = try RawConnection(gateway.tcpAddress)
                let garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                try connection.send((withPreface ? Raw.preface() : []) + garbage)
                connection.shutdownWrite()
                _ = try connection.readUntilClosed()
            }
        }
        try await canary.expectHealthy()
        #expect(gateway.process.isRunning)
    }

    @Test("a stream-level error leaves the other streams of the same connection alone")
    func badStreamBesideGoodOnes() async throws {
        let gateway = try GatewayProcess()
        defer { gateway.stop() }
        let client = try await gateway.connect()
        let good = try await client.chatStream(
            userMessage("good"), options: CallOptions(metadata: ["mock-tokens": "20", "mock-interval-ms": "5"]))
        let unknown = await #expect(throws: GatewayError.self) {
            _ = try await client.chat(userMessage("bad", model: "nope"))
        }
        #expect(unknown?.code == .notFound)
        #expect(unknown?.detail.kind == .unknownModel)
        #expect(unknown?.detail.requestID.isEmpty == false)
        let invalid = await #expect(throws: GatewayError.self) {
            _ = try await client.chat(userMessage("bad"), options: CallOptions(metadata: ["Bad Key": "x"]))
        }
        #expect(invalid?.code == .invalidArgument)
        let (chunks, error) = await collect(good)
        #expect(error == nil)
        #expect(chunks.map(\.text).joined() == mockText(tokens: 20))
        await client.close()
    }
}
