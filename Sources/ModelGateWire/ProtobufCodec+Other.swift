import CModelGateProto
import CProtobufC
import ModelGateCore

extension Modelgate__V1__DataType: CEnum {}
extension Modelgate__V1__ModelKind: CEnum {}
extension Modelgate__V1__ServingStatus: CEnum {}

// MARK: Embeddings

extension EmbedRequest: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.EmbedRequest"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__EmbedRequest>?
    { modelgate__v1__embed_request__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__EmbedRequest, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            model: try reader.string(m.model, field: "model"),
            inputs: try reader.strings(m.inputs, count: m.n_inputs, field: "inputs"),
            dimensions: m.dimensions_present_case == MODELGATE__V1__EMBED_REQUEST__DIMENSIONS_PRESENT_DIMENSIONS
                ? m.dimensions : nil,
            inputType: try reader.string(m.input_type, field: "input_type"),
            user: try reader.string(m.user, field: "user"),
            tenant: try reader.string(m.tenant, field: "tenant"),
            metadata: try reader.map(m.metadata, count: m.n_metadata, field: "metadata"))
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__EmbedRequest> {
        b.message(modelgate__v1__embed_request__init) { m in
            m.model = b.optionalString(model)
            m.n_inputs = inputs.count
            m.inputs = b.strings(inputs)
            if let dimensions {
                m.dimensions_present_case = MODELGATE__V1__EMBED_REQUEST__DIMENSIONS_PRESENT_DIMENSIONS
                m.dimensions = dimensions
            }
            m.input_type = b.optionalString(inputType)
            m.user = b.optionalString(user)
            m.tenant = b.optionalString(tenant)
            m.n_metadata = metadata.count
            m.metadata = b.map(metadata)
        }
    }
}

extension Embedding: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.Embedding"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__Embedding>?
    { modelgate__v1__embedding__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__Embedding, reader: CMessageReader) throws(WireDecodingError) {
        self.init(index: m.index, values: reader.scalars(m.values, count: m.n_values))
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__Embedding> {
        b.message(modelgate__v1__embedding__init) { m in
            m.index = index
            m.n_values = values.count
            m.values = b.scalars(values)
        }
    }
}

extension EmbedResponse: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.EmbedResponse"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__EmbedResponse>?
    { modelgate__v1__embed_response__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__EmbedResponse, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            embeddings: try reader.messages(m.embeddings, count: m.n_embeddings) { (p) throws(WireDecodingError) in
                try Embedding(p, reader: reader)
            },
            model: try reader.string(m.model, field: "model"),
            provider: try reader.string(m.provider, field: "provider"),
            usage: try m.usage.map { (p) throws(WireDecodingError) in try Usage(p.pointee, reader: reader) }
                ?? .notReported)
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__EmbedResponse> {
        b.message(modelgate__v1__embed_response__init) { m in
            m.n_embeddings = embeddings.count
            m.embeddings = b.messages(embeddings)
            m.model = b.optionalString(model)
            m.provider = b.optionalString(provider)
            m.usage = usage.cMessage(b)
        }
    }
}

// MARK: Predict

extension Tensor: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.Tensor"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__Tensor>?
    { modelgate__v1__tensor__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__Tensor, reader: CMessageReader) throws(WireDecodingError) {
        let name = try reader.string(m.name, field: "tensor.name")
        var values = TensorValues.raw([])
        if let data = m.data?.pointee {
            // The first populated representation wins; the schema allows exactly one.
            if data.raw.len > 0 {
                values = .raw(reader.bytes(data.raw))
            } else if data.n_bools > 0 {
                values = .bools(reader.scalars(data.bools, count: data.n_bools).map { $0 != 0 })
            } else if data.n_ints > 0 {
                values = .ints(reader.scalars(data.ints, count: data.n_ints))
            } else if data.n_int64s > 0 {
                values = .int64s(reader.scalars(data.int64s, count: data.n_int64s))
            } else if data.n_uints > 0 {
                values = .uints(reader.scalars(data.uints, count: data.n_uints))
            } else if data.n_uint64s > 0 {
                values = .uint64s(reader.scalars(data.uint64s, count: data.n_uint64s))
            } else if data.n_fp32s > 0 {
                values = .fp32s(reader.scalars(data.fp32s, count: data.n_fp32s))
            } else if data.n_fp64s > 0 {
                values = .fp64s(reader.scalars(data.fp64s, count: data.n_fp64s))
            } else if data.n_bytes_values > 0 {
                values = .bytes(reader.scalars(data.bytes_values, count: data.n_bytes_values).map(reader.bytes))
            }
        }
        self.init(
            name: name, dataType: TensorDataType(wireValue: m.datatype.wire),
            shape: reader.scalars(m.shape, count: m.n_shape), values: values)
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__Tensor> {
        b.message(modelgate__v1__tensor__init) { m in
            m.name = b.optionalString(name)
            m.datatype = Modelgate__V1__DataType(wire: dataType.rawValue)
            m.n_shape = shape.count
            m.shape = b.scalars(shape)
            m.data = b.message(modelgate__v1__tensor_data__init) { d in
                switch values {
                case .raw(let v): d.raw = b.bytes(v)
                case .bools(let v):
                    d.n_bools = v.count
                    d.bools = b.scalars(v.map { $0 ? 1 : 0 })
                case .ints(let v):
                    d.n_ints = v.count
                    d.ints = b.scalars(v)
                case .int64s(let v):
                    d.n_int64s = v.count
                    d.int64s = b.scalars(v)
                case .uints(let v):
                    d.n_uints = v.count
                    d.uints = b.scalars(v)
                case .uint64s(let v):
                    d.n_uint64s = v.count
                    d.uint64s = b.scalars(v)
                case .fp32s(let v):
                    d.n_fp32s = v.count
                    d.fp32s = b.scalars(v)
                case .fp64s(let v):
                    d.n_fp64s = v.count
                    d.fp64s = b.scalars(v)
                case .bytes(let v):
                    d.n_bytes_values = v.count
                    d.bytes_values = b.scalars(v.map(b.bytes))
                }
            }
        }
    }
}

extension PredictRequest: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.PredictRequest"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__PredictRequest>?
    { modelgate__v1__predict_request__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__PredictRequest, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            model: try reader.string(m.model, field: "model"),
            version: try reader.string(m.version, field: "version"),
            inputs: try reader.messages(m.inputs, count: m.n_inputs) { (p) throws(WireDecodingError) in
                try Tensor(p, reader: reader)
            },
            outputs: try reader.strings(m.outputs, count: m.n_outputs, field: "outputs"),
            parameters: try reader.map(m.parameters, count: m.n_parameters, field: "parameters"),
            id: try reader.string(m.id, field: "id"),
            tenant: try reader.string(m.tenant, field: "tenant"))
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__PredictRequest> {
        b.message(modelgate__v1__predict_request__init) { m in
            m.model = b.optionalString(model)
            m.version = b.optionalString(version)
            m.n_inputs = inputs.count
            m.inputs = b.messages(inputs)
            m.n_outputs = outputs.count
            m.outputs = b.strings(outputs)
            m.n_parameters = parameters.count
            m.parameters = b.map(parameters)
            m.id = b.optionalString(id)
            m.tenant = b.optionalString(tenant)
        }
    }
}

extension PredictResponse: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.PredictResponse"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__PredictResponse>?
    { modelgate__v1__predict_response__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__PredictResponse, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            model: try reader.string(m.model, field: "model"),
            version: try reader.string(m.version, field: "version"),
            id: try reader.string(m.id, field: "id"),
            outputs: try reader.messages(m.outputs, count: m.n_outputs) { (p) throws(WireDecodingError) in
                try Tensor(p, reader: reader)
            },
            provider: try reader.string(m.provider, field: "provider"))
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__PredictResponse> {
        b.message(modelgate__v1__predict_response__init) { m in
            m.model = b.optionalString(model)
            m.version = b.optionalString(version)
            m.id = b.optionalString(id)
            m.n_outputs = outputs.count
            m.outputs = b.messages(outputs)
            m.provider = b.optionalString(provider)
        }
    }
}

// MARK: Discovery and health

/// `modelgate.v1.ListModelsRequest`: no fields.
package struct ListModelsRequest: Sendable, Hashable {
    package init() {}
}

/// `modelgate.v1.HealthRequest`.
package struct HealthRequest: Sendable, Hashable {
    package var service: String

    package init(service: String = "") {
        self.service = service
    }
}

extension ListModelsRequest: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.ListModelsRequest"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__ListModelsRequest>?
    { modelgate__v1__list_models_request__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__ListModelsRequest, reader: CMessageReader) throws(WireDecodingError) {
        self.init()
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__ListModelsRequest> {
        b.message(modelgate__v1__list_models_request__init)
    }
}

extension ModelInfo: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.ModelInfo"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__ModelInfo>?
    { modelgate__v1__model_info__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__ModelInfo, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            name: try reader.string(m.name, field: "name"),
            aliases: try reader.strings(m.aliases, count: m.n_aliases, field: "aliases"),
            kind: ModelKind(wireValue: m.kind.wire),
            providers: try reader.strings(m.providers, count: m.n_providers, field: "providers"))
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__ModelInfo> {
        b.message(modelgate__v1__model_info__init) { m in
            m.name = b.optionalString(name)
            m.n_aliases = aliases.count
            m.aliases = b.strings(aliases)
            m.kind = Modelgate__V1__ModelKind(wire: kind.rawValue)
            m.n_providers = providers.count
            m.providers = b.strings(providers)
        }
    }
}

/// `modelgate.v1.ListModelsResponse`.
package struct ListModelsResponse: Sendable, Hashable {
    package var models: [ModelInfo]

    package init(models: [ModelInfo]) {
        self.models = models
    }
}

extension ListModelsResponse: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.ListModelsResponse"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__ListModelsResponse>?
    { modelgate__v1__list_models_response__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__ListModelsResponse, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            models: try reader.messages(m.models, count: m.n_models) { (p) throws(WireDecodingError) in
                try ModelInfo(p, reader: reader)
            })
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__ListModelsResponse> {
        b.message(modelgate__v1__list_models_response__init) { m in
            m.n_models = models.count
            m.models = b.messages(models)
        }
    }
}

extension HealthRequest: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.HealthRequest"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__HealthRequest>?
    { modelgate__v1__health_request__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__HealthRequest, reader: CMessageReader) throws(WireDecodingError) {
        self.init(service: try reader.string(m.service, field: "service"))
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__HealthRequest> {
        b.message(modelgate__v1__health_request__init) { m in
            m.service = b.optionalString(service)
        }
    }
}

extension HealthStatus: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.HealthResponse"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__HealthResponse>?
    { modelgate__v1__health_response__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__HealthResponse, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            status: ServingStatus(wireValue: m.status.wire),
            version: try reader.string(m.version, field: "version"),
            uptimeSeconds: m.uptime_seconds)
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__HealthResponse> {
        b.message(modelgate__v1__health_response__init) { m in
            m.status = Modelgate__V1__ServingStatus(wire: status.rawValue)
            m.version = b.optionalString(version)
            m.uptime_seconds = uptimeSeconds
        }
    }
}
