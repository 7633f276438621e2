import ModelGateJSON
import Testing

@Suite("JSONDocument parsing and navigation")
struct JSONDocumentTests {
    static let chunk = #"{"id":"chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL","object":"chat.completion.chunk","created":1727346168,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"content":"I'm"},"logprobs":null,"finish_reason":null}]}"#

    @Test func navigatesAnOpenAIChunk() throws {
        let document = try JSONDocument(parsing: Self.chunk)
        let root = document.root
        #expect(root.kind == .object)
        #expect(root.count == 6)
        #expect(root["id"].string == "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL")
        #expect(root["created"].int64 == 1_727_346_168)
        #expect(root["choices"].count == 1)
        #expect(root["choices"][0]["delta"]["content"].string == "I'm")
        #expect(root["choices"][0]["finish_reason"].isNull)
        #expect(root["choices"][0]["finish_reason"].exists)
        #expect(!root["choices"][0]["finish_reason"].isPresent)
        #expect(root["choices"][0]["logprobs"].string == nil)
        #expect(root["choices"][0]["index"].int == 0)
        #expect(root["choices"][0]["delta"]["content"].isString("I'm"))
        #expect(!root["choices"][0]["delta"]["content"].isString("I'"))
    }

    @Test func missingValuesChainWithoutFailing() throws {
        let root = try JSONDocument(parsing: #"{"a":[1,{"b":true}],"s":"x"}"#).root
        #expect(!root["nope"].exists)
        #expect(!root["nope"]["deeper"][3].exists)
        #expect(!root["a"][2].exists)
        #expect(!root["a"][-1].exists)
        #expect(!root["s"]["key"].exists)
        #expect(!root["s"][0].exists)
        #expect(!root[0].exists)
        #expect(root["a"][1]["b"].bool == true)
        #expect(root["a"][0].bool == nil)
        #expect(JSONValue.missing.kind == nil)
        #expect(JSONValue.missing.string == nil)
        #expect(JSONValue.missing.count == 0)
        #expect(JSONValue.missing.rawBytes.isEmpty)
    }

    @Test func skipsNestedSubtreesWhenLookingUpKeys() throws {
        let root = try JSONDocument(parsing: #"{"x":{"y":{"z":[1,[2,[3]],{"w":4}]}},"after":"found","z":0}"#).root
        #expect(root["after"].string == "found")
        #expect(root["z"].int == 0)
        #expect(root["x"]["y"]["z"][1][1][0].int == 3)
        #expect(root["x"]["y"]["z"][2]["w"].int == 4)
    }

    @Test func iteratesElementsAndMembers() throws {
        let root = try JSONDocument(parsing: #" { "list" : [ 1 , "two" , [ 3 ] , { } , null ] , "k\u0031" : false } "#).root
        let kinds = root["list"].elements.map(\.kind)
        #expect(kinds == [.number, .string, .array, .object, .null])
        let members = root.members.map(\.key)
        #expect(members == ["list", "k1"])
        #expect(root["k1"].bool == false)
        #expect(Array(root["list"][0].elements).isEmpty)
        #expect(Array(root["list"].members).isEmpty)
    }

    @Test func firstDuplicateKeyWins() throws {
        let root = try JSONDocument(parsing: #"{"a":1,"a":2}"#).root
        #expect(root["a"].int == 1)
        #expect(root.count == 2)
    }

    @Test func acceptsAnyTopLevelValue() throws {
        #expect(try JSONDocument(parsing: "  42 ").root.int == 42)
        #expect(try JSONDocument(parsing: "\"s\"").root.string == "s")
        #expect(try JSONDocument(parsing: "null").root.isNull)
        #expect(try JSONDocument(parsing: "true").root.bool == true)
        #expect(try JSONDocument(parsing: "[]").root.count == 0)
        #expect(try JSONDocument(parsing: "\t\r\n{}\n").root.kind == .object)
    }

    @Test func parsesFromARawBuffer() throws {
        let bytes = Array(#"{"k":"v"}"#.utf8)
        let document = try bytes.withUnsafeBytes { try JSONDocument(parsing: $0) }
        #expect(document.root["k"].string == "v")
    }

    @Test func rawBytesAreTheExactText() throws {
        let root = try JSONDocument(parsing: #"{"schema": {"type" : "object"}, "s":"a\nb", "n": -1.5e3}"#).root
        #expect(root["schema"].rawText == #"{"type" : "object"}"#)
        #expect(root["s"].rawText == #""a\nb""#)
        #expect(root["n"].rawText == "-1.5e3")
        #expect(root["n"].numberText == "-1.5e3")
        #expect(root["s"].numberText == nil)
    }
}
