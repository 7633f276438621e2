import Foundation

/// One file of docs/protocol-vectors: its `# key: value` headers and its bytes.
package struct ProtocolVector {
    package var name: String
    package var headers: [String: String]
    package var bytes: [UInt8]

    package static func load(_ name: String) throws -> ProtocolVector {
        let url = TestPaths.protocolVectors.appendingPathComponent(name + ".hex")
        let text = try String(contentsOf: url, encoding: .utf8)
        var headers: [String: String] = [:]
        var hex = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#") {
                let body = line.dropFirst().trimmingCharacters(in: .whitespaces)
                if let colon = body.firstIndex(of: ":") {
                    headers[String(body[..<colon])] = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            } else {
                hex += line.filter { !$0.isWhitespace }
            }
        }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { throw TestSupportError("bad hex in \(name)") }
            bytes.append(byte)
            index = next
        }
        return ProtocolVector(name: name, headers: headers, bytes: bytes)
    }

    /// Names of every vector whose `expect` header is set (the malformed-input cases).
    package static func malformedNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: TestPaths.protocolVectors.path)
            .filter { $0.hasSuffix(".hex") }.map { String($0.dropLast(4)) }.sorted()
            .filter { try load($0).headers["expect"] != nil }
    }
}
