import CModelGateProto
import CProtobufC
import ModelGateCore

extension Modelgate__V1__Role: CEnum {}
extension Modelgate__V1__FinishReason: CEnum {}
extension Modelgate__V1__UsageSource: CEnum {}
extension Modelgate__V1__ToolChoice__Mode: CEnum {}
extension Modelgate__V1__ResponseFormat__Type: CEnum {}

extension ToolCall: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.ToolCall"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__ToolCall>?
    { modelgate__v1__tool_call__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__ToolCall, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            id: try reader.string(m.id, field: "tool_call.id"),
            name: try reader.string(m.name, field: "tool_call.name"),
            argumentsJSON: try reader.string(m.arguments_json, field: "tool_call.arguments_json"))
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__ToolCall> {
        b.message(modelgate__v1__tool_call__init) { m in
            m.id = b.optionalString(id)
            m.name = b.optionalString(name)
            m.arguments_json = b.optionalString(argumentsJSON)
        }
    }
}

extension ToolCallDelta: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.ToolCallDelta"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__ToolCallDelta>?
    { modelgate__v1__tool_call_delta__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__ToolCallDelta, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            index: m.index,
            id: try reader.string(m.id, field: "tool_call_delta.id"),
            name: try reader.string(m.name, field: "tool_call_delta.name"),
            argumentsFragment: try reader.string(m.arguments_fragment, field: "tool_call_delta.arguments_fragment"))
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__ToolCallDelta> {
        b.message(modelgate__v1__tool_call_delta__init) { m in
            m.index = index
            m.id = b.optionalString(id)
            m.name = b.optionalString(name)
            m.arguments_fragment = b.optionalString(argumentsFragment)
        }
    }
}

extension Usage: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.Usage"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__Usage>?
    { modelgate__v1__usage__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__Usage, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            inputTokens: m.input_tokens,
            outputTokens: m.output_tokens,
            cachedInputTokens: m.cached_input_tokens,
            cacheWriteInputTokens: m.cache_write_input_tokens,
            reasoningTokens: m.reasoning_tokens,
            totalTokens: m.total_tokens,
            source: UsageSource(wireValue: m.source.wire),
            costUSD: m.cost_present_case == MODELGATE__V1__USAGE__COST_PRESENT_COST_USD ? m.cost_usd : nil,
            deliveredChunks: m.delivered_chunks)
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__Usage> {
        b.message(modelgate__v1__usage__init) { m in
            m.input_tokens = inputTokens
            m.output_tokens = outputTokens
            m.cached_input_tokens = cachedInputTokens
            m.cache_write_input_tokens = cacheWriteInputTokens
            m.reasoning_tokens = reasoningTokens
            m.total_tokens = totalTokens
            m.source = Modelgate__V1__UsageSource(wire: source.rawValue)
            m.delivered_chunks = deliveredChunks
            if let costUSD {
                m.cost_present_case = MODELGATE__V1__USAGE__COST_PRESENT_COST_USD
                m.cost_usd = costUSD
            }
        }
    }
}

extension ContentPart: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.ContentPart"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__ContentPart>?
    { modelgate__v1__content_part__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__ContentPart, reader: CMessageReader) throws(WireDecodingError) {
        switch m.part_case {
        case MODELGATE__V1__CONTENT_PART__PART_TEXT:
            self = .text(try reader.string(m.text, field: "parts.text"))
        case MODELGATE__V1__CONTENT_PART__PART_IMAGE_DATA:
            guard let image = m.image_data else { throw WireDecodingError("parts.image_data is empty") }
            self = .imageData(
                bytes: reader.bytes(image.pointee.data),
                mimeType: try reader.string(image.pointee.mime_type, field: "parts.image_data.mime_type"))
        case MODELGATE__V1__CONTENT_PART__PART_IMAGE_URL:
            guard let image = m.image_url else { throw WireDecodingError("parts.image_url is empty") }
            self = .imageURL(
                url: try reader.string(image.pointee.url, field: "parts.image_url.url"),
                detail: try reader.string(image.pointee.detail, field: "parts.image_url.detail"))
        case MODELGATE__V1__CONTENT_PART__PART_TOOL_CALL:
            guard let call = m.tool_call else { throw WireDecodingError("parts.tool_call is empty") }
            self = .toolCall(try ToolCall(call.pointee, reader: reader))
        case MODELGATE__V1__CONTENT_PART__PART_TOOL_RESULT:
            guard let result = m.tool_result else { throw WireDecodingError("parts.tool_result is empty") }
            self = .toolResult(
                ToolResult(
                    toolCallID: try reader.string(result.pointee.tool_call_id, field: "parts.tool_result.tool_call_id"),
                    content: try reader.string(result.pointee.content, field: "parts.tool_result.content"),
                    isError: result.pointee.is_error != 0))
        default:
            throw WireDecodingError("a content part has no content")
        }
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__ContentPart> {
        b.message(modelgate__v1__content_part__init) { m in
            switch self {
            case .text(let text):
                m.part_case = MODELGATE__V1__CONTENT_PART__PART_TEXT
                m.text = b.string(text)  // never nil: an empty text part must keep its case
            case .imageData(let bytes, let mimeType):
                m.part_case = MODELGATE__V1__CONTENT_PART__PART_IMAGE_DATA
                m.image_data = b.message(modelgate__v1__image_data__init) { image in
                    image.data = b.bytes(bytes)
                    image.mime_type = b.optionalString(mimeType)
                }
            case .imageURL(let url, let detail):
                m.part_case = MODELGATE__V1__CONTENT_PART__PART_IMAGE_URL
                m.image_url = b.message(modelgate__v1__image_url__init) { image in
                    image.url = b.optionalString(url)
                    image.detail = b.optionalString(detail)
                }
            case .toolCall(let call):
                m.part_case = MODELGATE__V1__CONTENT_PART__PART_TOOL_CALL
                m.tool_call = call.cMessage(b)
            case .toolResult(let result):
                m.part_case = MODELGATE__V1__CONTENT_PART__PART_TOOL_RESULT
                m.tool_result = b.message(modelgate__v1__tool_result__init) { r in
                    r.tool_call_id = b.optionalString(result.toolCallID)
                    r.content = b.optionalString(result.content)
                    r.is_error = result.isError ? 1 : 0
                }
            }
        }
    }
}

extension ChatMessage: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.Message"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__Message>?
    { modelgate__v1__message__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__Message, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            role: Role(wireValue: m.role.wire),
            parts: try reader.messages(m.parts, count: m.n_parts) { (p) throws(WireDecodingError) in
                try ContentPart(p, reader: reader)
            },
            name: try reader.string(m.name, field: "messages.name"),
            toolCallID: try reader.string(m.tool_call_id, field: "messages.tool_call_id"))
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__Message> {
        b.message(modelgate__v1__message__init) { m in
            m.role = Modelgate__V1__Role(wire: role.rawValue)
            m.n_parts = parts.count
            m.parts = b.messages(parts)
            m.name = b.optionalString(name)
            m.tool_call_id = b.optionalString(toolCallID)
        }
    }
}

extension ToolDefinition: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.Tool"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__Tool>?
    { modelgate__v1__tool__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__Tool, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            name: try reader.string(m.name, field: "tools.name"),
            description: try reader.string(m.description, field: "tools.description"),
            parametersJSON: try reader.string(m.parameters_json, field: "tools.parameters_json"),
            strict: m.strict != 0)
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__Tool> {
        b.message(modelgate__v1__tool__init) { m in
            m.name = b.optionalString(name)
            m.description = b.optionalString(description)
            m.parameters_json = b.optionalString(parametersJSON)
            m.strict = strict ? 1 : 0
        }
    }
}

extension ChatRequest: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.ChatRequest"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__ChatRequest>?
    { modelgate__v1__chat_request__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__ChatRequest, reader: CMessageReader) throws(WireDecodingError) {
        var toolChoice = ToolChoice.providerDefault
        if let choice = m.tool_choice {
            let function = try reader.string(choice.pointee.function_name, field: "tool_choice.function_name")
            if !function.isEmpty {
                toolChoice = .function(function)
            } else {
                switch choice.pointee.mode {
                case MODELGATE__V1__TOOL_CHOICE__MODE__MODE_AUTO: toolChoice = .auto
                case MODELGATE__V1__TOOL_CHOICE__MODE__MODE_NONE: toolChoice = .none
                case MODELGATE__V1__TOOL_CHOICE__MODE__MODE_REQUIRED: toolChoice = .required
                default: toolChoice = .providerDefault
                }
            }
        }
        var responseFormat = ResponseFormat.text
        if let format = m.response_format {
            switch format.pointee.type {
            case MODELGATE__V1__RESPONSE_FORMAT__TYPE__TYPE_JSON_OBJECT:
                responseFormat = .jsonObject
            case MODELGATE__V1__RESPONSE_FORMAT__TYPE__TYPE_JSON_SCHEMA:
                responseFormat = .jsonSchema(
                    name: try reader.string(format.pointee.schema_name, field: "response_format.schema_name"),
                    schemaJSON: try reader.string(format.pointee.schema_json, field: "response_format.schema_json"),
                    strict: format.pointee.strict != 0)
            default:
                responseFormat = .text
            }
        }
        var cache = CacheHint()
        if let hint = m.cache {
            cache = CacheHint(bypass: hint.pointee.bypass != 0, ttlSeconds: hint.pointee.ttl_seconds)
        }
        var routing = RoutingHint()
        if let hint = m.routing {
            routing = RoutingHint(
                fallbackModels: try reader.strings(
                    hint.pointee.fallback_models, count: hint.pointee.n_fallback_models,
                    field: "routing.fallback_models"),
                preferProvider: try reader.string(hint.pointee.prefer_provider, field: "routing.prefer_provider"))
        }
        self.init(
            model: try reader.string(m.model, field: "model"),
            messages: try reader.messages(m.messages, count: m.n_messages) { (p) throws(WireDecodingError) in
                try ChatMessage(p, reader: reader)
            },
            tools: try reader.messages(m.tools, count: m.n_tools) { (p) throws(WireDecodingError) in
                try ToolDefinition(p, reader: reader)
            },
            toolChoice: toolChoice,
            responseFormat: responseFormat,
            temperature: m.temperature_present_case == MODELGATE__V1__CHAT_REQUEST__TEMPERATURE_PRESENT_TEMPERATURE
                ? m.temperature : nil,
            topP: m.top_p_present_case == MODELGATE__V1__CHAT_REQUEST__TOP_P_PRESENT_TOP_P ? m.top_p : nil,
            maxTokens: m.max_tokens_present_case == MODELGATE__V1__CHAT_REQUEST__MAX_TOKENS_PRESENT_MAX_TOKENS
                ? m.max_tokens : nil,
            seed: m.seed_present_case == MODELGATE__V1__CHAT_REQUEST__SEED_PRESENT_SEED ? m.seed : nil,
            presencePenalty: m.presence_penalty_present_case
                == MODELGATE__V1__CHAT_REQUEST__PRESENCE_PENALTY_PRESENT_PRESENCE_PENALTY ? m.presence_penalty : nil,
            frequencyPenalty: m.frequency_penalty_present_case
                == MODELGATE__V1__CHAT_REQUEST__FREQUENCY_PENALTY_PRESENT_FREQUENCY_PENALTY ? m.frequency_penalty : nil,
            topK: m.top_k_present_case == MODELGATE__V1__CHAT_REQUEST__TOP_K_PRESENT_TOP_K ? m.top_k : nil,
            parallelToolCalls: m.parallel_tool_calls_present_case
                == MODELGATE__V1__CHAT_REQUEST__PARALLEL_TOOL_CALLS_PRESENT_PARALLEL_TOOL_CALLS
                ? m.parallel_tool_calls != 0 : nil,
            stop: try reader.strings(m.stop, count: m.n_stop, field: "stop"),
            user: try reader.string(m.user, field: "user"),
            tenant: try reader.string(m.tenant, field: "tenant"),
            priority: m.priority,
            metadata: try reader.map(m.metadata, count: m.n_metadata, field: "metadata"),
            cache: cache,
            routing: routing)
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__ChatRequest> {
        b.message(modelgate__v1__chat_request__init) { m in
            m.model = b.optionalString(model)
            m.n_messages = messages.count
            m.messages = b.messages(messages)
            m.n_tools = tools.count
            m.tools = b.messages(tools)
            if toolChoice != .providerDefault {
                m.tool_choice = b.message(modelgate__v1__tool_choice__init) { c in
                    switch toolChoice {
                    case .providerDefault: break
                    case .auto: c.mode = MODELGATE__V1__TOOL_CHOICE__MODE__MODE_AUTO
                    case .none: c.mode = MODELGATE__V1__TOOL_CHOICE__MODE__MODE_NONE
                    case .required: c.mode = MODELGATE__V1__TOOL_CHOICE__MODE__MODE_REQUIRED
                    case .function(let name): c.function_name = b.optionalString(name)
                    }
                }
            }
            if responseFormat != .text {
                m.response_format = b.message(modelgate__v1__response_format__init) { f in
                    switch responseFormat {
                    case .text: break
                    case .jsonObject: f.type = MODELGATE__V1__RESPONSE_FORMAT__TYPE__TYPE_JSON_OBJECT
                    case .jsonSchema(let name, let schema, let strict):
                        f.type = MODELGATE__V1__RESPONSE_FORMAT__TYPE__TYPE_JSON_SCHEMA
                        f.schema_name = b.optionalString(name)
                        f.schema_json = b.optionalString(schema)
                        f.strict = strict ? 1 : 0
                    }
                }
            }
            if let temperature {
                m.temperature_present_case = MODELGATE__V1__CHAT_REQUEST__TEMPERATURE_PRESENT_TEMPERATURE
                m.temperature = temperature
            }
            if let topP {
                m.top_p_present_case = MODELGATE__V1__CHAT_REQUEST__TOP_P_PRESENT_TOP_P
                m.top_p = topP
            }
            if let maxTokens {
                m.max_tokens_present_case = MODELGATE__V1__CHAT_REQUEST__MAX_TOKENS_PRESENT_MAX_TOKENS
                m.max_tokens = maxTokens
            }
            if let seed {
                m.seed_present_case = MODELGATE__V1__CHAT_REQUEST__SEED_PRESENT_SEED
                m.seed = seed
            }
            if let presencePenalty {
                m.presence_penalty_present_case = MODELGATE__V1__CHAT_REQUEST__PRESENCE_PENALTY_PRESENT_PRESENCE_PENALTY
                m.presence_penalty = presencePenalty
            }
            if let frequencyPenalty {
                m.frequency_penalty_present_case =
                    MODELGATE__V1__CHAT_REQUEST__FREQUENCY_PENALTY_PRESENT_FREQUENCY_PENALTY
                m.frequency_penalty = frequencyPenalty
            }
            if let topK {
                m.top_k_present_case = MODELGATE__V1__CHAT_REQUEST__TOP_K_PRESENT_TOP_K
                m.top_k = topK
            }
            if let parallelToolCalls {
                m.parallel_tool_calls_present_case =
                    MODELGATE__V1__CHAT_REQUEST__PARALLEL_TOOL_CALLS_PRESENT_PARALLEL_TOOL_CALLS
                m.parallel_tool_calls = parallelToolCalls ? 1 : 0
            }
            m.n_stop = stop.count
            m.stop = b.strings(stop)
            m.user = b.optionalString(user)
            m.tenant = b.optionalString(tenant)
            m.priority = priority
            m.n_metadata = metadata.count
            m.metadata = b.map(metadata)
            if cache != CacheHint() {
                m.cache = b.message(modelgate__v1__cache_hint__init) { c in
                    c.bypass = cache.bypass ? 1 : 0
                    c.ttl_seconds = cache.ttlSeconds
                }
            }
            if routing != RoutingHint() {
                m.routing = b.message(modelgate__v1__routing_hint__init) { r in
                    r.n_fallback_models = routing.fallbackModels.count
                    r.fallback_models = b.strings(routing.fallbackModels)
                    r.prefer_provider = b.optionalString(routing.preferProvider)
                }
            }
        }
    }
}

extension ChatResponse: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.ChatResponse"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__ChatResponse>?
    { modelgate__v1__chat_response__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__ChatResponse, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            id: try reader.string(m.id, field: "id"),
            model: try reader.string(m.model, field: "model"),
            provider: try reader.string(m.provider, field: "provider"),
            text: try reader.string(m.text, field: "text"),
            reasoning: try reader.string(m.reasoning, field: "reasoning"),
            toolCalls: try reader.messages(m.tool_calls, count: m.n_tool_calls) { (p) throws(WireDecodingError) in
                try ToolCall(p, reader: reader)
            },
            finishReason: FinishReason(wireValue: m.finish_reason.wire),
            providerFinishReason: try reader.string(m.provider_finish_reason, field: "provider_finish_reason"),
            usage: try m.usage.map { (p) throws(WireDecodingError) in try Usage(p.pointee, reader: reader) }
                ?? .notReported)
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__ChatResponse> {
        b.message(modelgate__v1__chat_response__init) { m in
            m.id = b.optionalString(id)
            m.model = b.optionalString(model)
            m.provider = b.optionalString(provider)
            m.text = b.optionalString(text)
            m.reasoning = b.optionalString(reasoning)
            m.n_tool_calls = toolCalls.count
            m.tool_calls = b.messages(toolCalls)
            m.finish_reason = Modelgate__V1__FinishReason(wire: finishReason.rawValue)
            m.provider_finish_reason = b.optionalString(providerFinishReason)
            m.usage = usage.cMessage(b)
        }
    }
}

extension ChatChunk: ProtobufCMessageConvertible {
    static let protoName = "modelgate.v1.ChatChunk"

    static func unpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>, _ n: Int, _ d: UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Modelgate__V1__ChatChunk>?
    { modelgate__v1__chat_chunk__unpack(a, n, d) }

    init(_ m: borrowing Modelgate__V1__ChatChunk, reader: CMessageReader) throws(WireDecodingError) {
        self.init(
            sequence: m.sequence,
            text: try reader.string(m.text, field: "text"),
            reasoning: try reader.string(m.reasoning, field: "reasoning"),
            toolCallDeltas: try reader.messages(m.tool_call_deltas, count: m.n_tool_call_deltas) {
                (p) throws(WireDecodingError) in try ToolCallDelta(p, reader: reader)
            },
            id: try reader.string(m.id, field: "id"),
            model: try reader.string(m.model, field: "model"),
            provider: try reader.string(m.provider, field: "provider"),
            isFinal: m.final != 0,
            finishReason: FinishReason(wireValue: m.finish_reason.wire),
            providerFinishReason: try reader.string(m.provider_finish_reason, field: "provider_finish_reason"),
            usage: try m.usage.map { (p) throws(WireDecodingError) in try Usage(p.pointee, reader: reader) },
            toolCalls: try reader.messages(m.tool_calls, count: m.n_tool_calls) { (p) throws(WireDecodingError) in
                try ToolCall(p, reader: reader)
            })
    }

    func cMessage(_ b: CMessageBuilder) -> UnsafeMutablePointer<Modelgate__V1__ChatChunk> {
        b.message(modelgate__v1__chat_chunk__init) { m in
            m.sequence = sequence
            m.text = b.optionalString(text)
            m.reasoning = b.optionalString(reasoning)
            m.n_tool_call_deltas = toolCallDeltas.count
            m.tool_call_deltas = b.messages(toolCallDeltas)
            m.id = b.optionalString(id)
            m.model = b.optionalString(model)
            m.provider = b.optionalString(provider)
            m.final = isFinal ? 1 : 0
            m.finish_reason = Modelgate__V1__FinishReason(wire: finishReason.rawValue)
            m.provider_finish_reason = b.optionalString(providerFinishReason)
            m.usage = usage?.cMessage(b)
            m.n_tool_calls = toolCalls.count
            m.tool_calls = b.messages(toolCalls)
        }
    }
}
