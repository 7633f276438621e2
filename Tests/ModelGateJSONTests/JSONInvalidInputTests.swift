import ModelGateJSON
import Testing

@Suite("JSON rejects invalid input")
struct JSONInvalidInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let text: [UInt8]
        let reason: JSONParseError.Reason
        let offset: Int
        var testDescription: String { String(decoding: text, as: UTF8.self) }

        init(_ text: String, _ reason: JSONParseError.Reason, at offset: Int) {
            self.init(bytes: Array(text.utf8), reason, at: offset)
        }

        init(bytes: [UInt8], _ reason: JSONParseError.Reason, at offset: Int) {
            self.text = bytes
            self.reason = reason
            self.offset = offset
        }
    }

    static let cases: [Case] = [
        Case("", .unexpectedEnd, at: 0),
        Case("   ", .unexpectedEnd, at: 3),
        Case("{", .unexpectedEnd, at: 1),
        Case(#"{"a""#, .unexpectedEnd, at: 4),
        Case(#"{"a":"#, .unexpectedEnd, at: 5),
        Case(#"{"a":1"#, .unexpectedEnd, at: 6),
        Case(#"{"a":1,}"#, .unexpectedByte(UInt8(ascii: "}")), at: 7),
        Case(#"{a:1}"#, .unexpectedByte(UInt8(ascii: "a")), at: 1),
        Case(#"{"a" 1}"#, .unexpectedByte(UInt8(ascii: "1")), at: 5),
        Case("[1,]", .unexpectedByte(UInt8(ascii: "]")), at: 3),
        Case("[1 2]", .unexpectedByte(UInt8(ascii: "2")), at: 3),
        Case("[", .unexpectedEnd, at: 1),
        Case("tru", .unexpectedEnd, at: 3),
        Case("trux", .unexpectedByte(UInt8(ascii: "x")), at: 3),
        Case("nul", .unexpectedEnd, at: 3),
        Case("True", .unexpectedByte(UInt8(ascii: "T")), at: 0),
        Case("{} {}", .trailingData, at: 3),
        Case("1 2", .trailingData, at: 2),
        Case("01", .trailingData, at: 1),
        Case("-", .unexpectedEnd, at: 1),
        Case("-a", .invalidNumber, at: 0),
        Case("1.", .invalidNumber, at: 0),
        Case("1.e5", .invalidNumber, at: 0),
        Case("1e", .invalidNumber, at: 0),
        Case("1e+", .invalidNumber, at: 0),
        Case(".5", .unexpectedByte(UInt8(ascii: ".")), at: 0),
        Case("+1", .unexpectedByte(UInt8(ascii: "+")), at: 0),
        Case("NaN", .unexpectedByte(UInt8(ascii: "N")), at: 0),
        Case(#""abc"#, .unexpectedEnd, at: 4),
        Case(#""a\x""#, .invalidEscape, at: 2),
        Case(#""a\u12G4""#, .invalidUnicodeEscape, at: 2),
        Case(#""a\u12""#, .invalidUnicodeEscape, at: 2),
        Case("\"a\tb\"", .controlCharacterInString, at: 2),
        Case("\"a\nb\"", .controlCharacterInString, at: 2),
        Case(bytes: [0x22, 0xFF, 0x22], .invalidUTF8, at: 1),
        Case(bytes: [0x22, 0xC0, 0xAF, 0x22], .invalidUTF8, at: 1),  // overlong '/'
        Case(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22], .invalidUTF8, at: 1),  // encoded surrogate
        Case(bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], .invalidUTF8, at: 1),  // above U+10FFFF
        Case(bytes: [0x22, 0xE4, 0xB8, 0x22], .invalidUTF8, at: 1),  // truncated sequence
        Case(bytes: [0x22, 0xE4, 0xB8], .unexpectedEnd, at: 3),
        Case(bytes: [0xEF, 0xBB, 0xBF, 0x31], .unexpectedByte(0xEF), at: 0),  // no BOM in JSON text
    ]

    @Test(arguments: cases)
    func rejects(_ testCase: Case) {
        #expect(throws: JSONParseError(testCase.reason, at: testCase.offset)) {
            _ = try JSONDocument(parsing: testCase.text)
        }
    }

    @Test func limitsNestingDepth() throws {
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(try JSONDocument(parsing: ok).root.kind == .array)
        let deep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(throws: JSONParseError(.tooDeep(limit: 128), at: 128)) {
            _ = try JSONDocument(parsing: deep)
        }
        let objects = String(repeating: #"{"a":"#, count: 10) + "1" + String(repeating: "}", count: 10)
        #expect(throws: JSONParseError(.tooDeep(limit: 4), at: 20)) {
            _ = try JSONDocument(parsing: objects, maxDepth: 4)
        }
    }

    @Test func hugeUnclosedNestingFailsFastWithoutRecursingPastTheLimit() {
        let hostile = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(throws: JSONParseError(.tooDeep(limit: 128), at: 128)) {
            _ = try JSONDocument(parsing: hostile)
        }
    }

    @Test func longFlatInputsParseInOnePass() throws {
        // Many keys and a long array; quadratic behaviour would make this take minutes.
        var text = "{"
        for i in 0..<20_000 {
            text += "\"k\(i)\":[\(i),\"v\"],"
        }
        text += "\"last\":true}"
        let root = try JSONDocument(parsing: text).root
        #expect(root.count == 20_001)
        #expect(root["last"].bool == true)
        #expect(root["k19999"][0].int == 19_999)
    }

    @Test func errorDescriptionNamesTheOffset() {
        #expect(JSONParseError(.trailingData, at: 7).description == "data after the JSON value at byte 7")
    }
}
