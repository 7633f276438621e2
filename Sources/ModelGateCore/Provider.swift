/// What a provider adapter reports while streaming a chat response.
///
/// Adapters translate their provider's stream (SSE, NDJSON, event-stream) into these events;
/// ``ChatStreamAssembler`` turns them into numbered ``ChatChunk``s and the final chunk.
package enum ChatStreamEvent: Sendable, Hashable {
    /// The provider's response id and the model that answered. Sent at most once, first.
    case started(id: String, model: String)
    /// Newly generated text, reasoning or tool-call fragments.
    case delta(ChatDelta)
    /// The provider's finish reason arrived.
    case finished(FinishReason, providerReason: String)
    /// The provider reported usage. Later reports replace earlier ones.
    case usage(Usage)
}

/// Output generated since the previous delta.
package struct ChatDelta: Sendable, Hashable {
    package var text: String
    package var reasoning: String
    package var toolCalls: [ToolCallDelta]

    package init(text: String = "", reasoning: String = "", toolCalls: [ToolCallDelta] = []) {
        self.text = text
        self.reasoning = reasoning
        self.toolCalls = toolCalls
    }

    package var isEmpty: Bool {
        text.isEmpty && reasoning.isEmpty && toolCalls.isEmpty
    }
}

/// Receives a streamed response's events. `send` suspends while the caller's flow-control
/// window is exhausted, which is how backpressure reaches the provider, and throws once the
/// call has been cancelled.
package protocol ChatEventSink: Sendable {
    func send(_ event: ChatStreamEvent) async throws
    /// Sends events in order; what one network read decoded, in one call.
    func send(contentsOf events: [ChatStreamEvent]) async throws
}

extension ChatEventSink {
    package func send(contentsOf events: [ChatStreamEvent]) async throws {
        for event in events {
            try await send(event)
        }
    }
}

/// Per-call information every adapter may need.
package struct CallContext: Sendable {
    /// The gateway's id for the call; adapters forward it upstream (`X-Request-Id`).
    package var requestID: String
    /// When the caller stops waiting; nil for no deadline.
    package var deadline: ContinuousClock.Instant?
    /// The call's metadata (from the CALL frame).
    package var metadata: [String: String]

    package init(requestID: String, deadline: ContinuousClock.Instant? = nil, metadata: [String: String] = [:]) {
        self.requestID = requestID
        self.deadline = deadline
        self.metadata = metadata
    }
}

/// A model served by one provider: where a call for a model name is sent.
package struct Deployment: Sendable {
    /// The model name the gateway serves it under.
    package var modelName: String
    /// The model id sent to the provider.
    package var upstreamModel: String
    /// The adapter that talks to the provider.
    package var provider: any ModelProvider
    /// Prices used to compute `Usage.costUSD`; nil when unknown.
    package var pricing: Pricing?

    package init(modelName: String, upstreamModel: String, provider: any ModelProvider, pricing: Pricing? = nil) {
        self.modelName = modelName
        self.upstreamModel = upstreamModel
        self.provider = provider
        self.pricing = pricing
    }
}

/// Token prices of a model, in US dollars per million tokens.
package struct Pricing: Sendable, Hashable {
    package var inputPerMillion: Double
    package var outputPerMillion: Double
    package var cachedInputPerMillion: Double?

    package init(inputPerMillion: Double, outputPerMillion: Double, cachedInputPerMillion: Double? = nil) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
    }

    /// The cost of `usage`; cached input tokens are charged at the cached rate when one is set.
    package func cost(of usage: Usage) -> Double {
        let cached = Double(min(usage.cachedInputTokens, usage.inputTokens))
        let uncached = Double(usage.inputTokens) - cached
        let cachedRate = cachedInputPerMillion ?? inputPerMillion
        return (uncached * inputPerMillion + cached * cachedRate + Double(usage.outputTokens) * outputPerMillion)
            / 1_000_000
    }
}

/// An adapter between the unified API and one provider's wire format.
///
/// Methods throw ``GatewayError`` for every failure the caller should see; any other error
/// becomes INTERNAL. A streaming method returns normally only after the provider's own end
/// marker arrived: a stream that stops early must throw.
package protocol ModelProvider: Sendable {
    /// The provider's name in the configuration, reported in responses and errors.
    var name: String { get }

    func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws -> ChatResponse

    /// The request is consumed: an adapter lets it go once it has built the provider's
    /// request, so a long prompt is not held for the whole stream.
    func chatStream(
        _ request: consuming ChatRequest,
        deployment: Deployment,
        context: CallContext,
        into sink: any ChatEventSink
    ) async throws

    func embed(_ request: EmbedRequest, deployment: Deployment, context: CallContext) async throws -> EmbedResponse

    func predict(_ request: PredictRequest, deployment: Deployment, context: CallContext) async throws
        -> PredictResponse
}

extension ModelProvider {
    package func embed(_ request: EmbedRequest, deployment: Deployment, context: CallContext) async throws
        -> EmbedResponse
    {
        throw GatewayError.unsupported("embeddings", provider: name)
    }

    package func predict(_ request: PredictRequest, deployment: Deployment, context: CallContext) async throws
        -> PredictResponse
    {
        throw GatewayError.unsupported("predict", provider: name)
    }
}
