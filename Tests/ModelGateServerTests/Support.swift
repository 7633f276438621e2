import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateTestSupport
import ModelGateWire
import NIOCore
import Testing

/// The mock model's reply of `count` tokens, as docs/configuration.md specifies it.
func mockText(tokens count: Int) -> String {
    let words = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog."]
    return (0..<count).map { $0 == count - 1 ? words[$0 % 9] : words[$0 % 9] + " " }.joined()
}

func userMessage(_ text: String, model: String = "mock") -> ChatRequest {
    ChatRequest(model: model, messages: [ChatMessage(role: .user, text: text)])
}

/// Collects a whole stream: the chunks, then the END as an error (nil for OK).
func collect(_ stream: ResponseStream<ChatChunk>) async -> (chunks: [ChatChunk], error: GatewayError?) {
    var chunks: [ChatChunk] = []
    do {
        for try await chunk in stream { chunks.append(chunk) }
        return (chunks, nil)
    } catch let error as GatewayError {
        return (chunks, error)
    } catch {
        return (chunks, GatewayError(.unknown, .internal, "\(error)"))
    }
}

/// Checks how a failed stream ended: `code`, `kind` and `provider`, a final chunk with finish
/// reason error, and when output was delivered first, at least one chunk before the final one
/// and `retryable` false. Returns the error.
@discardableResult
func expectFailedStream(
    _ result: (chunks: [ChatChunk], error: GatewayError?), _ label: String, code: StatusCode, kind: ErrorKind,
    provider: String, partial: Bool, sourceLocation: SourceLocation = #_sourceLocation
) throws -> GatewayError {
    let failure = try #require(result.error, "\(label) must not end OK", sourceLocation: sourceLocation)
    #expect(failure.code == code, "\(label): \(failure)", sourceLocation: sourceLocation)
    #expect(failure.detail.kind == kind, "\(label): \(failure.detail)", sourceLocation: sourceLocation)
    #expect(failure.detail.provider == provider, sourceLocation: sourceLocation)
    let final = try #require(result.chunks.last, sourceLocation: sourceLocation)
    #expect(final.isFinal && final.finishReason == .error, sourceLocation: sourceLocation)
    if partial {
        #expect(result.chunks.count > 1, "output was relayed before the failure", sourceLocation: sourceLocation)
        #expect(failure.detail.retryable == false, "retrying would repeat delivered output", sourceLocation: sourceLocation)
    }
    return failure
}

/// A healthy paced stream on its own connection, started before and checked after some
/// abuse of the gateway: it must complete, whole and OK.
struct Canary {
    static let tokens = 30
    let task: Task<(chunks: [ChatChunk], error: GatewayError?), any Error>

    init(_ gateway: GatewayProcess) async throws {
        let client = try await gateway.connect(tcp: true)
        let stream = try await client.chatStream(
            userMessage("canary"),
            options: CallOptions(metadata: ["mock-tokens": "\(Self.tokens)", "mock-interval-ms": "10"]))
        task = Task {
            let result = await collect(stream)
            await client.close()
            return result
        }
    }

    func expectHealthy(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (chunks, error) = try await task.value
        #expect(error == nil, "canary stream failed: \(String(describing: error))", sourceLocation: sourceLocation)
        #expect(chunks.map(\.text).joined() == mockText(tokens: Self.tokens), sourceLocation: sourceLocation)
        #expect(chunks.map(\.sequence) == Array(0...UInt64(Self.tokens)), sourceLocation: sourceLocation)
        #expect(chunks.last?.isFinal == true, sourceLocation: sourceLocation)
    }
}

/// Raw frame helpers for hand-built traffic.
enum Raw {
    static var codec: WireCodec { WireCodec() }

    static func preface(window: UInt32 = 0) -> [UInt8] {
        var buffer = ByteBuffer(bytes: WireProtocol.magic)
        codec.writeFrame(
            .hello, streamID: 0, HelloMessage(agent: "raw-test", settings: WireSettings(initialWindowSize: window)),
            into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func frame<M: WireMessage>(_ type: FrameType, flags: FrameFlags = [], stream: UInt32, _ message: M) -> [UInt8] {
        var buffer = ByteBuffer()
        codec.writeFrame(type, flags: flags, streamID: stream, message, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func call(
        _ stream: UInt32, method: String = "/modelgate.v1.Gateway/ChatStream", metadata: [String: String] = [:],
        timeoutMicros: UInt64 = 0, request: ChatRequest = userMessage("hi")
    ) -> [UInt8] {
        frame(.call, stream: stream, CallHeader(method: method, timeoutMicros: timeoutMicros, metadata: metadata))
            + frame(.message, flags: .endStream, stream: stream, request)
    }

    static func header(_ type: FrameType, stream: UInt32, payload: [UInt8] = []) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeFrame(type, streamID: stream, payload: ByteBuffer(bytes: payload))
        return Array(buffer.readableBytesView)
    }

    static func decodeEnd(_ frame: RawConnection.RawFrame) throws -> EndStatus {
        try codec.decode(EndStatus.self, ByteBuffer(bytes: frame.payload))
    }

    static func decodeGoAway(_ frame: RawConnection.RawFrame) throws -> GoAwayMessage {
        try codec.decode(GoAwayMessage.self, ByteBuffer(bytes: frame.payload))
    }

    static func decodeChunk(_ frame: RawConnection.RawFrame) throws -> ChatChunk {
        try codec.decode(ChatChunk.self, ByteBuffer(bytes: frame.payload))
    }
}
