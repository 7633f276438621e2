import ModelGateJSON
import Testing

@Suite("JSON string unescaping")
struct JSONStringTests {
    private func decode(_ jsonString: String) throws -> String? {
        try JSONDocument(parsing: jsonString).root.string
    }

    @Test func decodesEveryShortEscape() throws {
        #expect(try decode(#""\"\\\/\b\f\n\r\t""#) == "\"\\/\u{08}\u{0C}\n\r\t")
    }

    @Test func decodesUnicodeEscapes() throws {
        #expect(try decode(#""\u0041\u00e9\u4E2D\u0000""#) == "Aé中\u{0}")
        #expect(try decode(#""caf\u00E9 ok""#) == "café ok")
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try decode(#""\ud83d\ude00""#) == "😀")
        #expect(try decode(#""x\uD83D\uDE00y""#) == "x😀y")
        #expect(try decode(#""\uDBFF\uDFFF""#) == "\u{10FFFF}")
    }

    @Test func replacesLoneSurrogatesWithReplacementCharacter() throws {
        #expect(try decode(#""\ud83d""#) == "\u{FFFD}")
        #expect(try decode(#""\ud83dx""#) == "\u{FFFD}x")
        #expect(try decode(#""\ude00\ud83d""#) == "\u{FFFD}\u{FFFD}")
        #expect(try decode(#""\ud83d\u0041""#) == "\u{FFFD}A")
        #expect(try decode(#""\ud83d\n""#) == "\u{FFFD}\n")
    }

    @Test func keepsRawUTF8() throws {
        #expect(try decode("\"héllo 中文 😀 \u{2028}\u{2029}\"") == "héllo 中文 😀 \u{2028}\u{2029}")
    }

    @Test func matchesEscapedKeys() throws {
        let root = try JSONDocument(parsing: #"{"cont\u0065nt":"v","\ud83d\ude00":1}"#).root
        #expect(root["content"].string == "v")
        #expect(root["😀"].int == 1)
        #expect(root["content"].isString("v"))
        let escaped = try JSONDocument(parsing: #""a\u0062c""#).root
        #expect(escaped.isString("abc"))
        #expect(!escaped.isString("abd"))
    }

    @Test func emptyStringAndEmptyKey() throws {
        let root = try JSONDocument(parsing: #"{"":""}"#).root
        #expect(root[""].string == "")
        #expect(root[""].isString(""))
    }
}
