import Foundation
import ModelGateClient

/// A plain blocking socket to the gateway, for sending hand-made (often malformed) bytes and
/// reading back raw frames, with no client library in between.
package final class RawConnection {
    /// A frame as read off the socket.
    package struct RawFrame: Equatable, CustomStringConvertible {
        package var type: UInt8
        package var flags: UInt8
        package var streamID: UInt32
        package var payload: [UInt8]

        package var description: String { "frame(type: \(type), flags: \(flags), stream: \(streamID), \(payload.count) bytes)" }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    package init(_ address: GatewayAddress) throws {
        switch address {
        case .unix(let path):
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let result = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard result == 0 else { throw TestSupportError("connect \(path): errno \(errno)") }
        case .tcp(let host, let port):
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &addr.sin_addr)
            let result = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else { throw TestSupportError("connect \(host):\(port): errno \(errno)") }
        }
    }

    deinit {
        close(fd)
    }

    package func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Foundation.send(fd, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw TestSupportError("send failed: errno \(errno)") }
            offset += written
        }
    }

    /// Half-closes the sending side (the server sees EOF).
    package func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// The next frame, or nil if the server closed the connection first.
    package func readFrame(timeout: Double = 10) throws -> RawFrame? {
        while true {
            if buffer.count >= 10 {
                let length = Int(UInt32(buffer[0]) << 24 | UInt32(buffer[1]) << 16 | UInt32(buffer[2]) << 8 | UInt32(buffer[3]))
                if buffer.count >= 10 + length {
                    let streamID = UInt32(buffer[6]) << 24 | UInt32(buffer[7]) << 16 | UInt32(buffer[8]) << 8 | UInt32(buffer[9])
                    let frame = RawFrame(
                        type: buffer[4], flags: buffer[5], streamID: streamID, payload: Array(buffer[10..<(10 + length)]))
                    buffer.removeFirst(10 + length)
                    return frame
                }
            }
            guard try fill(timeout: timeout) else { return nil }
        }
    }

    /// Reads frames until the server closes the connection; throws if it stays open past `timeout`.
    package func readUntilClosed(timeout: Double = 10) throws -> [RawFrame] {
        var frames: [RawFrame] = []
        while let frame = try readFrame(timeout: timeout) {
            frames.append(frame)
        }
        return frames
    }

    /// Reads more bytes; false at EOF (or reset).
    private func fill(timeout: Double) throws -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, Int32(timeout * 1000))
        guard ready > 0 else { throw TestSupportError("no data from the gateway within \(timeout)s") }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &chunk, chunk.count, 0)
        if count <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }
}
