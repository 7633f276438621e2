import ModelGateCore

/// The built-in `mock` provider: answers without any network, deterministically.
///
/// Its reply is `tokens` words of "The quick brown fox jumps over the lazy dog." (cycling), one
/// per chunk, optionally paced. Call metadata overrides the settings per call
/// (docs/configuration.md), which tests and benchmarks use to shape load and inject errors.
package struct MockProvider: ModelProvider {
    package struct Configuration: Sendable, Hashable {
        package var tokens: Int
        package var interval: Duration

        package init(tokens: Int = 16, interval: Duration = .zero) {
            self.tokens = tokens
            self.interval = interval
        }
    }

    package let name: String
    package let configuration: Configuration

    private static let words = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog."]
    /// Upper bound on `mock-tokens`, so a call cannot ask the gateway for unbounded work.
    private static let maxTokens = 1_000_000

    package init(name: String = "mock", configuration: Configuration = Configuration()) {
        self.name = name
        self.configuration = configuration
    }

    /// The text of token `index` in a reply of `count` tokens.
    package static func token(_ index: Int, of count: Int) -> String {
        let word = words[index % words.count]
        return index == count - 1 ? word : word + " "
    }

    package func chat(_ request: ChatRequest, deployment: Deployment, context: CallContext) async throws
        -> ChatResponse
    {
        let plan = try Plan(configuration: configuration, metadata: context.metadata, provider: name)
        var text = ""
        for index in 0..<plan.tokens {
            try await plan.pause(before: index)
            try plan.failIfDue(after: index)
            text += Self.token(index, of: plan.tokens)
        }
        try plan.failIfDue(after: plan.tokens)
        return ChatResponse(
            id: "mock-\(context.requestID)", model: deployment.upstreamModel, provider: name, text: text,
            finishReason: .stop, providerFinishReason: "stop", usage: usage(promptWords: Self.promptWords(of: request), outputTokens: plan.tokens))
    }

    package func chatStream(
        _ request: consuming ChatRequest, deployment: Deployment, context: CallContext, into sink: any ChatEventSink
    ) async throws {
        let plan = try Plan(configuration: configuration, metadata: context.metadata, provider: name)
        let promptWords = Self.promptWords(of: request)
        _ = consume request
        try await sink.send(.started(id: "mock-\(context.requestID)", model: deployment.upstreamModel))
        for index in 0..<plan.tokens {
            try await plan.pause(before: index)
            try plan.failIfDue(after: index)
            try await sink.send(.delta(ChatDelta(text: Self.token(index, of: plan.tokens))))
        }
        try plan.failIfDue(after: plan.tokens)
        try await sink.send(.finished(.stop, providerReason: "stop"))
        try await sink.send(.usage(usage(promptWords: promptWords, outputTokens: plan.tokens)))
    }

    package func embed(_ request: EmbedRequest, deployment: Deployment, context: CallContext) async throws
        -> EmbedResponse
    {
        let dimensions = Int(request.dimensions ?? 8)
        let embeddings = request.inputs.enumerated().map { index, _ in
            Embedding(index: UInt32(index), values: (0..<dimensions).map { Float(index + 1) * 0.001 * Float($0 + 1) })
        }
        let words = request.inputs.reduce(0) { $0 + Self.wordCount($1) }
        return EmbedResponse(
            embeddings: embeddings, model: deployment.upstreamModel, provider: name,
            usage: Usage(inputTokens: UInt32(clamping: words), source: .gateway))
    }

    /// Whitespace-separated words, counted on bytes (ASCII space, tab, CR, LF).
    private static func wordCount(_ text: String) -> Int {
        var count = 0
        var inWord = false
        for byte in text.utf8 {
            let space = byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
            if !space && !inWord { count += 1 }
            inWord = !space
        }
        return count
    }

    /// The words of the request's text parts: the mock's input token count.
    private static func promptWords(of request: ChatRequest) -> Int {
        var words = 0
        for message in request.messages {
            for case .text(let text) in message.parts {
                words += wordCount(text)
            }
        }
        return words
    }

    private func usage(promptWords: Int, outputTokens: Int) -> Usage {
        Usage(inputTokens: UInt32(clamping: promptWords), outputTokens: UInt32(clamping: outputTokens), source: .gateway)
    }

    /// One call's behaviour: configuration overridden by call metadata.
    private struct Plan {
        var tokens: Int
        var interval: Duration
        var firstTokenDelay: Duration
        var error: GatewayError?
        var errorAfter: Int

        init(configuration: Configuration, metadata: [String: String], provider: String) throws(GatewayError) {
            tokens = configuration.tokens
            interval = configuration.interval
            firstTokenDelay = .zero
            errorAfter = 0
            if let value = metadata["mock-tokens"] {
                tokens = try Self.integer(value, key: "mock-tokens", max: MockProvider.maxTokens)
            }
            if let value = metadata["mock-interval-ms"] {
                interval = .milliseconds(try Self.integer(value, key: "mock-interval-ms", max: 3_600_000))
            }
            if let value = metadata["mock-first-token-ms"] {
                firstTokenDelay = .milliseconds(try Self.integer(value, key: "mock-first-token-ms", max: 3_600_000))
            }
            if let value = metadata["mock-error-after"] {
                errorAfter = try Self.integer(value, key: "mock-error-after", max: MockProvider.maxTokens)
            }
            if let name = metadata["mock-error"] {
                guard let code = StatusCode.allCases.first(where: { $0.description == name }), code != .ok else {
                    throw GatewayError.invalidRequest("mock-error: unknown status name \"\(name)\"")
                }
                var error = GatewayError(code, Self.kind(for: code), "mock error \(name)", retryable: Self.retryable(code))
                error.detail.provider = provider
                if let value = metadata["mock-retry-after-ms"] {
                    error.detail.retryAfterMilliseconds = UInt32(
                        try Self.integer(value, key: "mock-retry-after-ms", max: Int(UInt32.max)))
                }
                self.error = error
            }
        }

        func pause(before index: Int) async throws {
            let delay = index == 0 ? firstTokenDelay : interval
            if delay > .zero {
                try await Task.sleep(for: delay)
            }
        }

        func failIfDue(after delivered: Int) throws(GatewayError) {
            if let error, delivered == min(errorAfter, tokens) {
                throw error
            }
        }

        private static func integer(_ value: String, key: String, max: Int) throws(GatewayError) -> Int {
            guard let number = Int(value), number >= 0, number <= max else {
                throw GatewayError.invalidRequest("\(key) must be an integer from 0 to \(max), got \"\(value)\"")
            }
            return number
        }

        private static func kind(for code: StatusCode) -> ErrorKind {
            switch code {
            case .cancelled: .cancelled
            case .invalidArgument, .outOfRange, .alreadyExists: .invalidRequest
            case .deadlineExceeded: .deadlineExceeded
            case .notFound: .upstreamNotFound
            case .permissionDenied: .upstreamPermission
            case .resourceExhausted: .rateLimited
            case .failedPrecondition: .upstreamAuth
            case .aborted: .upstreamConflict
            case .unimplemented: .unsupportedFeature
            case .unavailable: .upstreamUnavailable
            case .unauthenticated: .upstreamAuth
            case .ok, .unknown, .internal, .dataLoss: .internal
            }
        }

        private static func retryable(_ code: StatusCode) -> Bool {
            code == .unavailable || code == .resourceExhausted || code == .aborted
        }
    }
}
