import Foundation
import ModelGateCore
import ModelGateTestSupport
import ModelGateWire
import Testing

@Suite("Per-stream flow control against the real gateway")
struct FlowControlTests {
    /// Reads MESSAGE frames on `stream` until nothing arrives for a while.
    private func drain(_ connection: RawConnection, quietFor seconds: Double) throws -> [RawConnection.RawFrame] {
        var frames: [RawConnection.RawFrame] = []
        while true {
            do {
                guard let frame = try connection.readFrame(timeout: seconds) else { break }
                frames.append(frame)
            } catch is TestSupportError {
                break  // quiet
            }
        }
        return frames
    }

    @Test("the server stops at the window and resumes on WINDOW; a stalled stream does not block another")
    func windowAndIndependence() async throws {
        let gateway = try GatewayProcess()
        defer { gateway.stop() }
        let connection = try RawConnection(gateway.unixAddress)
        let window: UInt32 = 100
        try connection.send(
            Raw.preface(window: window)
                + Raw.call(1, metadata: ["mock-tokens": "200"]) + Raw.call(3, metadata: ["mock-tokens": "200"]))
        var frames = try drain(connection, quietFor: 0.5)
        #expect(frames.first?.type == FrameType.hello.rawValue)
        frames.removeFirst()
        let firstWindow = frames
        for stream in [UInt32(1), 3] {
            let bytes = frames.filter { $0.streamID == stream }.reduce(0) { $0 + $1.payload.count }
            #expect(bytes >= Int(window), "stream \(stream) used its window")
            #expect(bytes < Int(window) + 64, "stream \(stream) stopped at its window (sent \(bytes))")
        }

        // Grant stream 3 plenty: it finishes while stream 1 stays stalled.
        var grant = [UInt8]()
        grant += Raw.header(.window, stream: 3, payload: [0x00, 0x10, 0x00, 0x00])
        try connection.send(grant)
        frames = try drain(connection, quietFor: 0.5)
        #expect(frames.allSatisfy { $0.streamID == 3 })
        #expect(frames.last?.type == FrameType.end.rawValue)
        #expect(try Raw.decodeEnd(frames.last!).code == .ok)
        let stream3 = firstWindow.filter { $0.streamID == 3 } + frames.dropLast()
        let text = try stream3.map { try Raw.decodeChunk($0).text }.joined()
        #expect(text == mockText(tokens: 200), "stream 3 got everything, in order")

        // Then stream 1 completes too once it gets credit.
        try connection.send(Raw.header(.window, stream: 1, payload: [0x00, 0x10, 0x00, 0x00]))
        frames = try drain(connection, quietFor: 0.5)
        #expect(frames.last?.type == FrameType.end.rawValue && frames.last?.streamID == 1)
    }

    @Test("a WINDOW that overflows the credit is a protocol error")
    func windowOverflow() async throws {
        let gateway = try GatewayProcess()
        defer { gateway.stop() }
        let connection = try RawConnection(gateway.unixAddress)
        try connection.send(
            Raw.preface() + Raw.call(1, metadata: ["mock-first-token-ms": "5000"])
                + Raw.header(.window, stream: 1, payload: [0x7F, 0xFF, 0xFF, 0xFF]))
        let frames = try connection.readUntilClosed()
        let goAway = try #require(frames.last)
        #expect(try Raw.decodeGoAway(goAway).code == .protocolError)
    }
}
