import Logging
import ModelGateCore
import ModelGateWire
import Synchronization

/// Whether the gateway is serving or draining, for Health; and how many calls are running,
/// so memory can be handed back to the system once the gateway goes idle.
final class ServingState: Sendable {
    private let draining = Atomic<Bool>(false)
    private let runningCalls = Atomic<Int>(0)
    /// Calls finished since memory was last trimmed.
    private let finishedSinceTrim = Atomic<Int>(0)
    let startedAt = ContinuousClock.now

    func callStarted() {
        runningCalls.add(1, ordering: .relaxed)
    }

    func callFinished() {
        runningCalls.subtract(1, ordering: .relaxed)
        finishedSinceTrim.add(1, ordering: .relaxed)
    }

    /// True, once, when calls ran since the last time and none is running now.
    func becameIdle() -> Bool {
        guard runningCalls.load(ordering: .relaxed) == 0 else { return false }
        return finishedSinceTrim.exchange(0, ordering: .relaxed) > 0
    }

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    func startDraining() {
        draining.store(true, ordering: .relaxed)
    }
}

/// Carries a decoded call into its task exactly once.
///
/// `@unchecked Sendable`: written before the task starts, emptied by that task alone.
final class CallHandOver: @unchecked Sendable {
    private var call: GatewayCall?

    init(_ call: GatewayCall) {
        self.call = call
    }

    func take() -> GatewayCall {
        guard let call = call.take() else { preconditionFailure("a call is taken once") }
        return call
    }
}

/// Runs decoded calls: routes each to its provider and answers on the call's stream.
///
/// Every path ends the stream exactly once. A ChatStream that reached a provider always sends
/// its final chunk (with usage) before END, whatever the outcome.
struct CallDispatcher: Sendable {
    let registry: ModelRegistry
    let serving: ServingState
    let logger: Logger

    /// Each kind of call runs in its own function, kept out of line: a call's task holds the
    /// async frames of what it is running, and one function for every kind would give every
    /// stream the frame space of all of them (7.6 KiB, measured), which adds up over thousands
    /// of open streams.
    ///
    /// The call is consumed, so that what it carries (a long prompt) is held only as long as
    /// the provider needs it, not for the whole stream.
    func run(_ call: consuming GatewayCall, context: CallContext, stream: StreamHandle) async {
        serving.callStarted()
        defer { serving.callFinished() }
        switch consume call {
        case .chat(let request):
            await chat(request, context: context, stream: stream)
        case .chatStream(let request):
            await chatStream(request, context: context, stream: stream)
        case .embed(let request):
            await embed(request, context: context, stream: stream)
        case .predict(let request):
            await predict(request, context: context, stream: stream)
        case .listModels:
            await listModels(context: context, stream: stream)
        case .health:
            await health(context: context, stream: stream)
        }
    }

    @inline(never)
    private func chat(_ request: ChatRequest, context: CallContext, stream: StreamHandle) async {
        await unary(stream, context) {
            let deployment = try registry.deployment(for: request.model, kind: .chat)
            var response = try await deployment.provider.chat(request, deployment: deployment, context: context)
            price(&response.usage, deployment)
            return response
        }
    }

    @inline(never)
    private func embed(_ request: EmbedRequest, context: CallContext, stream: StreamHandle) async {
        await unary(stream, context) {
            let deployment = try registry.deployment(for: request.model, kind: .embedding)
            var response = try await deployment.provider.embed(request, deployment: deployment, context: context)
            price(&response.usage, deployment)
            return response
        }
    }

    @inline(never)
    private func predict(_ request: PredictRequest, context: CallContext, stream: StreamHandle) async {
        await unary(stream, context) {
            let deployment = try registry.deployment(for: request.model, kind: .predictive)
            return try await deployment.provider.predict(request, deployment: deployment, context: context)
        }
    }

    @inline(never)
    private func listModels(context: CallContext, stream: StreamHandle) async {
        await unary(stream, context) { ListModelsResponse(models: registry.all) }
    }

    @inline(never)
    private func health(context: CallContext, stream: StreamHandle) async {
        await unary(stream, context) {
            HealthStatus(
                status: serving.isDraining ? .draining : .serving, version: ModelGateVersion.current,
                uptimeSeconds: UInt64(max(0, (ContinuousClock.now - serving.startedAt).components.seconds)))
        }
    }

    /// The cost of what the provider reported, by the deployment's pricing.
    private func price(_ usage: inout Usage, _ deployment: Deployment) {
        if let pricing = deployment.pricing, usage.source != .notReported {
            usage.costUSD = pricing.cost(of: usage)
        }
    }

    private func unary<M: WireMessage>(
        _ stream: StreamHandle, _ context: CallContext, _ body: () async throws -> M
    ) async {
        do {
            let response = try await body()
            if let stopped = await stream.cancellation, let error = stopped.error {
                stream.finish(EndStatus(error))
                return
            }
            try await stream.send(response, flush: false)
            stream.finish(.ok)
        } catch {
            stream.finish(EndStatus(await gatewayError(for: error, stream: stream, context: context)))
        }
    }

    @inline(never)
    private func chatStream(_ request: consuming ChatRequest, context: CallContext, stream: StreamHandle) async {
        let deployment: Deployment
        do {
            deployment = try registry.deployment(for: request.model, kind: .chat)
        } catch {
            stream.finish(EndStatus(error))
            return
        }
        let sink = StreamSink(
            stream: stream,
            assembler: ChatStreamAssembler(
                provider: deployment.provider.name, model: deployment.upstreamModel, pricing: deployment.pricing))
        let failure = await relay(consume request, deployment: deployment, context: context, stream: stream, into: sink)
        await end(stream, sink: sink, failure: failure, context: context)
    }

    /// Runs the provider's stream into `sink`; the error the stream ends with, if any.
    @inline(never)
    private func relay(
        _ request: consuming ChatRequest, deployment: Deployment, context: CallContext, stream: StreamHandle,
        into sink: StreamSink
    ) async -> GatewayError? {
        do {
            try await deployment.provider.chatStream(consume request, deployment: deployment, context: context, into: sink)
            return await stream.cancellation?.error
        } catch {
            return await gatewayError(for: error, stream: stream, context: context)
        }
    }

    /// Sends the final chunk and END. Out of line, so the final chunk takes no room in the
    /// frame that lives as long as the stream.
    @inline(never)
    private func end(_ stream: StreamHandle, sink: StreamSink, failure: GatewayError?, context: CallContext) async {
        var failure = failure
        if var error = failure, sink.deliveredChunks > 0 {
            // The caller already has part of the answer; sending the request again would repeat it.
            error.detail.retryable = false
            failure = error
        }
        let final = sink.finalChunk(error: failure)
        try? await stream.send(final, flowControlled: false, flush: false)
        stream.finish(failure.map(EndStatus.init) ?? .ok)
        if let failure, failure.code == .internal || failure.code == .unknown {
            logger.error(
                "chat stream failed", metadata: ["mg.request_id": "\(context.requestID)", "error": "\(failure)"])
        }
    }

    /// The error a failed call ends with. A stopped stream's reason wins over whatever the
    /// provider threw while being stopped.
    private func gatewayError(for error: any Error, stream: StreamHandle, context: CallContext) async -> GatewayError {
        if let stopped = await stream.cancellation {
            return stopped.error ?? .cancelled()
        }
        if let error = error as? GatewayError {
            return error
        }
        if error is CancellationError {
            return .cancelled()
        }
        logger.error("call failed", metadata: ["mg.request_id": "\(context.requestID)", "error": "\(error)"])
        return .internalError("internal error (request \(context.requestID))")
    }
}
