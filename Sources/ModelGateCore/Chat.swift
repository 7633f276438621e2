/// Who authored a message (`modelgate.v1.Role`).
package enum Role: Int32, Sendable, Hashable {
    case unspecified = 0
    case system = 1
    case user = 2
    case assistant = 3
    case tool = 4
    case developer = 5

    package init(wireValue: Int32) {
        self = Role(rawValue: wireValue) ?? .unspecified
    }
}

/// A tool call made by the model, with complete arguments.
package struct ToolCall: Sendable, Hashable {
    package var id: String
    package var name: String
    /// The arguments as JSON object text, exactly as the model produced it.
    package var argumentsJSON: String

    package init(id: String, name: String, argumentsJSON: String) {
        self.id = id
        self.name = name
        self.argumentsJSON = argumentsJSON
    }
}

/// The result of running a tool, sent back to the model.
package struct ToolResult: Sendable, Hashable {
    package var toolCallID: String
    package var content: String
    package var isError: Bool

    package init(toolCallID: String, content: String, isError: Bool = false) {
        self.toolCallID = toolCallID
        self.content = content
        self.isError = isError
    }
}

/// One piece of a message's content.
package enum ContentPart: Sendable, Hashable {
    case text(String)
    case imageData(bytes: [UInt8], mimeType: String)
    case imageURL(url: String, detail: String)
    case toolCall(ToolCall)
    case toolResult(ToolResult)
}

/// One turn of a conversation.
package struct ChatMessage: Sendable, Hashable {
    package var role: Role
    package var parts: [ContentPart]
    package var name: String
    /// For tool messages: the call being answered.
    package var toolCallID: String

    package init(role: Role, parts: [ContentPart], name: String = "", toolCallID: String = "") {
        self.role = role
        self.parts = parts
        self.name = name
        self.toolCallID = toolCallID
    }

    /// A message with a single text part.
    package init(role: Role, text: String) {
        self.init(role: role, parts: [.text(text)])
    }

    /// The concatenation of the message's text parts.
    package var text: String {
        var result = ""
        for case .text(let text) in parts {
            result += text
        }
        return result
    }
}

/// A function the model may call.
package struct ToolDefinition: Sendable, Hashable {
    package var name: String
    package var description: String
    /// JSON Schema of the arguments, as JSON text; empty means no parameters.
    package var parametersJSON: String
    package var strict: Bool

    package init(name: String, description: String = "", parametersJSON: String = "", strict: Bool = false) {
        self.name = name
        self.description = description
        self.parametersJSON = parametersJSON
        self.strict = strict
    }
}

/// How the model should choose among tools.
package enum ToolChoice: Sendable, Hashable {
    case providerDefault
    case auto
    case none
    case required
    case function(String)
}

/// The shape the reply must take.
package enum ResponseFormat: Sendable, Hashable {
    case text
    case jsonObject
    case jsonSchema(name: String, schemaJSON: String, strict: Bool)
}

/// Caching hints.
package struct CacheHint: Sendable, Hashable {
    package var bypass: Bool
    package var ttlSeconds: UInt32

    package init(bypass: Bool = false, ttlSeconds: UInt32 = 0) {
        self.bypass = bypass
        self.ttlSeconds = ttlSeconds
    }
}

/// Routing hints; they only choose among configured deployments.
package struct RoutingHint: Sendable, Hashable {
    package var fallbackModels: [String]
    package var preferProvider: String

    package init(fallbackModels: [String] = [], preferProvider: String = "") {
        self.fallbackModels = fallbackModels
        self.preferProvider = preferProvider
    }
}

/// A provider-neutral chat request (`modelgate.v1.ChatRequest`).
package struct ChatRequest: Sendable, Hashable {
    package var model: String
    package var messages: [ChatMessage]
    package var tools: [ToolDefinition]
    package var toolChoice: ToolChoice
    package var responseFormat: ResponseFormat
    package var temperature: Float?
    package var topP: Float?
    package var maxTokens: UInt32?
    package var seed: Int64?
    package var presencePenalty: Float?
    package var frequencyPenalty: Float?
    package var topK: UInt32?
    package var parallelToolCalls: Bool?
    package var stop: [String]
    package var user: String
    package var tenant: String
    package var priority: Int32
    package var metadata: [String: String]
    package var cache: CacheHint
    package var routing: RoutingHint

    package init(
        model: String,
        messages: [ChatMessage],
        tools: [ToolDefinition] = [],
        toolChoice: ToolChoice = .providerDefault,
        responseFormat: ResponseFormat = .text,
        temperature: Float? = nil,
        topP: Float? = nil,
        maxTokens: UInt32? = nil,
        seed: Int64? = nil,
        presencePenalty: Float? = nil,
        frequencyPenalty: Float? = nil,
        topK: UInt32? = nil,
        parallelToolCalls: Bool? = nil,
        stop: [String] = [],
        user: String = "",
        tenant: String = "",
        priority: Int32 = 0,
        metadata: [String: String] = [:],
        cache: CacheHint = CacheHint(),
        routing: RoutingHint = RoutingHint()
    ) {
        self.model = model
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.responseFormat = responseFormat
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.seed = seed
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.topK = topK
        self.parallelToolCalls = parallelToolCalls
        self.stop = stop
        self.user = user
        self.tenant = tenant
        self.priority = priority
        self.metadata = metadata
        self.cache = cache
        self.routing = routing
    }
}

/// Why generation stopped (`modelgate.v1.FinishReason`).
package enum FinishReason: Int32, Sendable, Hashable {
    case unspecified = 0
    case stop = 1
    case length = 2
    case toolCalls = 3
    case contentFilter = 4
    case error = 5
    case cancelled = 6

    package init(wireValue: Int32) {
        self = FinishReason(rawValue: wireValue) ?? .unspecified
    }
}

/// Where usage numbers come from (`modelgate.v1.UsageSource`).
package enum UsageSource: Int32, Sendable, Hashable {
    case unspecified = 0
    case provider = 1
    case notReported = 2
    case gateway = 3

    package init(wireValue: Int32) {
        self = UsageSource(rawValue: wireValue) ?? .unspecified
    }
}

/// Token accounting for one call (`modelgate.v1.Usage`).
package struct Usage: Sendable, Hashable {
    package var inputTokens: UInt32
    package var outputTokens: UInt32
    package var cachedInputTokens: UInt32
    package var cacheWriteInputTokens: UInt32
    package var reasoningTokens: UInt32
    package var totalTokens: UInt32
    package var source: UsageSource
    package var costUSD: Double?
    package var deliveredChunks: UInt32

    package init(
        inputTokens: UInt32 = 0,
        outputTokens: UInt32 = 0,
        cachedInputTokens: UInt32 = 0,
        cacheWriteInputTokens: UInt32 = 0,
        reasoningTokens: UInt32 = 0,
        totalTokens: UInt32? = nil,
        source: UsageSource,
        costUSD: Double? = nil,
        deliveredChunks: UInt32 = 0
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheWriteInputTokens = cacheWriteInputTokens
        self.reasoningTokens = reasoningTokens
        self.totalTokens = totalTokens ?? (inputTokens &+ outputTokens)
        self.source = source
        self.costUSD = costUSD
        self.deliveredChunks = deliveredChunks
    }

    /// Usage for a call whose provider reported nothing: zero counts, marked as such.
    package static let notReported = Usage(source: .notReported)
}

/// A complete chat response (`modelgate.v1.ChatResponse`).
package struct ChatResponse: Sendable, Hashable {
    package var id: String
    package var model: String
    package var provider: String
    package var text: String
    package var reasoning: String
    package var toolCalls: [ToolCall]
    package var finishReason: FinishReason
    package var providerFinishReason: String
    package var usage: Usage

    package init(
        id: String = "",
        model: String = "",
        provider: String = "",
        text: String = "",
        reasoning: String = "",
        toolCalls: [ToolCall] = [],
        finishReason: FinishReason = .unspecified,
        providerFinishReason: String = "",
        usage: Usage = .notReported
    ) {
        self.id = id
        self.model = model
        self.provider = provider
        self.text = text
        self.reasoning = reasoning
        self.toolCalls = toolCalls
        self.finishReason = finishReason
        self.providerFinishReason = providerFinishReason
        self.usage = usage
    }
}

/// A fragment of a streamed tool call (`modelgate.v1.ToolCallDelta`).
package struct ToolCallDelta: Sendable, Hashable {
    package var index: UInt32
    package var id: String
    package var name: String
    package var argumentsFragment: String

    package init(index: UInt32, id: String = "", name: String = "", argumentsFragment: String = "") {
        self.index = index
        self.id = id
        self.name = name
        self.argumentsFragment = argumentsFragment
    }
}

/// One chunk of a streamed chat response (`modelgate.v1.ChatChunk`).
package struct ChatChunk: Sendable, Hashable {
    package var sequence: UInt64
    package var text: String
    package var reasoning: String
    package var toolCallDeltas: [ToolCallDelta]
    package var id: String
    package var model: String
    package var provider: String
    package var isFinal: Bool
    package var finishReason: FinishReason
    package var providerFinishReason: String
    package var usage: Usage?
    package var toolCalls: [ToolCall]

    package init(
        sequence: UInt64,
        text: String = "",
        reasoning: String = "",
        toolCallDeltas: [ToolCallDelta] = [],
        id: String = "",
        model: String = "",
        provider: String = "",
        isFinal: Bool = false,
        finishReason: FinishReason = .unspecified,
        providerFinishReason: String = "",
        usage: Usage? = nil,
        toolCalls: [ToolCall] = []
    ) {
        self.sequence = sequence
        self.text = text
        self.reasoning = reasoning
        self.toolCallDeltas = toolCallDeltas
        self.id = id
        self.model = model
        self.provider = provider
        self.isFinal = isFinal
        self.finishReason = finishReason
        self.providerFinishReason = providerFinishReason
        self.usage = usage
        self.toolCalls = toolCalls
    }
}
