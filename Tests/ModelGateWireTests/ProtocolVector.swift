import Foundation
import NIOCore

/// One file of docs/protocol-vectors: its `# key: value` headers and its bytes.
struct ProtocolVector {
    var name: String
    var headers: [String: String]
    var bytes: [UInt8]

    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/protocol-vectors")

    static func load(_ name: String) throws -> ProtocolVector {
        let text = try String(contentsOf: directory.appendingPathComponent(name + ".hex"), encoding: .utf8)
        var headers: [String: String] = [:]
        var hex = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#") {
                let body = line.dropFirst().trimmingCharacters(in: .whitespaces)
                if let colon = body.firstIndex(of: ":") {
                    headers[String(body[..<colon])] = body[body.index(after: colon)...]
                        .trimmingCharacters(in: .whitespaces)
                }
            } else {
                hex += line.filter { !$0.isWhitespace }
            }
        }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return ProtocolVector(name: name, headers: headers, bytes: bytes)
    }

    static func all() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".hex") }.map { String($0.dropLast(4)) }.sorted()
    }

    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }
}
