import Foundation
import Testing

@testable import ModelGateFakeUpstream

enum TestFixtures {
    /// `Tests/Fixtures/upstream`, found from this file's path so tests run from any directory.
    static let directory: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/Fixtures/upstream"
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        let data = try Data(contentsOf: URL(fileURLWithPath: self.directory + "/" + name))
        return [UInt8](data)
    }
}

/// Runs `body` against a fresh in-process server on a free port.
func withFakeUpstream<T>(
    fixtures: String = TestFixtures.directory, maxRequestBodyBytes: Int = 32 << 20, _ body: (Int) async throws -> T
) async throws -> T {
    let server = FakeUpstreamServer(
        configuration: FakeUpstreamConfiguration(fixturesDirectory: fixtures, maxRequestBodyBytes: maxRequestBodyBytes))
    let port = try await server.start()
    do {
        let result = try await body(port)
        try await server.shutdown()
        return result
    } catch {
        try? await server.shutdown()
        throw error
    }
}

/// One request on its own connection.
func send(
    port: Int, method: String = "POST", path: String = "/v1/chat/completions", headers: [(String, String)] = [],
    body: String? = nil
) throws -> RawHTTPConnection.Response {
    let connection = try RawHTTPConnection(port: port)
    return try connection.exchange(method: method, path: path, headers: headers, body: body)
}

func jsonObject(_ bytes: [UInt8]) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(bytes))
    return try #require(object as? [String: Any], "not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
}

func events(port: Int, requestID: String? = nil) throws -> [[String: Any]] {
    let query = requestID.map { "?request_id=\($0)" } ?? ""
    let response = try send(port: port, method: "GET", path: "/_fake/events\(query)")
    #expect(response.status == 200)
    let object = try JSONSerialization.jsonObject(with: Data(response.body))
    return try #require(object as? [[String: Any]])
}

/// Polls `/_fake/events` until the request's event satisfies `condition` (the server records
/// promptly; the test side just cannot be notified). Gives up after ten seconds.
func waitForEvent(
    port: Int, requestID: String, _ condition: ([String: Any]) -> Bool
) async throws -> [String: Any] {
    for _ in 0..<1000 {
        if let event = try events(port: port, requestID: requestID).first, condition(event) {
            return event
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("event \(requestID) never reached the expected state")
    return try #require(try events(port: port, requestID: requestID).first)
}

/// The `seq` in `x-request-id: req_fake_SEQ`.
func seq(of response: RawHTTPConnection.Response) throws -> Int {
    let header = try #require(response.header("x-request-id"))
    return try #require(Int(header.dropFirst("req_fake_".count)))
}

/// The `created` field of the first SSE event, needed to spell out expected events.
func created(in events: [String]) throws -> Int {
    let first = try #require(events.first)
    let object = try jsonObject(Array(first.dropFirst("data: ".count).utf8))
    return try #require(object["created"] as? Int)
}
