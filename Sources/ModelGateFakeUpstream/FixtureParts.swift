import ModelGateCrypto
import ModelGateJSON
import NIOCore

/// `replay=FILE;part=NAME`: one part of a fixture that holds several things, served byte for
/// byte as it appears in the file.
///
/// - `.hex` (`NAME HEXBYTES` per line, `#` comments; the AWS event-stream vectors): the bytes
///   of vector NAME, as `application/vnd.amazon.eventstream`.
/// - `.json`: the exact text of top-level member NAME (`kserve_v2_infer.json` wraps a
///   published request and response as `{"request": …, "response": …}`).
/// - `.http` (an HTTP exchange written out, prose as `#` lines): NAME `request` or `response`
///   is that message's body: from its first line starting with `{` up to the next `#` or
///   `HTTP/` line, trailing line breaks dropped. A response part is answered with the status
///   and `Content-Type` of its status line and headers.
/// - `.yaml` (a published example in Fern's form, ``FernExample``; Cohere's): `stream` is the
///   response's events as an SSE body (`text/event-stream`), converted from the file;
///   `request` the request body as compact JSON.
enum FixtureParts {
    struct Part {
        var bytes: ByteBuffer
        var contentType: String
        var status: Int?
    }

    static func extract(_ file: ByteBuffer, name: String, part: String, allocator: ByteBufferAllocator) -> Part? {
        let bytes = Array(file.readableBytesView)
        if name.hasSuffix(".hex") {
            for line in bytes.split(separator: UInt8(ascii: "\n")) where line.first != UInt8(ascii: "#") {
                let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 1)
                guard fields.count == 2, fields[0].elementsEqual(part.utf8),
                    let decoded = Hex.decode(String(decoding: fields[1], as: UTF8.self).trimmed(of: " \r"))
                else { continue }
                return Part(bytes: allocator.buffer(bytes: decoded), contentType: "application/vnd.amazon.eventstream")
            }
            return nil
        }
        if name.hasSuffix(".json") {
            guard let document = try? JSONDocument(parsing: bytes) else { return nil }
            let member = document.root[part]
            guard member.exists else { return nil }
            return Part(bytes: allocator.buffer(bytes: member.rawBytes), contentType: "application/json")
        }
        if name.hasSuffix(".http") {
            return httpBody(bytes, part: part, allocator: allocator)
        }
        if name.hasSuffix(".yaml") {
            guard let example = try? FernExample(yaml: String(decoding: bytes, as: UTF8.self)) else { return nil }
            switch part {
            case "stream":
                return example.serverSentEvents.map { Part(bytes: allocator.buffer(bytes: $0), contentType: "text/event-stream") }
            case "request":
                return example.requestJSON.map { Part(bytes: allocator.buffer(bytes: $0), contentType: "application/json") }
            default:
                return nil
            }
        }
        return nil
    }

    private static func httpBody(_ bytes: [UInt8], part: String, allocator: ByteBufferAllocator) -> Part? {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let isResponse = part == "response"
        guard isResponse || part == "request" else { return nil }
        guard let startLine = lines.firstIndex(where: { line in
            let text = String(decoding: line, as: UTF8.self)
            return isResponse ? text.hasPrefix("HTTP/") : !text.hasPrefix("#") && text.contains(" HTTP/")
        }) else { return nil }
        var status: Int?
        if isResponse {
            let words = String(decoding: lines[startLine], as: UTF8.self).split(separator: " ")
            status = words.count > 1 ? Int(words[1]) : nil
        }
        var contentType = "application/json"
        var index = startLine + 1
        while index < lines.count, lines[index].first != UInt8(ascii: "{") {
            let header = String(decoding: lines[index], as: UTF8.self)
            if header.lowercased().hasPrefix("content-type:") {
                contentType = header.dropFirst("content-type:".count).trimmed(of: " \r")
            }
            index += 1
        }
        guard index < lines.count else { return nil }
        var end = index
        while end < lines.count, lines[end].first != UInt8(ascii: "#"),
            !String(decoding: lines[end], as: UTF8.self).hasPrefix("HTTP/")
        {
            end += 1
        }
        var body = Array(lines[index..<end].joined(separator: [UInt8(ascii: "\n")]))
        while let last = body.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { body.removeLast() }
        return Part(bytes: allocator.buffer(bytes: body), contentType: contentType, status: status)
    }
}

extension StringProtocol {
    /// Without leading and trailing characters from `set`.
    fileprivate func trimmed(of set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
