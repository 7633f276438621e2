import ModelGateCrypto
import ModelGateProviders
import Testing

/// Decodes `pieces` fed one after the other; the messages, or the error that stopped it.
private func decode(_ pieces: [[UInt8]], maxMessageBytes: Int = AWSEventStreamDecoder.defaultMaxMessageBytes)
    -> (messages: [AWSEventStreamMessage], error: AWSEventStreamError?, pending: Int)
{
    var decoder = AWSEventStreamDecoder(maxMessageBytes: maxMessageBytes)
    var messages: [AWSEventStreamMessage] = []
    do {
        for piece in pieces {
            decoder.append(piece)
            while let message = try decoder.next() { messages.append(message) }
        }
    } catch {
        return (messages, error, decoder.bufferedByteCount)
    }
    return (messages, nil, decoder.bufferedByteCount)
}

private func string(_ text: String) -> AWSEventStreamHeaderValue { .string(text) }

@Suite("AWS event-stream framing (botocore vectors)")
struct AWSEventStreamTests {
    /// What botocore's tests expect each positive vector to decode to.
    static let expected: [String: AWSEventStreamMessage] = [
        "EMPTY_MESSAGE": AWSEventStreamMessage(headers: [], payload: []),
        "INT8_HEADER": AWSEventStreamMessage(headers: [AWSEventStreamHeader("byte", .byte(-1))], payload: []),
        "INT16_HEADER": AWSEventStreamMessage(headers: [AWSEventStreamHeader("short", .int16(-1))], payload: []),
        "INT32_HEADER": AWSEventStreamMessage(headers: [AWSEventStreamHeader("integer", .int32(-1))], payload: []),
        "INT64_HEADER": AWSEventStreamMessage(headers: [AWSEventStreamHeader("long", .int64(-1))], payload: []),
        "PAYLOAD_NO_HEADERS": AWSEventStreamMessage(headers: [], payload: Array("{'foo':'bar'}".utf8)),
        "PAYLOAD_ONE_STR_HEADER": AWSEventStreamMessage(
            headers: [AWSEventStreamHeader("content-type", string("application/json"))],
            payload: Array("{'foo':'bar'}".utf8)),
        "ALL_HEADERS_TYPES": AWSEventStreamMessage(
            headers: [
                AWSEventStreamHeader("0", .bool(true)),
                AWSEventStreamHeader("1", .bool(false)),
                AWSEventStreamHeader("2", .byte(2)),
                AWSEventStreamHeader("3", .int16(3)),
                AWSEventStreamHeader("4", .int32(4)),
                AWSEventStreamHeader("5", .int64(5)),
                AWSEventStreamHeader("6", .byteArray(Array("bytes".utf8))),
                AWSEventStreamHeader("7", string("utf8")),
                AWSEventStreamHeader("8", .timestamp(8)),
                AWSEventStreamHeader("9", .uuid(Array("0123456789abcdef".utf8))),
            ],
            payload: []),
        "ERROR_EVENT_MESSAGE": AWSEventStreamMessage(
            headers: [
                AWSEventStreamHeader(":message-type", string("error")),
                AWSEventStreamHeader(":error-code", string("code")),
                AWSEventStreamHeader(":error-message", string("message")),
            ],
            payload: []),
    ]

    /// Every vector in the fixture is either positive (listed above) or negative (below).
    @Test func theFixtureHoldsFifteenVectors() throws {
        let names = try EventStreamVectors.all().map(\.name)
        #expect(names.count == 15)
        #expect(Set(names) == Set(Self.expected.keys).union(Self.negative.map(\.name)))
    }

    @Test(arguments: expected.keys.sorted())
    func positiveVectorDecodes(name: String) throws {
        let bytes = try EventStreamVectors.named(name)
        // The fixture's own CRCs, recomputed here with our CRC-32.
        #expect(CRC32.checksum(bytes[0..<8]) == bigEndianUInt32(bytes, at: 8))
        #expect(CRC32.checksum(bytes[0..<(bytes.count - 4)]) == bigEndianUInt32(bytes, at: bytes.count - 4))
        let result = decode([bytes])
        #expect(result.error == nil)
        #expect(result.messages == [Self.expected[name]])
        #expect(result.pending == 0)
    }

    /// All positive vectors back to back form one stream; every split point (and one byte at a
    /// time) gives the same messages, and a message is never returned before its last byte.
    @Test func positiveVectorsAtEverySplit() throws {
        let names = Self.expected.keys.sorted()
        var stream: [UInt8] = []
        for name in names { stream += try EventStreamVectors.named(name) }
        let expected = names.compactMap { Self.expected[$0] }
        #expect(decode([stream]).messages == expected)
        #expect(decode(stream.map { [$0] }).messages == expected)
        for split in 0...stream.count {
            let result = decode([Array(stream[..<split]), Array(stream[split...])])
            #expect(result.messages == expected, "split at \(split)")
            #expect(result.error == nil)
        }
    }

    enum Rejection: Sendable {
        case preludeChecksum, messageChecksum, headersLength, duplicateHeader
    }

    static let negative: [(name: String, rejection: Rejection)] = [
        ("CORRUPTED_HEADER_LENGTH", .preludeChecksum),
        ("CORRUPTED_HEADERS", .messageChecksum),
        ("CORRUPTED_LENGTH", .preludeChecksum),
        ("CORRUPTED_PAYLOAD", .messageChecksum),
        ("DUPLICATE_HEADER", .duplicateHeader),
        ("INVALID_HEADERS_LENGTH", .headersLength),
    ]

    /// botocore's negative vectors: each is rejected with the right error at every split, and
    /// never yields a message. CRC and length problems are found from the 12-byte prelude alone.
    @Test(arguments: negative)
    func negativeVectorIsRejected(name: String, rejection: Rejection) throws {
        let bytes = try EventStreamVectors.named(name)
        for split in 0...bytes.count {
            let result = decode([Array(bytes[..<split]), Array(bytes[split...])])
            #expect(result.messages.isEmpty)
            switch (rejection, result.error) {
            case (.preludeChecksum, .preludeChecksumMismatch(let sent, let computed)?):
                #expect(sent == bigEndianUInt32(bytes, at: 8) && computed == CRC32.checksum(bytes[0..<8]))
            case (.messageChecksum, .messageChecksumMismatch?):
                break
            case (.headersLength, .invalidHeadersLength(let length)?):
                #expect(length == 4_278_190_338)
            case (.duplicateHeader, .duplicateHeader(let header)?):
                #expect(header == "test")
            default:
                Issue.record("\(name) split at \(split): \(String(describing: result.error))")
            }
        }
        // The prelude's problems show as soon as its 12 bytes are in.
        if rejection == .preludeChecksum || rejection == .headersLength {
            #expect(decode([Array(bytes[..<11])]).error == nil)
            #expect(decode([Array(bytes[..<12])]).error != nil)
        }
    }

    /// A valid prelude announcing a message over the limit is refused before anything more is
    /// buffered for it.
    @Test func oversizedMessageIsRefusedFromThePrelude() {
        for total in [UInt32(24 << 20) + 1, UInt32.max] {
            var prelude = bigEndian(total) + bigEndian(UInt32(0))
            prelude += bigEndian(CRC32.checksum(prelude))
            let result = decode([prelude])
            #expect(result.error == .messageTooLarge(total, limit: 24 << 20))
            #expect(result.pending == 12)
        }
        let small = EventStreamFrames.message(headers: [], payload: Array(repeating: 0x41, count: 100))
        #expect(decode([small], maxMessageBytes: 64).error == .messageTooLarge(116, limit: 64))
        #expect(decode([small], maxMessageBytes: 116).messages.count == 1)
    }

    @Test func lengthsThatCannotHoldAMessageAreRejected() {
        var tooShort = bigEndian(UInt32(15)) + bigEndian(UInt32(0))
        tooShort += bigEndian(CRC32.checksum(tooShort))
        #expect(decode([tooShort]).error == .invalidTotalLength(15))
        var headersPastEnd = bigEndian(UInt32(20)) + bigEndian(UInt32(5))
        headersPastEnd += bigEndian(CRC32.checksum(headersPastEnd))
        #expect(decode([headersPastEnd]).error == .invalidHeadersLength(5))
    }

    @Test func malformedHeadersAreRejected() {
        // A header value type that does not exist (10).
        let unknownType = frame(headers: [1, UInt8(ascii: "x"), 10])
        #expect(decode([unknownType]).error == .invalidHeader("unknown value type 10 for \"x\""))
        // A string whose length runs past the headers.
        let truncated = frame(headers: [1, UInt8(ascii: "x"), 7, 0, 9, UInt8(ascii: "a")])
        #expect(decode([truncated]).error == .invalidHeader("value runs past the headers"))
    }

    /// Consumed bytes are dropped as the stream goes on: memory follows the largest message,
    /// not the stream's length.
    @Test func longStreamsDoNotAccumulate() throws {
        let message = EventStreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"x"}}"#)
        var decoder = AWSEventStreamDecoder()
        for _ in 0..<10_000 {
            decoder.append(message[..<10])
            decoder.append(message[10...])
            #expect(try decoder.next() != nil)
        }
        #expect(decoder.bufferedByteCount == 0)
    }

    // MARK: Helpers

    private func frame(headers: [UInt8]) -> [UInt8] {
        var bytes = bigEndian(UInt32(16 + headers.count)) + bigEndian(UInt32(headers.count))
        bytes += bigEndian(CRC32.checksum(bytes))
        bytes += headers
        bytes += bigEndian(CRC32.checksum(bytes))
        return bytes
    }
}

private func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}

private func bigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
        | UInt32(bytes[offset + 3])
}
