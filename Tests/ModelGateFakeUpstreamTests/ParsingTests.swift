import NIOCore
import Testing

@testable import ModelGateFakeUpstream

@Suite("Scenario and body parsing")
struct ParsingTests {
    @Test func plainModelNamesMeanTheDefaults() throws {
        #expect(try Scenario.parse("gpt-4o").get() == Scenario())
        #expect(try Scenario.parse("").get() == Scenario())
        #expect(throws: Scenario.ParseError.self) { try Scenario.parse("gpt-4o", allowingModelName: false).get() }
    }

    @Test func itemsAndFlags() throws {
        let scenario = try Scenario.parse(" tokens=3 ; pace_ms=10;first_ms=5;usage=0;stall_headers;no_done;error_code=null ").get()
        #expect(scenario.tokens == 3)
        #expect(scenario.paceMilliseconds == 10)
        #expect(scenario.firstMilliseconds == 5)
        #expect(!scenario.usage)
        #expect(scenario.stallHeaders)
        #expect(scenario.noDone)
        #expect(scenario.errorCode == .null)
        #expect(try Scenario.parse("no_done").get().noDone)
        #expect(try Scenario.parse("error_message=a%3Bb%20c").get().errorMessage == "a;b c")
    }

    @Test(arguments: [
        "tokenz=3", "tokens;no_done", "tokens=-1", "tokens=x", "status=99", "no_done=1", "gpt-4o;tokens=2", "chunk=4",
        "replay=a.sse;tokens=3", "retry_after=1%0D%0Ax:y", "error_message=%zz",
    ])
    func badScenariosAreRejected(text: String) {
        #expect(throws: Scenario.ParseError.self) { try Scenario.parse(text).get() }
    }

    @Test func unknownKeyMessageNamesTheKey() {
        guard case .failure(let error) = Scenario.parse("tokens=1;frobnicate=2") else {
            Issue.record("accepted")
            return
        }
        #expect(error.message.contains("\"frobnicate\""))
        #expect(error.code == "unknown_scenario_key")
    }

    private func scan(_ text: String) -> Result<RequestFields, JSONScanError> {
        RequestScanner.scan(ByteBuffer(string: text))
    }

    @Test func scannerExtractsTheFieldsItNeeds() throws {
        let fields = try self.scan(
            #"""
            {"messages":[{"role":"user","content":"model \"stream\": true"},
                         {"role":"user","content":[{"type":"text","text":"two\nwords"},{"type":"image_url","image_url":{"url":"x"}}]}],
             "model":"tokens=\u0033","stream":true,"stream_options":{"include_usage":true,"other":[1,{"a":"]"}]},
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}], "temperature":0.5e1}
            """#
        ).get()
        #expect(fields.model == "tokens=3")
        #expect(fields.stream)
        #expect(fields.includeUsage)
        #expect(fields.promptWords == 5)
    }

    @Test func scannerReadsEmbeddingInputs() throws {
        #expect(try self.scan(#"{"input":"a b c"}"#).get().inputs == [3])
        #expect(try self.scan(#"{"input":["a","b c"],"dimensions":16}"#).get().inputs == [1, 2])
        #expect(try self.scan(#"{"input":["a","b c"],"dimensions":16}"#).get().dimensions == 16)
        #expect(try self.scan(#"{"input":[[1,2],[3]]}"#).get().inputs == [2, 1])
        #expect(try self.scan(#"{"input":[1,2,3],"encoding_format":"base64"}"#).get().inputs == [3])
        #expect(try self.scan(#"{"input":[1,2,3],"encoding_format":"base64"}"#).get().base64Encoding)
        #expect(try self.scan("").get() == RequestFields())
    }

    @Test(arguments: [#"{"model":"#, #"{"model":"x""#, "[1,2]", #"{"a":1}x"#, #"{"a":tru}"#, #"{"a" 1}"#, #"{"a":"# + String(repeating: "[", count: 100_000)])
    func scannerRejectsBrokenJSON(text: String) {
        #expect(throws: JSONScanError.self) { try self.scan(text).get() }
    }

    @Test func numberAndBase64Writers() {
        var buffer = ByteBuffer()
        for k in [1, 10, 100, 1000, 1500, 12_345, 7] {
            buffer.writeThousandths(k)
            buffer.writeStaticString(" ")
        }
        #expect(String(buffer: buffer) == "0.001 0.01 0.1 1.0 1.5 12.345 0.007 ")

        var hex = ByteBuffer()
        hex.writeHex(0x1a2b)
        hex.writeDecimal(-42)
        #expect(String(buffer: hex) == "1a2b-42")

        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            var encoded = ByteBuffer()
            Base64.encode(Array(text.utf8), into: &encoded)
            let expected = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
            #expect(String(buffer: encoded) == expected[text])
        }

        var escaped = ByteBuffer()
        escaped.writeJSONString("a\"b\\c\nd\u{01}é")
        #expect(String(buffer: escaped) == #""a\"b\\c\nd\u0001é""#)
    }
}
