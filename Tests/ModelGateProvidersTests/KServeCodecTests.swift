import ModelGateCore
import ModelGateJSON
import ModelGateProviders
import Testing

/// The `response` (or `request`) member of `kserve_v2_infer.json`, exactly as in the file.
func kserveFixtureMember(_ name: String) throws -> [UInt8] {
    let document = try JSONDocument(parsing: try Fixtures.bytes("kserve_v2_infer.json"))
    return document.root[name].rawBytes
}

/// The body of the request or response in `kserve_v2_infer_spec_example.http`: from the
/// first `{` line after the message's start line to the next `#` line or the end.
func kserveSpecExampleBody(response: Bool) throws -> String {
    let lines = String(decoding: try Fixtures.bytes("kserve_v2_infer_spec_example.http"), as: UTF8.self)
        .split(separator: "\n", omittingEmptySubsequences: false)
    guard let start = lines.firstIndex(where: { response ? $0.hasPrefix("HTTP/") : $0.hasPrefix("POST ") }),
        let open = lines[start...].firstIndex(where: { $0.hasPrefix("{") })
    else { throw Fixtures.FixtureMissing(path: "kserve_v2_infer_spec_example.http") }
    let end = lines[open...].firstIndex(where: { $0.hasPrefix("#") }) ?? lines.endIndex
    return lines[open..<end].joined(separator: "\n").trimmingSuffix(while: \.isNewline)
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var text = self
        while let last = text.last, predicate(last) { text.removeLast() }
        return text
    }
}

@Suite("KServe v2 codec")
struct KServeCodecTests {
    private func encode(_ request: PredictRequest) throws(GatewayError) -> String {
        String(decoding: try KServeCodec.inferBody(request, provider: "kserve"), as: UTF8.self)
    }

    // MARK: kserve_v2_infer.json (KServe + MLServer sklearn sample)

    /// The sample's request (nested data) is sent flattened, row-major, as the protocol allows.
    @Test func fixtureRequestTranslation() throws {
        let request = PredictRequest(
            model: "sklearn-irisv2",
            inputs: [
                Tensor(
                    name: "input-0", dataType: .fp32, shape: [2, 4],
                    values: .fp32s([6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]))
            ])
        let body = try encode(request)
        #expect(
            body == #"{"inputs":[{"name":"input-0","shape":[2,4],"datatype":"FP32","data":[6.8,2.8,4.8,1.4,6.0,3.4,4.5,1.6]}]}"#)
        // Same tensor as the published request, element for element.
        let published = try JSONDocument(parsing: try kserveFixtureMember("request")).root["inputs"][0]
        let sent = try JSONDocument(parsing: body).root["inputs"][0]
        #expect(sent["name"].string == published["name"].string)
        #expect(sent["datatype"].string == published["datatype"].string)
        #expect(sent["shape"].elements.map(\.int) == published["shape"].elements.map(\.int))
        #expect(sent["data"].elements.map(\.float) == published["data"].elements.flatMap { $0.elements.map(\.float) })
    }

    /// MLServer's answer: `"parameters": null`, FP32 data written as integers.
    @Test func fixtureResponse() throws {
        let response = try KServeCodec.predictResponse(
            try kserveFixtureMember("response"), model: "sklearn-irisv2", provider: "kserve")
        #expect(
            response
                == PredictResponse(
                    model: "iris-classifier", version: "v1.0.0", id: "823248cc-d770-4a51-9606-16803395569c",
                    outputs: [Tensor(name: "predict", dataType: .fp32, shape: [2], values: .fp32s([1, 2]))],
                    provider: "kserve"))
    }

    // MARK: kserve_v2_infer_spec_example.http (the specification's example, with defects)

    /// The published response is not JSON (a comma is missing after `"id" : "42"`): refused as
    /// UPSTREAM_MALFORMED, not guessed at.
    @Test func specExampleResponseIsMalformed() throws {
        let body = try kserveSpecExampleBody(response: true)
        #expect(body.hasPrefix("{\n  \"id\" : \"42\"\n  \"outputs\""))
        let error = thrownGatewayError {
            _ = try KServeCodec.predictResponse(Array(body.utf8), model: "mymodel", provider: "kserve")
        }
        #expect(error?.code == .internal && error?.detail.kind == .upstreamMalformed)
    }

    /// With the comma restored it decodes; it has no `model_name`, so the requested model is
    /// reported.
    @Test func specExampleResponseCorrected() throws {
        let body = try kserveSpecExampleBody(response: true).replacingFirst(#""id" : "42""#, with: #""id" : "42","#)
        let response = try KServeCodec.predictResponse(Array(body.utf8), model: "mymodel", provider: "kserve")
        #expect(
            response
                == PredictResponse(
                    model: "mymodel", id: "42",
                    outputs: [
                        Tensor(name: "output0", dataType: .fp32, shape: [3, 2], values: .fp32s([1.0, 1.1, 2.0, 2.1, 3.0, 3.1]))
                    ],
                    provider: "kserve"))
    }

    /// The published request declares input1 with shape [3] but one BOOL element: the gateway
    /// refuses to send it. With shape [1] it is sent as the spec writes it.
    @Test func specExampleRequest() throws {
        let published = try JSONDocument(parsing: try kserveSpecExampleBody(response: false)).root
        #expect(published["inputs"][1]["shape"][0].int == 3 && published["inputs"][1]["data"].count == 1)
        var request = PredictRequest(
            model: "mymodel",
            inputs: [
                Tensor(name: "input0", dataType: .uint32, shape: [2, 2], values: .uints([1, 2, 3, 4])),
                Tensor(name: "input1", dataType: .bool, shape: [3], values: .bools([true])),
            ],
            outputs: ["output0"], id: "42")
        let error = thrownGatewayError { _ = try encode(request) }
        #expect(error?.code == .invalidArgument && error?.detail.kind == .invalidRequest)
        #expect(error?.message == "input tensor \"input1\" has 1 elements but its shape [3] needs 3")

        request.inputs[1].shape = [1]
        let body = try encode(request)
        #expect(
            body
                == #"{"id":"42","inputs":[{"name":"input0","shape":[2,2],"datatype":"UINT32","data":[1,2,3,4]},{"name":"input1","shape":[1],"datatype":"BOOL","data":[true]}],"outputs":[{"name":"output0"}]}"#
        )
        let sent = try JSONDocument(parsing: body).root
        #expect(sent["inputs"][0].rawText.filter { !$0.isWhitespace } == published["inputs"][0].rawText.filter { !$0.isWhitespace })
        #expect(sent["outputs"].rawText == published["outputs"].rawText.filter { !$0.isWhitespace })
    }

    // MARK: Datatypes

    /// Each datatype's JSON representation, from its unified values and from raw little-endian
    /// bytes; parameters are sent as strings, sorted.
    @Test func everyDatatypeIsWrittenAsTheProtocolWants() throws {
        let request = PredictRequest(
            model: "m",
            inputs: [
                Tensor(name: "b", dataType: .bool, shape: [2], values: .bools([true, false])),
                Tensor(name: "i8", dataType: .int8, shape: [2], values: .ints([-128, 127])),
                Tensor(name: "i16", dataType: .int16, shape: [1], values: .ints([-32768])),
                Tensor(name: "i32", dataType: .int32, shape: [1], values: .ints([Int32.min])),
                Tensor(name: "i64", dataType: .int64, shape: [1], values: .int64s([Int64.min])),
                Tensor(name: "u8", dataType: .uint8, shape: [1], values: .uints([255])),
                Tensor(name: "u16", dataType: .uint16, shape: [1], values: .uints([65535])),
                Tensor(name: "u32", dataType: .uint32, shape: [1], values: .uints([UInt32.max])),
                Tensor(name: "u64", dataType: .uint64, shape: [1], values: .uint64s([UInt64.max])),
                Tensor(name: "f32", dataType: .fp32, shape: [2], values: .fp32s([0.1, -2.5])),
                Tensor(name: "f64", dataType: .fp64, shape: [1], values: .fp64s([0.1])),
                Tensor(name: "s", dataType: .bytes, shape: [2], values: .bytes([Array("héllo".utf8), []])),
                Tensor(name: "raw16", dataType: .int16, shape: [2], values: .raw([0xFF, 0xFF, 0x02, 0x01])),
                Tensor(name: "rawf32", dataType: .fp32, shape: [1], values: .raw([0x00, 0x00, 0xC0, 0x3F])),
                Tensor(name: "rawbool", dataType: .bool, shape: [2], values: .raw([0, 7])),
                Tensor(name: "scalar", dataType: .int32, shape: [], values: .ints([7])),
            ],
            parameters: ["z": "1", "a": "x"])
        #expect(
            try encode(request)
                == #"{"parameters":{"a":"x","z":"1"},"inputs":["#
                + #"{"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]},"#
                + #"{"name":"i8","shape":[2],"datatype":"INT8","data":[-128,127]},"#
                + #"{"name":"i16","shape":[1],"datatype":"INT16","data":[-32768]},"#
                + #"{"name":"i32","shape":[1],"datatype":"INT32","data":[-2147483648]},"#
                + #"{"name":"i64","shape":[1],"datatype":"INT64","data":[-9223372036854775808]},"#
                + #"{"name":"u8","shape":[1],"datatype":"UINT8","data":[255]},"#
                + #"{"name":"u16","shape":[1],"datatype":"UINT16","data":[65535]},"#
                + #"{"name":"u32","shape":[1],"datatype":"UINT32","data":[4294967295]},"#
                + #"{"name":"u64","shape":[1],"datatype":"UINT64","data":[18446744073709551615]},"#
                + #"{"name":"f32","shape":[2],"datatype":"FP32","data":[0.1,-2.5]},"#
                + #"{"name":"f64","shape":[1],"datatype":"FP64","data":[0.1]},"#
                + #"{"name":"s","shape":[2],"datatype":"BYTES","data":["héllo",""]},"#
                + #"{"name":"raw16","shape":[2],"datatype":"INT16","data":[-1,258]},"#
                + #"{"name":"rawf32","shape":[1],"datatype":"FP32","data":[1.5]},"#
                + #"{"name":"rawbool","shape":[2],"datatype":"BOOL","data":[false,true]},"#
                + #"{"name":"scalar","shape":[],"datatype":"INT32","data":[7]}]}"#)
    }

    @Test(arguments: [
        (Tensor(name: "h", dataType: .fp16, shape: [1], values: .raw([0, 0x3C])), TensorFailure.unsupported),
        (Tensor(name: "h", dataType: .bf16, shape: [1], values: .raw([0x80, 0x3F])), .unsupported),
        (Tensor(name: "f", dataType: .fp32, shape: [1], values: .fp32s([.nan])), .unsupported),
        (Tensor(name: "d", dataType: .fp64, shape: [1], values: .fp64s([.infinity])), .unsupported),
        (Tensor(name: "s", dataType: .bytes, shape: [1], values: .bytes([[0xFF, 0xFE]])), .unsupported),
        (Tensor(name: "i", dataType: .int8, shape: [1], values: .ints([128])), .invalid),
        (Tensor(name: "u", dataType: .uint16, shape: [1], values: .uints([65536])), .invalid),
        (Tensor(name: "m", dataType: .fp32, shape: [1], values: .fp64s([1])), .invalid),
        (Tensor(name: "m", dataType: .int64, shape: [1], values: .ints([1])), .invalid),
        (Tensor(name: "r", dataType: .int32, shape: [1], values: .raw([1, 2, 3])), .invalid),
        (Tensor(name: "n", dataType: .int32, shape: [-1], values: .ints([1])), .invalid),
        (Tensor(name: "", dataType: .int32, shape: [1], values: .ints([1])), .invalid),
        (Tensor(name: "t", dataType: .unspecified, shape: [1], values: .ints([1])), .invalid),
        (Tensor(name: "c", dataType: .int32, shape: [2, 2], values: .ints([1, 2, 3])), .invalid),
    ])
    func badTensorsAreRefused(tensor: Tensor, failure: TensorFailure) {
        let error = thrownGatewayError { _ = try encode(PredictRequest(model: "m", inputs: [tensor])) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.detail.kind == (failure == .unsupported ? .unsupportedFeature : .invalidRequest), "\(tensor)")
    }

    enum TensorFailure: Sendable { case unsupported, invalid }

    @Test func responseDatatypesNestedAndFlat() throws {
        let body = """
            {"model_name":"m","model_version":"2","id":"r1","parameters":null,"outputs":[
             {"name":"b","datatype":"BOOL","shape":[2,1],"data":[[true],[false]]},
             {"name":"i","datatype":"INT8","shape":[2],"data":[-128,127]},
             {"name":"l","datatype":"INT64","shape":[1],"data":[-9223372036854775808]},
             {"name":"u","datatype":"UINT64","shape":[1],"data":[18446744073709551615]},
             {"name":"w","datatype":"UINT16","shape":[1],"data":[65535]},
             {"name":"d","datatype":"FP64","shape":[1],"data":[0.1]},
             {"name":"s","datatype":"BYTES","shape":[1,1],"data":["héllo"],"parameters":{"content_type":"str"}},
             {"name":"e","datatype":"FP32","shape":[0],"data":[]}]}
            """
        let response = try KServeCodec.predictResponse(Array(body.utf8), model: "fallback", provider: "kserve")
        #expect(response.model == "m" && response.version == "2" && response.id == "r1")
        #expect(
            response.outputs == [
                Tensor(name: "b", dataType: .bool, shape: [2, 1], values: .bools([true, false])),
                Tensor(name: "i", dataType: .int8, shape: [2], values: .ints([-128, 127])),
                Tensor(name: "l", dataType: .int64, shape: [1], values: .int64s([Int64.min])),
                Tensor(name: "u", dataType: .uint64, shape: [1], values: .uint64s([UInt64.max])),
                Tensor(name: "w", dataType: .uint16, shape: [1], values: .uints([65535])),
                Tensor(name: "d", dataType: .fp64, shape: [1], values: .fp64s([0.1])),
                Tensor(name: "s", dataType: .bytes, shape: [1, 1], values: .bytes([Array("héllo".utf8)])),
                Tensor(name: "e", dataType: .fp32, shape: [0], values: .fp32s([])),
            ])
    }

    /// Responses that break the protocol are UPSTREAM_MALFORMED.
    @Test(arguments: [
        #"{"model_name":"m"}"#,
        #"{"outputs":[{"name":"o","datatype":"FP32","shape":[3],"data":[1,2]}]}"#,
        #"{"outputs":[{"name":"o","datatype":"FP32","shape":[1],"data":[1,2]}]}"#,
        #"{"outputs":[{"name":"o","datatype":"FP32","shape":[2,2],"data":[[1,2],[3]]}]}"#,
        #"{"outputs":[{"name":"o","datatype":"INT8","shape":[1],"data":[300]}]}"#,
        #"{"outputs":[{"name":"o","datatype":"INT32","shape":[1],"data":[1.5]}]}"#,
        #"{"outputs":[{"name":"o","datatype":"BOOL","shape":[1],"data":[1]}]}"#,
        #"{"outputs":[{"name":"o","datatype":"FP32","shape":[1],"data":["1"]}]}"#,
        #"{"outputs":[{"name":"o","datatype":"COMPLEX","shape":[1],"data":[1]}]}"#,
        #"{"outputs":[{"name":"o","datatype":"FP32","shape":[-1],"data":[1]}]}"#,
        #"{"outputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}"#,
        #"{"outputs":[{"name":"o","datatype":"FP32","data":[1]}]}"#,
        #"[1]"#,
    ])
    func malformedResponses(body: String) {
        let error = thrownGatewayError { _ = try KServeCodec.predictResponse(Array(body.utf8), model: "m", provider: "kserve") }
        #expect(error?.code == .internal && error?.detail.kind == .upstreamMalformed, "\(body)")
    }

    @Test func fp16OutputIsUnsupported() {
        let body = #"{"outputs":[{"name":"o","datatype":"FP16","shape":[1],"data":[1.0]}]}"#
        let error = thrownGatewayError { _ = try KServeCodec.predictResponse(Array(body.utf8), model: "m", provider: "kserve") }
        #expect(error?.detail.kind == .unsupportedFeature)
    }

    @Test func modelMetadata() throws {
        let body = #"{"name":"iris","versions":["1","2"],"platform":"sklearn","inputs":[{"name":"input-0","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"predict","datatype":"INT64","shape":[-1]}]}"#
        #expect(
            try KServeCodec.modelMetadata(Array(body.utf8), provider: "kserve")
                == KServeModelMetadata(
                    name: "iris", versions: ["1", "2"], platform: "sklearn",
                    inputs: [KServeTensorMetadata(name: "input-0", datatype: "FP32", shape: [-1, 4])],
                    outputs: [KServeTensorMetadata(name: "predict", datatype: "INT64", shape: [-1])]))
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
