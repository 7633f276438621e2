import NIOCore
import NIOHTTP1

extension ServerCore {
    /// Answers `/_fake/...`. These requests are not logged, and are answered when their turn
    /// comes on the connection, so a pipelined `/_fake/events` sees the requests before it.
    func control(method: HTTPMethod, path: Substring, query: Substring?, keepAlive: Bool, allocator: ByteBufferAllocator)
        -> FixedResponse
    {
        var head = ResponseHead()
        head.close = !keepAlive

        func answer(_ body: ByteBuffer) -> FixedResponse {
            FixedResponse(head: head, body: body)
        }
        func failure(_ status: Int, _ message: String) -> FixedResponse {
            head.status = status
            let error = OpenAIError(message: message, type: "invalid_request_error", param: nil, code: nil)
            return FixedResponse(head: head, body: error.body(allocator: allocator))
        }

        switch path {
        case "/_fake/events":
            guard method == .GET else { return failure(405, "use GET \(path)") }
            let requestID = query.flatMap { Self.queryValue(named: "request_id", in: $0) }
            let events = self.log.events(requestID: requestID)
            var body = allocator.buffer(capacity: 2 + events.count * 256)
            body.writeInteger(UInt8(ascii: "["))
            for (position, event) in events.enumerated() {
                if position > 0 { body.writeInteger(UInt8(ascii: ",")) }
                event.writeJSON(into: &body)
            }
            body.writeInteger(UInt8(ascii: "]"))
            return answer(body)

        case "/_fake/reset":
            guard method == .POST else { return failure(405, "use POST \(path)") }
            self.log.reset()
            var body = allocator.buffer(capacity: 16)
            body.writeStaticString("{\"ok\":true}")
            return answer(body)

        default:
            let prefix = "/_fake/requests/"
            if path.hasPrefix(prefix) {
                guard method == .GET else { return failure(405, "use GET \(path)") }
                guard let seq = Int(path.dropFirst(prefix.count)) else {
                    return failure(400, "\(path): SEQ must be an integer")
                }
                guard let record = self.log.request(seq: seq) else {
                    return failure(404, "request \(seq) is unknown or no longer kept")
                }
                var body = allocator.buffer(capacity: 256 + record.body.count)
                record.writeJSON(into: &body)
                return answer(body)
            }
            return failure(404, "unknown control endpoint \(path)")
        }
    }

    /// The %-decoded value of `name` in a query string (`+` means space, as in forms).
    static func queryValue(named name: String, in query: Substring) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, percentDecode(parts[0]) == name else { continue }
            return percentDecode(parts[1].replacingOccurrences(of: "+", with: " "))
        }
        return nil
    }
}

extension Substring {
    /// Foundation-free `replacingOccurrences` for one character.
    fileprivate func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(self.map { $0 == target ? replacement : $0 })
    }
}
