import ModelGateCrypto

/// Builds `application/vnd.amazon.eventstream` messages for tests, with string headers only,
/// following the framing as AWS documents it (independently of the decoder under test).
enum EventStreamFrames {
    static func message(headers: [(String, String)], payload: [UInt8]) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for (name, value) in headers {
            headerBytes.append(UInt8(name.utf8.count))
            headerBytes.append(contentsOf: name.utf8)
            headerBytes.append(7)
            headerBytes.append(contentsOf: bigEndian(UInt16(value.utf8.count)))
            headerBytes.append(contentsOf: value.utf8)
        }
        let total = UInt32(16 + headerBytes.count + payload.count)
        var bytes = bigEndian(total) + bigEndian(UInt32(headerBytes.count))
        bytes += bigEndian(CRC32.checksum(bytes))
        bytes += headerBytes + payload
        bytes += bigEndian(CRC32.checksum(bytes))
        return bytes
    }

    /// A Bedrock event with a JSON payload.
    static func event(_ type: String, _ json: String) -> [UInt8] {
        message(
            headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")],
            payload: Array(json.utf8))
    }

    static func exception(_ type: String, _ json: String) -> [UInt8] {
        message(
            headers: [(":exception-type", type), (":content-type", "application/json"), (":message-type", "exception")],
            payload: Array(json.utf8))
    }

    private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<T.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
}

/// The vectors of `aws_eventstream_vectors.hex` (botocore's framing test vectors), by name.
enum EventStreamVectors {
    static func all() throws -> [(name: String, bytes: [UInt8])] {
        let text = String(decoding: try Fixtures.bytes("aws_eventstream_vectors.hex"), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#") else { return nil }
            let fields = line.split(separator: " ")
            guard fields.count == 2, let bytes = Hex.decode(fields[1]) else { return nil }
            return (String(fields[0]), bytes)
        }
    }

    static func named(_ name: String) throws -> [UInt8] {
        guard let vector = try all().first(where: { $0.name == name }) else { throw Fixtures.FixtureMissing(path: name) }
        return vector.bytes
    }
}
