import Foundation
import Testing

@testable import ModelGateFakeUpstream

@Suite("Embeddings")
struct EmbeddingsTests {
    @Test func vectorsAreDeterministic() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, path: "/v1/embeddings",
                body: #"{"model":"text-embedding-3-small","input":["one two","three"],"dimensions":4}"#)
            #expect(response.status == 200)
            let object = try jsonObject(response.body)
            #expect(object["object"] as? String == "list")
            #expect(object["model"] as? String == "text-embedding-3-small")
            let data = try #require(object["data"] as? [[String: Any]])
            #expect(data.count == 2)
            for (i, item) in data.enumerated() {
                #expect(item["object"] as? String == "embedding")
                #expect(item["index"] as? Int == i)
                let vector = try #require(item["embedding"] as? [Double])
                #expect(vector == (0..<4).map { Double((i + 1) * ($0 + 1)) / 1000 })
            }
            let usage = try #require(object["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == 3)
            #expect(usage["total_tokens"] as? Int == 3)
        }
    }

    @Test func defaultsToEightDimensionsAndAcceptsTokenArrays() async throws {
        try await withFakeUpstream { port in
            let single = try jsonObject(try send(port: port, path: "/embeddings", body: #"{"model":"m","input":"hello"}"#).body)
            let vector = try #require((single["data"] as? [[String: Any]])?.first?["embedding"] as? [Double])
            #expect(vector.count == 8)
            #expect(vector.last == 0.008)

            let tokens = try jsonObject(try send(port: port, path: "/v1/embeddings", body: #"{"model":"m","input":[[1,2,3],[4]]}"#).body)
            #expect((tokens["data"] as? [[String: Any]])?.count == 2)
            #expect((tokens["usage"] as? [String: Any])?["prompt_tokens"] as? Int == 4)

            let flat = try jsonObject(try send(port: port, path: "/v1/embeddings", body: #"{"model":"m","input":[5,6,7]}"#).body)
            #expect((flat["data"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func base64EncodingIsLittleEndianFloat32() async throws {
        try await withFakeUpstream { port in
            let response = try send(
                port: port, path: "/v1/embeddings",
                body: #"{"model":"m","input":["a","b"],"dimensions":3,"encoding_format":"base64"}"#)
            let data = try #require(try jsonObject(response.body)["data"] as? [[String: Any]])
            let encoded = try #require(data[1]["embedding"] as? String)
            let bytes = try #require(Data(base64Encoded: encoded))
            #expect(bytes.count == 12)
            let floats = stride(from: 0, to: 12, by: 4).map { offset in
                Float(bitPattern: bytes[offset..<(offset + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
            }
            #expect(floats == [Float(0.002), Float(0.004), Float(0.006)])
        }
    }

    @Test func missingInputIsA400() async throws {
        try await withFakeUpstream { port in
            let response = try send(port: port, path: "/v1/embeddings", body: #"{"model":"m"}"#)
            #expect(response.status == 400)
            let error = try #require(try jsonObject(response.body)["error"] as? [String: Any])
            #expect(error["param"] as? String == "input")
        }
    }
}
