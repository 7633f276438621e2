#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A deliberately small blocking HTTP/1.1 client over a raw loopback socket. Tests need to see
/// exactly what went over the wire (chunk boundaries, resets, half-finished streams), which a
/// full client library would hide.
final class RawHTTPConnection {
    enum ClientError: Error, Equatable {
        case connectFailed(Int32)
        case sendFailed(Int32)
        /// The peer reset the connection (ECONNRESET).
        case reset
        case timedOut
        case readFailed(Int32)
        case closedEarly
        case malformed(String)
    }

    /// A response read so far; `error` says why reading stopped early, if it did.
    struct Response {
        var status = 0
        var headers: [(name: String, value: String)] = []
        /// De-chunked body bytes.
        var body: [UInt8] = []
        /// Sizes of the HTTP chunks, in order (empty for non-chunked bodies).
        var chunkSizes: [Int] = []
        /// True when the body ended as framed (terminator chunk, full length, or close for close-delimited).
        var complete = false

        func header(_ name: String) -> String? {
            self.headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        var text: String { String(decoding: self.body, as: UTF8.self) }
    }

    struct Incomplete: Error {
        var response: Response
        var cause: ClientError
    }

    private var fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeoutSeconds: Int = 10) throws {
        self.fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard self.fd >= 0 else { throw ClientError.connectFailed(errno) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(self.fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            Glibc.close(self.fd)
            throw ClientError.connectFailed(error)
        }
    }

    deinit {
        self.close()
    }

    func close() {
        if self.fd >= 0 {
            Glibc.close(self.fd)
            self.fd = -1
        }
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw ClientError.sendFailed(errno) }
            offset += sent
        }
    }

    static func request(
        method: String = "POST", path: String, headers: [(String, String)] = [], body: String? = nil,
        version: String = "HTTP/1.1"
    ) -> [UInt8] {
        var text = "\(method) \(path) \(version)\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers {
            text += "\(name): \(value)\r\n"
        }
        if let body {
            text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        } else {
            text += "\r\n"
        }
        return Array(text.utf8)
    }

    /// Sends one request and reads its response.
    func exchange(
        method: String = "POST", path: String, headers: [(String, String)] = [], body: String? = nil
    ) throws -> Response {
        try self.send(Self.request(method: method, path: path, headers: headers, body: body))
        return try self.readResponse()
    }

    /// Reads one response; throws `Incomplete` with what arrived if the connection ends early.
    func readResponse() throws -> Response {
        var response = Response()
        do {
            let head = try self.readHead()
            response.status = head.status
            response.headers = head.headers
            if response.status == 100 {
                return response
            }
            if response.header("transfer-encoding")?.lowercased() == "chunked" {
                try self.readChunkedBody(into: &response)
            } else if let length = response.header("content-length").flatMap({ Int($0) }) {
                while self.buffer.count < length {
                    guard try self.fill() else { throw ClientError.closedEarly }
                }
                response.body = Array(self.buffer[0..<length])
                self.buffer.removeFirst(length)
                response.complete = true
            } else {
                while try self.fill() {}
                response.body = self.buffer
                self.buffer.removeAll()
                response.complete = true
            }
        } catch let error as ClientError {
            throw Incomplete(response: response, cause: error)
        }
        return response
    }

    /// Waits until the server closes; returns the error that ended the read, nil for a clean EOF.
    func readToEnd() -> ClientError? {
        do {
            while try self.fill() {}
            return nil
        } catch let error as ClientError {
            return error
        } catch {
            return .readFailed(0)
        }
    }

    private func readHead() throws -> (status: Int, headers: [(name: String, value: String)]) {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            end = Self.find(terminator, in: self.buffer)
            if end == nil {
                guard try self.fill() else { throw ClientError.closedEarly }
            }
        }
        guard let end else { throw ClientError.malformed("no head") }
        let headText = String(decoding: self.buffer[0..<end], as: UTF8.self)
        self.buffer.removeFirst(end + 4)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { throw ClientError.malformed("empty head") }
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw ClientError.malformed("status line")
        }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            return (String(line[..<colon]), String(value))
        }
        return (status, headers)
    }

    private func readChunkedBody(into response: inout Response) throws {
        while true {
            let line = try self.readLine()
            guard let size = Int(line.split(separator: ";").first ?? "", radix: 16) else {
                throw ClientError.malformed("chunk size \(line)")
            }
            if size == 0 {
                _ = try self.readLine()
                response.complete = true
                return
            }
            while self.buffer.count < size + 2 {
                guard try self.fill() else { throw ClientError.closedEarly }
            }
            response.body.append(contentsOf: self.buffer[0..<size])
            response.chunkSizes.append(size)
            guard self.buffer[size] == 13, self.buffer[size + 1] == 10 else {
                throw ClientError.malformed("chunk without CRLF")
            }
            self.buffer.removeFirst(size + 2)
        }
    }

    private func readLine() throws -> String {
        while true {
            if let end = Self.find([13, 10], in: self.buffer) {
                let line = String(decoding: self.buffer[0..<end], as: UTF8.self)
                self.buffer.removeFirst(end + 2)
                return line
            }
            guard try self.fill() else { throw ClientError.closedEarly }
        }
    }

    /// Reads more bytes; false on a clean EOF.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        let count = chunk.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            self.buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        if count == 0 {
            return false
        }
        switch errno {
        case ECONNRESET: throw ClientError.reset
        case EAGAIN, EWOULDBLOCK: throw ClientError.timedOut
        case let other: throw ClientError.readFailed(other)
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) {
                return start
            }
        }
        return nil
    }
}

/// Splits an SSE body into its events (the text between blank lines).
func sseEvents(_ body: String) -> [String] {
    body.splitting(on: "\n\n").filter { !$0.isEmpty }
}

extension String {
    /// Foundation-free split on a multi-character separator.
    func splitting(on separator: String) -> [String] {
        var parts: [String] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}
