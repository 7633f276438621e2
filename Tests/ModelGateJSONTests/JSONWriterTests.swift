import ModelGateJSON
import Testing

@Suite("JSONWriter")
struct JSONWriterTests {
    private func text(_ build: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        build(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test func writesNestedStructuresWithCommas() {
        let json = text { writer in
            writer.object { object in
                object.member("a", int: 1)
                object.key("list")
                object.array { list in
                    list.int(-2)
                    list.string("x")
                    list.object { _ in }
                    list.array { _ in }
                    list.null()
                    list.bool(true)
                }
                object.member("b", bool: false)
            }
        }
        #expect(json == #"{"a":1,"list":[-2,"x",{},[],null,true],"b":false}"#)
    }

    @Test func escapesStrings() {
        let json = text { $0.string("q\"b\\s/\n\r\t\u{08}\u{0C}\u{0}\u{1F}\u{7F}é😀\u{2028}\u{2029}") }
        #expect(json == "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0000\\u001f\u{7F}é😀\u{2028}\u{2029}\"")
        #expect(text { $0.member("k\"ey", string: "") } == #""k\"ey":"""#)
    }

    @Test func writesIntegers() {
        #expect(text { $0.int(Int64.min) } == "-9223372036854775808")
        #expect(text { $0.int(Int64.max) } == "9223372036854775807")
        #expect(text { $0.uint(UInt64.max) } == "18446744073709551615")
        #expect(text { $0.int(0) } == "0")
        #expect(text { $0.int(-9) } == "-9")
        #expect(text { $0.int(10) } == "10")
    }

    @Test func writesShortestFloats() {
        #expect(text { $0.float(0.7) } == "0.7")
        #expect(text { $0.float(0) } == "0.0")
        #expect(text { $0.float(1) } == "1.0")
        #expect(text { $0.float(-0.0) } == "-0.0")
        #expect(text { $0.float(1e-7) } == "1e-07")
        #expect(text { $0.double(0.1) } == "0.1")
        #expect(text { $0.double(1e300) } == "1e+300")
        #expect(text { $0.double(.nan) } == "null")
        #expect(text { $0.float(.infinity) } == "null")
    }

    @Test func floatTextReadsBackAsTheSameValue() throws {
        let values: [Float] = [0.7, 0.1, 1.0 / 3.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 123_456.79, -2.5e-20]
        for value in values {
            let json = text { $0.float(value) }
            #expect(try JSONDocument(parsing: json).root.float == value, "\(json)")
        }
        let doubles: [Double] = [0.1, 1.0 / 3.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 2.2250738585072014e-308]
        for value in doubles {
            let json = text { $0.double(value) }
            #expect(try JSONDocument(parsing: json).root.double == value, "\(json)")
        }
    }

    @Test func splicesValidatedFragments() throws {
        let schema = try JSONFragment(validating: "  {\"type\": \"object\"}\n")
        #expect(schema.kind == .object)
        #expect(schema.text == #"{"type": "object"}"#)
        let json = text { writer in
            writer.object { $0.member("parameters", fragment: schema) }
        }
        #expect(json == #"{"parameters":{"type": "object"}}"#)
    }

    @Test func fragmentsRejectInjection() {
        #expect(throws: JSONParseError.self) {
            _ = try JSONFragment(validating: #"{"a":1}, "model": "other""#)
        }
        #expect(throws: JSONParseError.self) {
            _ = try JSONFragment(validating: "")
        }
    }

    @Test func fragmentFromAParsedValue() throws {
        let root = try JSONDocument(parsing: #"{"s":{"x":[1, 2]}}"#).root
        #expect(JSONFragment(root["s"]).text == #"{"x":[1, 2]}"#)
        #expect(JSONFragment(root["missing"]).text == "null")
    }

    @Test func roundTripsThroughParserAndWriter() throws {
        let original = #"{"s":"a\"\\\n\u0001é😀","n":[0,-1,1.5,1e+300,-0.0],"t":true,"f":false,"z":null,"o":{"":[]}}"#
        let root = try JSONDocument(parsing: original).root
        var writer = JSONWriter()
        rewrite(root, into: &writer)
        let rewritten = String(decoding: writer.bytes, as: UTF8.self)
        #expect(rewritten == #"{"s":"a\"\\\n\u0001é😀","n":[0,-1,1.5,1e+300,-0.0],"t":true,"f":false,"z":null,"o":{"":[]}}"#)
        let again = try JSONDocument(parsing: rewritten).root
        #expect(again["s"].string == root["s"].string)
        #expect(again["n"][3].double == 1e300)
    }

    private func rewrite(_ value: JSONValue, into writer: inout JSONWriter) {
        switch value.kind {
        case .object?:
            writer.beginObject()
            for (key, member) in value.members {
                writer.key(key)
                rewrite(member, into: &writer)
            }
            writer.endObject()
        case .array?:
            writer.beginArray()
            for element in value.elements { rewrite(element, into: &writer) }
            writer.endArray()
        case .string?: writer.string(value.string ?? "")
        case .number?:
            if let int = value.int64 { writer.int(int) } else { writer.double(value.double ?? 0) }
        case .bool?: writer.bool(value.bool ?? false)
        case .null?, nil: writer.null()
        }
    }
}
