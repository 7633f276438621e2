import ModelGateCore
import ModelGateJSON

/// A tensor as a model's metadata describes it; `-1` in the shape is a variable dimension.
package struct KServeTensorMetadata: Sendable, Hashable {
    package var name: String
    /// The protocol's spelling, e.g. `FP32`.
    package var datatype: String
    package var shape: [Int64]

    package init(name: String, datatype: String, shape: [Int64]) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
    }
}

/// `GET /v2/models/{name}[/versions/{v}]`: `{"name","versions","platform","inputs","outputs"}`.
package struct KServeModelMetadata: Sendable, Hashable {
    package var name: String
    package var versions: [String]
    package var platform: String
    package var inputs: [KServeTensorMetadata]
    package var outputs: [KServeTensorMetadata]

    package init(
        name: String, versions: [String] = [], platform: String = "", inputs: [KServeTensorMetadata] = [],
        outputs: [KServeTensorMetadata] = []
    ) {
        self.name = name
        self.versions = versions
        self.platform = platform
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// The JSON of the KServe v2 / Open Inference Protocol REST API (`inference_rest.md`).
///
/// Requests: `{"id"?, "parameters"?, "inputs": [{"name","shape","datatype","data"}],
/// "outputs"?: [{"name"}]}` with data flattened row-major: numbers for the integer and float
/// types, JSON booleans for BOOL, strings for BYTES. The element count must equal the product
/// of the shape (checked before sending). FP16 and BF16 have no JSON representation (the
/// protocol carries them only as raw bytes, in gRPC or Triton's binary-data extension, which
/// is not implemented), so they are UNSUPPORTED_FEATURE. Raw little-endian bytes are accepted
/// for the other numeric types and written as numbers.
///
/// Responses: `{"model_name","model_version"?,"id"?,"parameters"?,"outputs":[…]}`; data may be
/// nested or flat; `"parameters": null` (MLServer) is accepted; each output's element count
/// and element kinds are checked against its shape and datatype, and a response that breaks
/// the protocol is UPSTREAM_MALFORMED. A missing `model_name` (the spec's own example omits
/// it) falls back to the requested model: it is metadata, not data.
package enum KServeCodec {
    // MARK: Request

    /// The body of `POST /v2/models/{name}[/versions/{v}]/infer`.
    package static func inferBody(_ request: PredictRequest, provider: String) throws(GatewayError) -> [UInt8] {
        guard !request.inputs.isEmpty else { throw GatewayError.invalidRequest("predict needs at least one input tensor") }
        var writer = JSONWriter(reservingCapacity: 256)
        writer.beginObject()
        if !request.id.isEmpty { writer.member("id", string: request.id) }
        if !request.parameters.isEmpty {
            writer.key("parameters")
            writer.beginObject()
            for (key, value) in request.parameters.sorted(by: { $0.key < $1.key }) {
                writer.member(key, string: value)
            }
            writer.endObject()
        }
        writer.key("inputs")
        writer.beginArray()
        for tensor in request.inputs {
            try writeTensor(tensor, into: &writer, provider: provider)
        }
        writer.endArray()
        if !request.outputs.isEmpty {
            writer.key("outputs")
            writer.beginArray()
            for output in request.outputs {
                guard !output.isEmpty else { throw GatewayError.invalidRequest("a requested output has no name") }
                writer.beginObject()
                writer.member("name", string: output)
                writer.endObject()
            }
            writer.endArray()
        }
        writer.endObject()
        return writer.bytes
    }

    /// The number of elements of `shape`; nil for a negative dimension or an overflow.
    package static func elementCount(_ shape: [Int64]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0, let size = Int(exactly: dimension) else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Bytes per element of the fixed-size types (for raw little-endian data).
    private static func elementSize(_ type: TensorDataType) -> Int? {
        switch type {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .fp16, .bf16: 2
        case .uint32, .int32, .fp32: 4
        case .uint64, .int64, .fp64: 8
        case .bytes, .unspecified: nil
        }
    }

    private static func writeTensor(_ tensor: Tensor, into writer: inout JSONWriter, provider: String)
        throws(GatewayError)
    {
        let what = "input tensor \"\(tensor.name)\""
        guard !tensor.name.isEmpty else { throw GatewayError.invalidRequest("an input tensor has no name") }
        switch tensor.dataType {
        case .unspecified:
            throw GatewayError.invalidRequest("\(what) has no datatype")
        case .fp16, .bf16:
            throw GatewayError.unsupported(
                "\(tensor.dataType.kserveName) tensors (the KServe v2 JSON protocol has no representation for them; the binary tensor extension is not implemented)",
                provider: provider)
        default:
            break
        }
        guard let expected = elementCount(tensor.shape) else {
            throw GatewayError.invalidRequest("\(what) has an invalid shape \(tensor.shape)")
        }
        var count = tensor.values.count
        if case .raw(let bytes) = tensor.values, let size = elementSize(tensor.dataType) {
            guard bytes.count % size == 0 else {
                throw GatewayError.invalidRequest("\(what): \(bytes.count) raw bytes are not a whole number of \(tensor.dataType.kserveName) elements")
            }
            count = bytes.count / size
        }
        guard count == expected else {
            throw GatewayError.invalidRequest(
                "\(what) has \(count) elements but its shape \(tensor.shape) needs \(expected)")
        }
        writer.beginObject()
        writer.member("name", string: tensor.name)
        writer.key("shape")
        writer.beginArray()
        for dimension in tensor.shape { writer.int(dimension) }
        writer.endArray()
        writer.member("datatype", string: tensor.dataType.kserveName)
        writer.key("data")
        writer.beginArray()
        try writeData(tensor, what: what, into: &writer, provider: provider)
        writer.endArray()
        writer.endObject()
    }

    /// The signed range of an integer type.
    private static func signedRange(_ type: TensorDataType) -> ClosedRange<Int64>? {
        switch type {
        case .int8: Int64(Int8.min)...Int64(Int8.max)
        case .int16: Int64(Int16.min)...Int64(Int16.max)
        case .int32: Int64(Int32.min)...Int64(Int32.max)
        case .int64: Int64.min...Int64.max
        default: nil
        }
    }

    /// The largest value of an unsigned integer type.
    private static func unsignedMaximum(_ type: TensorDataType) -> UInt64? {
        switch type {
        case .uint8: UInt64(UInt8.max)
        case .uint16: UInt64(UInt16.max)
        case .uint32: UInt64(UInt32.max)
        case .uint64: UInt64.max
        default: nil
        }
    }

    private static func writeData(_ tensor: Tensor, what: String, into writer: inout JSONWriter, provider: String)
        throws(GatewayError)
    {
        let type = tensor.dataType
        func mismatch() -> GatewayError {
            GatewayError.invalidRequest("\(what): its values do not match datatype \(type.kserveName)")
        }
        func outOfRange() -> GatewayError {
            GatewayError.invalidRequest("\(what): a value is out of range for \(type.kserveName)")
        }
        func nonFinite() -> GatewayError {
            GatewayError.unsupported("non-finite values (NaN, infinity) in \(what): JSON cannot carry them", provider: provider)
        }
        switch (type, tensor.values) {
        case (.bool, .bools(let values)):
            for value in values { writer.bool(value) }
        case (.bool, .raw(let bytes)):
            for byte in bytes { writer.bool(byte != 0) }
        case (.int8, .ints(let values)), (.int16, .ints(let values)), (.int32, .ints(let values)):
            guard let range = signedRange(type) else { throw mismatch() }
            for value in values {
                guard range.contains(Int64(value)) else { throw outOfRange() }
                writer.int(Int64(value))
            }
        case (.int64, .int64s(let values)):
            for value in values { writer.int(value) }
        case (.uint8, .uints(let values)), (.uint16, .uints(let values)), (.uint32, .uints(let values)):
            guard let maximum = unsignedMaximum(type) else { throw mismatch() }
            for value in values {
                guard UInt64(value) <= maximum else { throw outOfRange() }
                writer.uint(UInt64(value))
            }
        case (.uint64, .uint64s(let values)):
            for value in values { writer.uint(value) }
        case (.fp32, .fp32s(let values)):
            for value in values {
                guard value.isFinite else { throw nonFinite() }
                writer.float(value)
            }
        case (.fp64, .fp64s(let values)):
            for value in values {
                guard value.isFinite else { throw nonFinite() }
                writer.double(value)
            }
        case (.bytes, .bytes(let values)):
            for value in values {
                guard let text = String(validating: value, as: UTF8.self) else {
                    throw GatewayError.unsupported(
                        "non-UTF-8 BYTES elements in \(what) (JSON carries BYTES as strings)", provider: provider)
                }
                writer.string(text)
            }
        case (_, .raw(let bytes)):
            guard let size = elementSize(type) else { throw mismatch() }
            var offset = 0
            while offset < bytes.count {
                var bits: UInt64 = 0
                for index in (0..<size).reversed() { bits = bits << 8 | UInt64(bytes[offset + index]) }
                offset += size
                switch type {
                case .uint8, .uint16, .uint32, .uint64:
                    writer.uint(bits)
                case .int8: writer.int(Int64(Int8(truncatingIfNeeded: bits)))
                case .int16: writer.int(Int64(Int16(truncatingIfNeeded: bits)))
                case .int32: writer.int(Int64(Int32(truncatingIfNeeded: bits)))
                case .int64: writer.int(Int64(bitPattern: bits))
                case .fp32:
                    let value = Float(bitPattern: UInt32(truncatingIfNeeded: bits))
                    guard value.isFinite else { throw nonFinite() }
                    writer.float(value)
                case .fp64:
                    let value = Double(bitPattern: bits)
                    guard value.isFinite else { throw nonFinite() }
                    writer.double(value)
                default:
                    throw mismatch()
                }
            }
        default:
            throw mismatch()
        }
    }

    // MARK: Response

    /// The unified response for an inference response body.
    /// - Parameter model: the requested model, reported when the server names none.
    package static func predictResponse(_ body: [UInt8], model: String, provider: String) throws(GatewayError)
        -> PredictResponse
    {
        let root = try OpenAIResponseDecoding.parseObject(body, what: "inference response", provider: provider)
        if root["error"].isPresent {
            throw UpstreamErrorMapping.streamError(UpstreamErrorBody(root), provider: provider)
        }
        let outputs = root["outputs"]
        guard outputs.kind == .array else {
            throw OpenAIResponseDecoding.malformed("an inference response without outputs", provider: provider)
        }
        var tensors: [Tensor] = []
        tensors.reserveCapacity(outputs.count)
        for output in outputs.elements {
            tensors.append(try tensor(output, provider: provider))
        }
        return PredictResponse(
            model: root["model_name"].string ?? model,
            version: root["model_version"].string ?? "",
            id: root["id"].string ?? "",
            outputs: tensors,
            provider: provider)
    }

    private static func tensor(_ value: JSONValue, provider: String) throws(GatewayError) -> Tensor {
        func malformed(_ problem: String) -> GatewayError {
            OpenAIResponseDecoding.malformed("an output tensor \(problem)", provider: provider)
        }
        guard value.kind == .object, let name = value["name"].string else { throw malformed("without a name") }
        guard let typeName = value["datatype"].string, let type = TensorDataType(kserveName: typeName) else {
            throw malformed("\"\(name)\" with an unknown datatype")
        }
        if type == .fp16 || type == .bf16 {
            throw GatewayError.unsupported(
                "\(typeName) output tensor \"\(name)\" (the KServe v2 JSON protocol has no representation for it)",
                provider: provider)
        }
        var shape: [Int64] = []
        for dimension in value["shape"].elements {
            guard let size = dimension.int64, size >= 0 else { throw malformed("\"\(name)\" with an invalid shape") }
            shape.append(size)
        }
        guard value["shape"].kind == .array, let expected = elementCount(shape) else {
            throw malformed("\"\(name)\" with an invalid shape")
        }
        var elements: [JSONValue] = []
        elements.reserveCapacity(expected)
        guard value["data"].kind == .array, flatten(value["data"], into: &elements, limit: expected) else {
            throw malformed("\"\(name)\" whose data does not have the \(expected) elements of shape \(shape)")
        }
        guard elements.count == expected else {
            throw malformed("\"\(name)\" whose data has \(elements.count) elements but shape \(shape) needs \(expected)")
        }
        guard let values = values(elements, type: type) else {
            throw malformed("\"\(name)\" whose data does not match datatype \(typeName)")
        }
        return Tensor(name: name, dataType: type, shape: shape, values: values)
    }

    /// Row-major elements of nested or flat data; false once more than `limit` are found (a
    /// hostile response cannot make the gateway collect more than the shape promised).
    private static func flatten(_ array: JSONValue, into elements: inout [JSONValue], limit: Int) -> Bool {
        for element in array.elements {
            if element.kind == .array {
                guard flatten(element, into: &elements, limit: limit) else { return false }
            } else {
                guard elements.count < limit else { return false }
                elements.append(element)
            }
        }
        return true
    }

    /// The elements as the unified representation of `type`; nil if any does not fit.
    private static func values(_ elements: [JSONValue], type: TensorDataType) -> TensorValues? {
        func all<T>(_ read: (JSONValue) -> T?) -> [T]? {
            var result: [T] = []
            result.reserveCapacity(elements.count)
            for element in elements {
                guard let value = read(element) else { return nil }
                result.append(value)
            }
            return result
        }
        switch type {
        case .bool:
            return all { $0.bool }.map(TensorValues.bools)
        case .int8, .int16, .int32:
            guard let range = signedRange(type) else { return nil }
            return all { element in element.int64.flatMap { range.contains($0) ? Int32($0) : nil } }.map(TensorValues.ints)
        case .int64:
            return all { $0.int64 }.map(TensorValues.int64s)
        case .uint8, .uint16, .uint32:
            guard let maximum = unsignedMaximum(type) else { return nil }
            return all { element in element.uint64.flatMap { $0 <= maximum ? UInt32($0) : nil } }.map(TensorValues.uints)
        case .uint64:
            return all { $0.uint64 }.map(TensorValues.uint64s)
        case .fp32:
            return all { element in element.kind == .number ? element.float : nil }.map(TensorValues.fp32s)
        case .fp64:
            return all { element in element.kind == .number ? element.double : nil }.map(TensorValues.fp64s)
        case .bytes:
            return all { element in element.string.map { Array($0.utf8) } }.map(TensorValues.bytes)
        case .fp16, .bf16, .unspecified:
            return nil
        }
    }

    // MARK: Metadata

    /// The model metadata response.
    package static func modelMetadata(_ body: [UInt8], provider: String) throws(GatewayError) -> KServeModelMetadata {
        let root = try OpenAIResponseDecoding.parseObject(body, what: "model metadata response", provider: provider)
        guard let name = root["name"].string else {
            throw OpenAIResponseDecoding.malformed("model metadata without a name", provider: provider)
        }
        func tensors(_ list: JSONValue) -> [KServeTensorMetadata] {
            list.elements.map { tensor in
                KServeTensorMetadata(
                    name: tensor["name"].string ?? "", datatype: tensor["datatype"].string ?? "",
                    shape: tensor["shape"].elements.compactMap(\.int64))
            }
        }
        return KServeModelMetadata(
            name: name,
            versions: root["versions"].elements.compactMap(\.string),
            platform: root["platform"].string ?? "",
            inputs: tensors(root["inputs"]),
            outputs: tensors(root["outputs"]))
    }
}
