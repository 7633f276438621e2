/// Element types of the Open Inference Protocol (`modelgate.v1.DataType`).
package enum TensorDataType: Int32, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case bool = 1
    case uint8 = 2
    case uint16 = 3
    case uint32 = 4
    case uint64 = 5
    case int8 = 6
    case int16 = 7
    case int32 = 8
    case int64 = 9
    case fp16 = 10
    case fp32 = 11
    case fp64 = 12
    case bytes = 13
    case bf16 = 14

    package init(wireValue: Int32) {
        self = TensorDataType(rawValue: wireValue) ?? .unspecified
    }

    /// The KServe v2 spelling, e.g. `FP32`.
    package var kserveName: String {
        switch self {
        case .unspecified: ""
        case .bool: "BOOL"
        case .uint8: "UINT8"
        case .uint16: "UINT16"
        case .uint32: "UINT32"
        case .uint64: "UINT64"
        case .int8: "INT8"
        case .int16: "INT16"
        case .int32: "INT32"
        case .int64: "INT64"
        case .fp16: "FP16"
        case .fp32: "FP32"
        case .fp64: "FP64"
        case .bytes: "BYTES"
        case .bf16: "BF16"
        }
    }

    package init?(kserveName: String) {
        guard let match = TensorDataType.allCases.first(where: { $0.kserveName == kserveName && $0 != .unspecified })
        else { return nil }
        self = match
    }
}

/// A tensor's elements, flattened row-major, in the representation its datatype uses.
package enum TensorValues: Sendable, Hashable {
    case raw([UInt8])
    case bools([Bool])
    case ints([Int32])
    case int64s([Int64])
    case uints([UInt32])
    case uint64s([UInt64])
    case fp32s([Float])
    case fp64s([Double])
    case bytes([[UInt8]])

    package var count: Int {
        switch self {
        case .raw(let v): v.count
        case .bools(let v): v.count
        case .ints(let v): v.count
        case .int64s(let v): v.count
        case .uints(let v): v.count
        case .uint64s(let v): v.count
        case .fp32s(let v): v.count
        case .fp64s(let v): v.count
        case .bytes(let v): v.count
        }
    }
}

/// A named, typed tensor (`modelgate.v1.Tensor`).
package struct Tensor: Sendable, Hashable {
    package var name: String
    package var dataType: TensorDataType
    package var shape: [Int64]
    package var values: TensorValues

    package init(name: String, dataType: TensorDataType, shape: [Int64], values: TensorValues) {
        self.name = name
        self.dataType = dataType
        self.shape = shape
        self.values = values
    }
}

/// A predictive-model inference request (`modelgate.v1.PredictRequest`).
package struct PredictRequest: Sendable, Hashable {
    package var model: String
    package var version: String
    package var inputs: [Tensor]
    package var outputs: [String]
    package var parameters: [String: String]
    package var id: String
    package var tenant: String

    package init(
        model: String,
        version: String = "",
        inputs: [Tensor],
        outputs: [String] = [],
        parameters: [String: String] = [:],
        id: String = "",
        tenant: String = ""
    ) {
        self.model = model
        self.version = version
        self.inputs = inputs
        self.outputs = outputs
        self.parameters = parameters
        self.id = id
        self.tenant = tenant
    }
}

/// A predictive-model inference response (`modelgate.v1.PredictResponse`).
package struct PredictResponse: Sendable, Hashable {
    package var model: String
    package var version: String
    package var id: String
    package var outputs: [Tensor]
    package var provider: String

    package init(model: String, version: String = "", id: String = "", outputs: [Tensor], provider: String = "") {
        self.model = model
        self.version = version
        self.id = id
        self.outputs = outputs
        self.provider = provider
    }
}
