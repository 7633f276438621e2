import Foundation

/// The real `modelgate-fake-upstream` binary, on a free loopback port.
package final class FakeUpstreamProcess: Sendable {
    /// One request the fake upstream saw (docs/fake-upstream.md, `/_fake/events`).
    package struct Event: Decodable, Sendable {
        package var seq: Int
        package var requestID: String?
        package var path: String
        package var model: String?
        package var scenario: String?
        package var outcome: String
        package var bodyBytesSent: Int?

        enum CodingKeys: String, CodingKey {
            case seq, path, model, scenario, outcome
            case requestID = "request_id"
            case bodyBytesSent = "body_bytes_sent"
        }
    }

    /// A recorded request (`/_fake/requests/SEQ`).
    package struct RecordedRequest: Decodable, Sendable {
        package var method: String
        package var path: String
        package var headers: [[String]]
        package var body: String

        package func header(_ name: String) -> String? {
            headers.first { $0.first?.lowercased() == name.lowercased() }.flatMap { $0.count > 1 ? $0[1] : nil }
        }
    }

    package let process: ChildProcess
    package let port: Int

    /// - Parameter fixturesDirectory: where `replay=` files are read (the recorded fixtures by
    ///   default).
    package init(fixturesDirectory: String = TestPaths.fixtures.path) throws {
        process = try ChildProcess(
            executable: TestPaths.fakeUpstreamBinary,
            arguments: ["--host", "127.0.0.1", "--port", "0", "--fixtures", fixturesDirectory])
        guard let url = process.readyLine.split(separator: " ").last, let colon = url.lastIndex(of: ":"),
            let port = Int(url[url.index(after: colon)...])
        else { throw TestSupportError("unexpected ready line: \(process.readyLine)") }
        self.port = port
    }

    /// The base URL an OpenAI-compatible provider config points at.
    package var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    package func stop() {
        process.stop()
    }

    package func events(requestID: String? = nil) throws -> [Event] {
        let path = requestID.map { "/_fake/events?request_id=\($0)" } ?? "/_fake/events"
        return try JSONDecoder().decode([Event].self, from: get(path))
    }

    package func request(_ seq: Int) throws -> RecordedRequest {
        try JSONDecoder().decode(RecordedRequest.self, from: get("/_fake/requests/\(seq)"))
    }

    /// Polls the event log until the request's outcome is `outcome` (or `timeout` passes).
    package func waitForOutcome(requestID: String, _ outcome: String, timeout: Double = 5) throws -> Event? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let event = try events(requestID: requestID).last, event.outcome == outcome { return event }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        return try events(requestID: requestID).last
    }

    /// A minimal HTTP/1.1 GET with `Connection: close`, enough for the control endpoints.
    private func get(_ path: String) throws -> Data {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestSupportError("fake upstream not reachable: errno \(errno)") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            response.append(contentsOf: chunk[0..<count])
        }
        guard let split = response.firstRange(of: Array("\r\n\r\n".utf8)) else {
            throw TestSupportError("malformed control response")
        }
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self).lowercased()
        var body = Array(response[split.upperBound...])
        if head.contains("transfer-encoding: chunked") { body = Self.dechunk(body) }
        return Data(body)
    }

    private static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var index = 0
        while let lineEnd = bytes[index...].firstRange(of: [13, 10]) {
            let size = Int(String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self), radix: 16) ?? 0
            if size == 0 { break }
            let start = lineEnd.upperBound
            result.append(contentsOf: bytes[start..<min(start + size, bytes.count)])
            index = start + size + 2
            if index >= bytes.count { break }
        }
        return result
    }
}
