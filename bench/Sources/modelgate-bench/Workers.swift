import Foundation
import ModelGateCore
import ModelGateWire
import NIOCore

/// Where a load worker connects.
enum Endpoint: Sendable {
    case unix(String)
    case tcp(host: String, port: Int)
}

/// A blocking stream socket with a read buffer. Load generators use plain blocking I/O on their
/// own threads so that the client side costs the same for every system measured.
final class BlockingSocket {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    private var start = 0
    private var end = 0

    init(_ endpoint: Endpoint) throws {
        switch endpoint {
        case .unix(let path):
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { throw BenchError("connect \(path): errno \(errno)") }
        case .tcp(let host, let port):
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else { throw BenchError("connect \(host):\(port): errno \(errno)") }
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw BenchError("send: errno \(errno)") }
            offset += written
        }
    }

    /// Ensures at least `count` unread bytes are buffered.
    private func need(_ count: Int) throws {
        if end - start >= count { return }
        if start > 0 {
            buffer.withUnsafeMutableBufferPointer { raw in
                _ = memmove(raw.baseAddress!, raw.baseAddress! + start, end - start)
            }
            end -= start
            start = 0
        }
        if count > buffer.count { buffer += [UInt8](repeating: 0, count: count - buffer.count) }
        while end - start < count {
            let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + end, $0.count - end, 0) }
            guard received > 0 else { throw BenchError("connection closed") }
            end += received
        }
    }

    func readByte() throws -> UInt8 {
        try need(1)
        defer { start += 1 }
        return buffer[start]
    }

    func readBytes(_ count: Int) throws -> ArraySlice<UInt8> {
        try need(count)
        defer { start += count }
        return buffer[start..<(start + count)]
    }

    func skip(_ count: Int) throws {
        try need(count)
        start += count
    }

    /// A line ending in CRLF, without it.
    func readLine() throws -> String {
        var bytes: [UInt8] = []
        while true {
            let byte = try readByte()
            if byte == 10 { break }
            if byte != 13 { bytes.append(byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// What one call measured.
struct CallTiming {
    /// From sending the request to the first generated token (streams) or the whole response.
    var firstToken: Duration
    var total: Duration
    var tokens: Int
}

/// A worker that performs one call at a time on its own connection.
protocol LoadWorker: AnyObject {
    func call() throws -> CallTiming
}

/// OpenAI-style HTTP/1.1 keep-alive calls to an OpenAI-compatible server on loopback: the fake
/// upstream itself (model = its scenario), or a proxy in front of it (with its bearer key).
final class DirectHTTPWorker: LoadWorker {
    private let socket: BlockingSocket
    private let request: [UInt8]
    private let streaming: Bool

    init(port: Int, model: String, streaming: Bool, bearer: String? = nil) throws {
        socket = try BlockingSocket(.tcp(host: "127.0.0.1", port: port))
        self.streaming = streaming
        request = openAIChatRequest(model: model, streaming: streaming, bearer: bearer)
    }

    func call() throws -> CallTiming {
        let started = ContinuousClock.now
        try socket.send(request)
        guard try socket.readLine().contains(" 200 ") else { throw BenchError("direct call failed") }
        var contentLength = -1
        var chunked = false
        while true {
            let line = try socket.readLine()
            if line.isEmpty { break }
            let lower = line.lowercased()
            if lower.hasPrefix("content-length:") { contentLength = Int(lower.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? -1 }
            if lower.hasPrefix("transfer-encoding:") && lower.contains("chunked") { chunked = true }
        }
        var firstToken: Duration?
        var tokens = 0
        if chunked {
            while true {
                let size = Int(try socket.readLine(), radix: 16) ?? 0
                if size == 0 {
                    _ = try socket.readLine()
                    break
                }
                let data = try socket.readBytes(size)
                // Each OpenAI content event carries one token; count them as they pass.
                let count = countOccurrences(of: contentMarker, in: data)
                if count > 0 && firstToken == nil { firstToken = ContinuousClock.now - started }
                tokens += count
                _ = try socket.readLine()
            }
        } else {
            try socket.skip(max(contentLength, 0))
            tokens = 1
        }
        let total = ContinuousClock.now - started
        return CallTiming(firstToken: firstToken ?? total, total: total, tokens: tokens)
    }
}

/// The bytes of one `POST /v1/chat/completions` (HTTP/1.1, keep-alive).
func openAIChatRequest(model: String, streaming: Bool, bearer: String?) -> [UInt8] {
    let body =
        #"{"model":"\#(model)","stream":\#(streaming),"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello there"}]}"#
    let authorization = bearer.map { "Authorization: Bearer \($0)\r\n" } ?? ""
    return Array(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\(authorization)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            .utf8)
}

/// Every token event of the fake upstream's streams contains this (tokens are `tok1 `, `tok2 `…),
/// whether relayed as is or re-serialised by a proxy.
let contentMarker = Array(#""content":"tok"#.utf8)

func countOccurrences(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int {
    guard haystack.count >= needle.count else { return 0 }
    var count = 0
    var index = haystack.startIndex
    let last = haystack.endIndex - needle.count
    while index <= last {
        if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) {
            count += 1
            index += needle.count
        } else {
            index += 1
        }
    }
    return count
}

/// Native-protocol calls to the gateway: CALL + MESSAGE, then frames until END.
final class NativeWorker: LoadWorker {
    private let socket: BlockingSocket
    private var template: [UInt8]
    private let callLength: Int
    private var streamID: UInt32 = 0
    private let streaming: Bool

    init(endpoint: Endpoint, model: String, streaming: Bool, metadata: [String: String] = [:]) throws {
        socket = try BlockingSocket(endpoint)
        self.streaming = streaming
        let codec = WireCodec()
        var preface = ByteBuffer(bytes: WireProtocol.magic)
        codec.writeFrame(
            .hello, streamID: 0, HelloMessage(agent: "modelgate-bench", settings: WireSettings(initialWindowSize: 1 << 24)),
            into: &preface)
        try socket.send(Array(preface.readableBytesView))
        _ = try Self.readFrame(socket)  // server HELLO
        let method = streaming ? "/modelgate.v1.Gateway/ChatStream" : "/modelgate.v1.Gateway/Chat"
        var call = ByteBuffer()
        codec.writeFrame(.call, streamID: 0, CallHeader(method: method, metadata: metadata), into: &call)
        callLength = call.readableBytes
        codec.writeFrame(
            .message, flags: .endStream, streamID: 0,
            ChatRequest(model: model, messages: [ChatMessage(role: .user, text: "hello there")]), into: &call)
        template = Array(call.readableBytesView)
    }

    private static func readFrame(_ socket: BlockingSocket) throws -> (type: UInt8, stream: UInt32, payload: ArraySlice<UInt8>) {
        let header = try socket.readBytes(10)
        let base = header.startIndex
        let length = Int(header[base]) << 24 | Int(header[base + 1]) << 16 | Int(header[base + 2]) << 8 | Int(header[base + 3])
        let type = header[base + 4]
        let stream = UInt32(header[base + 6]) << 24 | UInt32(header[base + 7]) << 16 | UInt32(header[base + 8]) << 8
            | UInt32(header[base + 9])
        return (type, stream, try socket.readBytes(length))
    }

    func call() throws -> CallTiming {
        streamID += 1
        for offset in [6, callLength + 6] {
            template[offset] = UInt8(truncatingIfNeeded: streamID >> 24)
            template[offset + 1] = UInt8(truncatingIfNeeded: streamID >> 16)
            template[offset + 2] = UInt8(truncatingIfNeeded: streamID >> 8)
            template[offset + 3] = UInt8(truncatingIfNeeded: streamID)
        }
        let started = ContinuousClock.now
        try socket.send(template)
        var firstToken: Duration?
        var messages = 0
        while true {
            let frame = try Self.readFrame(socket)
            if frame.type == FrameType.message.rawValue {
                messages += 1
                if firstToken == nil { firstToken = ContinuousClock.now - started }
            } else if frame.type == FrameType.end.rawValue {
                guard frame.payload.isEmpty else { throw BenchError("gateway call failed") }
                break
            }
        }
        let total = ContinuousClock.now - started
        // A stream's last message is the final chunk, which carries no token.
        return CallTiming(firstToken: firstToken ?? total, total: total, tokens: streaming ? messages - 1 : 1)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
