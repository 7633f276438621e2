/// Turns a provider's ``ChatStreamEvent``s into the chunks a ChatStream caller receives.
///
/// It numbers chunks without gaps, puts the response id, model and provider on the first
/// chunk, assembles tool-call fragments into complete calls, keeps the last usage the provider
/// reported, and builds the one final chunk every admitted stream ends with, whatever the
/// outcome. It is a value type driven by one task.
package struct ChatStreamAssembler: Sendable {
    package let provider: String
    private let pricing: Pricing?
    private var responseID = ""
    private var model: String
    private var nextSequence: UInt64 = 0
    private var finishReason: FinishReason = .unspecified
    private var providerFinishReason = ""
    private var usage: Usage?
    private var toolCalls: [UInt32: ToolCall] = [:]
    private var toolCallOrder: [UInt32] = []
    private var text = ""
    private var reasoning = ""
    private let accumulatesText: Bool

    /// - Parameters:
    ///   - provider: the provider's configured name.
    ///   - model: the model name to report until the provider names one.
    ///   - pricing: prices for the cost of the final usage.
    ///   - accumulatesText: keep the full text, for building a unary ``ChatResponse``.
    package init(provider: String, model: String, pricing: Pricing? = nil, accumulatesText: Bool = false) {
        self.provider = provider
        self.model = model
        self.pricing = pricing
        self.accumulatesText = accumulatesText
    }

    /// The number of chunks produced so far (the final chunk excluded).
    package var deliveredChunks: UInt64 { nextSequence }

    /// Whether the provider sent its finish reason.
    package var hasFinished: Bool { finishReason != .unspecified }

    /// Feeds one event; returns the chunk to send for it, if any.
    package mutating func consume(_ event: ChatStreamEvent) -> ChatChunk? {
        switch event {
        case .started(let id, let model):
            self.responseID = id
            if !model.isEmpty { self.model = model }
            return nil
        case .delta(let delta):
            guard !delta.isEmpty else { return nil }
            for fragment in delta.toolCalls {
                absorb(fragment)
            }
            if accumulatesText {
                text += delta.text
                reasoning += delta.reasoning
            }
            var chunk = ChatChunk(
                sequence: nextSequence, text: delta.text, reasoning: delta.reasoning, toolCallDeltas: delta.toolCalls)
            if nextSequence == 0 {
                chunk.id = responseID
                chunk.model = model
                chunk.provider = provider
            }
            nextSequence += 1
            return chunk
        case .finished(let reason, let providerReason):
            finishReason = reason
            providerFinishReason = providerReason
            return nil
        case .usage(let usage):
            self.usage = usage
            return nil
        }
    }

    /// Takes back the number of the last chunk ``consume(_:)`` produced, because it could not be
    /// sent (the stream was stopped meanwhile), so the final chunk follows the last chunk the
    /// caller actually received without a gap.
    package mutating func discardLastChunk() {
        if nextSequence > 0 { nextSequence -= 1 }
    }

    /// The tool calls assembled so far, in the order they started.
    package var assembledToolCalls: [ToolCall] {
        toolCallOrder.compactMap { toolCalls[$0] }
    }

    /// The usage to report: the provider's last report, or `notReported`; with cost and the
    /// number of delivered chunks filled in.
    package var finalUsage: Usage {
        var result = usage ?? .notReported
        if let pricing, result.source != .notReported {
            result.costUSD = pricing.cost(of: result)
        }
        result.deliveredChunks = UInt32(clamping: nextSequence)
        return result
    }

    /// The last chunk of the stream.
    /// - Parameter error: the error the stream ends with, or nil on success.
    package mutating func finalChunk(error: GatewayError?) -> ChatChunk {
        var reason = finishReason
        if let error {
            reason = error.code == .cancelled || error.code == .deadlineExceeded ? .cancelled : .error
        }
        var chunk = ChatChunk(
            sequence: nextSequence,
            isFinal: true,
            finishReason: reason,
            providerFinishReason: providerFinishReason,
            usage: finalUsage,
            toolCalls: assembledToolCalls)
        if nextSequence == 0 {
            chunk.id = responseID
            chunk.model = model
            chunk.provider = provider
        }
        nextSequence += 1
        return chunk
    }

    /// The whole response, for unary calls built on a stream.
    package func response() -> ChatResponse {
        ChatResponse(
            id: responseID,
            model: model,
            provider: provider,
            text: text,
            reasoning: reasoning,
            toolCalls: assembledToolCalls,
            finishReason: finishReason,
            providerFinishReason: providerFinishReason,
            usage: {
                var usage = finalUsage
                usage.deliveredChunks = 0
                return usage
            }())
    }

    private mutating func absorb(_ fragment: ToolCallDelta) {
        if var call = toolCalls[fragment.index] {
            if !fragment.id.isEmpty { call.id = fragment.id }
            if !fragment.name.isEmpty { call.name = fragment.name }
            call.argumentsJSON += fragment.argumentsFragment
            toolCalls[fragment.index] = call
        } else {
            toolCalls[fragment.index] = ToolCall(
                id: fragment.id, name: fragment.name, argumentsJSON: fragment.argumentsFragment)
            toolCallOrder.append(fragment.index)
        }
    }
}
