import NIOCore
import NIOHTTP1

/// What happens before the response head: the `first_ms` wait and the faults that fire before
/// any byte is sent.
struct Preamble {
    var headerDelayMilliseconds = 0
    /// When the first body byte is due, relative to the request start (pacing counts from here).
    var bodyBaseMilliseconds = 0
    var stallHeaders = false
    var resetBeforeHeaders = false
}

/// A response to produce, with what to log about it.
struct PlannedResponse {
    var seq: Int?
    var producer: any ResponseProducer
    var preamble = Preamble()
    /// A close-delimited body (HTTP/1.0 streams) ends by closing, so the connection cannot stay.
    var closesConnection = false
}

/// Everything shared by all connections. Immutable or internally locked, so it is `Sendable`.
final class ServerCore: Sendable {
    let log: FakeUpstreamEventLog
    let fixtures: FixtureStore
    let maxRequestBodyBytes: Int

    init(log: FakeUpstreamEventLog, fixtures: FixtureStore, maxRequestBodyBytes: Int) {
        self.log = log
        self.fixtures = fixtures
        self.maxRequestBodyBytes = maxRequestBodyBytes
    }

    /// Unary chat answers build their content in memory, so they get a lower ceiling than streams.
    static let maxUnaryTokens = 1_000_000
    static let maxEmbeddingInputs = 2048
    static let maxEmbeddingDimensions = 16_384

    // MARK: Provider endpoints

    /// Logs the request and plans its response. `streamFraming` is `.chunked`, or
    /// `.closeDelimited` for HTTP/1.0 clients.
    func plan(
        head: HTTPRequestHead, path: Substring, body: ByteBuffer?, keepAlive: Bool, streamFraming: BodyFraming,
        allocator: ByteBufferAllocator
    ) -> PlannedResponse {
        let scan = body.map { RequestScanner.scan($0) } ?? .success(RequestFields())
        let fields = (try? scan.get()) ?? RequestFields()
        let headerScenario = head.headers.first(name: "x-fake-scenario")
        // Gemini and Ollama endpoints (ProviderRoutes.swift); Gemini's model is in the path.
        let route = ProviderRoute(path: path, uri: head.uri)
        let pathScenario = route?.scenario(fromPath: path)
        let bedrockRoute = route == nil ? BedrockRoute.parse(path) : nil
        let kserveRoute = route == nil && bedrockRoute == nil ? KServeRoute.parse(path) : nil
        let scenarioText =
            headerScenario ?? pathScenario ?? fields.model ?? Self.modelFromPath(path) ?? bedrockRoute?.model
        let seq = self.log.begin(
            method: head.method.rawValue, path: head.uri, headers: head.headers, body: body,
            requestID: head.headers.first(name: "x-request-id"), model: fields.model, scenario: scenarioText,
            stream: route?.streams(fields) ?? fields.stream)

        var baseHead = ResponseHead()
        baseHead.requestSeq = seq
        baseHead.close = !keepAlive
        baseHead.keepAliveHeader = keepAlive && head.version.minor == 0

        func failure(_ status: Int, _ error: OpenAIError) -> PlannedResponse {
            var errorHead = baseHead
            errorHead.status = status
            return PlannedResponse(
                seq: seq,
                producer: FixedResponse(head: errorHead, body: error.body(allocator: allocator), finalOutcome: .error))
        }

        let scenario: Scenario
        switch Scenario.parse(scenarioText ?? "", allowingModelName: headerScenario == nil) {
        case .failure(let error):
            return failure(
                400,
                OpenAIError(
                    message: error.message, type: "invalid_request_error",
                    param: headerScenario != nil ? "x-fake-scenario" : "model", code: error.code))
        case .success(let parsed):
            scenario = parsed
        }
        baseHead.retryAfter = scenario.retryAfter
        baseHead.retryAfterMilliseconds = scenario.retryAfterMilliseconds
        var preamble = Preamble(
            headerDelayMilliseconds: scenario.firstMilliseconds, bodyBaseMilliseconds: scenario.firstMilliseconds,
            stallHeaders: scenario.stallHeaders, resetBeforeHeaders: false)

        // Azure checks the key and the API version before anything else, replays included.
        if let route, let rejection = AzureWire.rejection(route: route, head: head) {
            var rejectionHead = baseHead
            rejectionHead.status = rejection.status
            return PlannedResponse(
                seq: seq, producer: FixedResponse(head: rejectionHead, body: rejection.error.body(allocator: allocator)))
        }

        // A replay serves any path: the fixtures are other providers' streams.
        if let name = scenario.replay {
            var file: ByteBuffer
            switch self.fixtures.load(name) {
            case .success(let contents):
                file = contents
            case .failure(.badName):
                return failure(400, Self.replayError(name, "must be a plain file name inside the fixtures directory", code: "bad_replay_name"))
            case .failure(.notFound):
                return failure(404, Self.replayError(name, "not found in the fixtures directory", code: "replay_not_found"))
            case .failure(.tooLarge), .failure(.unreadable):
                return failure(500, Self.replayError(name, "could not be read", code: "replay_unreadable"))
            }
            var replayHead = baseHead
            replayHead.status = scenario.status ?? 200
            replayHead.contentType = Self.contentType(forFixture: name)
            var unary = name.hasSuffix(".json")
            if let part = scenario.part {
                guard let extracted = FixtureParts.extract(file, name: name, part: part, allocator: allocator) else {
                    return failure(404, Self.replayError(name, "has no part \"\(part)\"", code: "replay_part_not_found"))
                }
                file = extracted.bytes
                replayHead.contentType = extracted.contentType
                replayHead.status = scenario.status ?? extracted.status ?? 200
                unary = extracted.contentType.hasPrefix("application/json")
            }
            var closesConnection = false
            if unary {
                replayHead.framing = .contentLength(file.readableBytes)
            } else {
                replayHead.framing = streamFraming
                if case .closeDelimited = streamFraming {
                    replayHead.close = true
                    closesConnection = true
                }
            }
            preamble.resetBeforeHeaders = scenario.resetAfter == 0
            return PlannedResponse(
                seq: seq,
                producer: ReplayProducer(
                    head: replayHead, file: file, chunkBytes: scenario.chunkBytes,
                    chunkDelayMilliseconds: scenario.chunkDelayMilliseconds, resetAfter: scenario.resetAfter,
                    stallAfter: scenario.stallAfter),
                preamble: preamble, closesConnection: closesConnection)
        }

        // Unary answers have no tokens to count a fault by: a reset happens before the head, a
        // stall right after it.
        preamble.resetBeforeHeaders = scenario.resetAfter != nil

        if let route {
            return self.plan(
                route,
                RouteContext(
                    seq: seq, method: head.method.rawValue, path: path, baseHead: baseHead, preamble: preamble,
                    scenario: scenario, scan: scan, streamFraming: streamFraming, allocator: allocator))
        }

        if let status = scenario.status {
            var errorHead = baseHead
            errorHead.status = status
            var body = scenario.openAIError(status: status).body(allocator: allocator)
            if bedrockRoute != nil {
                var error = BedrockError.defaults(forStatus: status)
                if let type = scenario.errorType { error.type = type }
                if let message = scenario.errorMessage { error.message = message }
                errorHead.extraHeaders.append(error.header)
                body = error.body(allocator: allocator)
            } else if kserveRoute != nil {
                body = KServeError(message: scenario.errorMessage ?? "fake error with status \(status)").body(allocator: allocator)
            }
            return PlannedResponse(
                seq: seq,
                producer: FixedResponse(head: errorHead, body: body, stallAfterHead: scenario.stallAfter != nil),
                preamble: preamble)
        }

        if scenario.toolCall, bedrockRoute == nil {
            return failure(
                400,
                OpenAIError(
                    message: "scenario flag \"tool_call\" applies only to Bedrock paths", type: "invalid_request_error",
                    param: "model", code: "bad_scenario_combination"))
        }
        if let bedrockRoute {
            return planBedrock(
                route: bedrockRoute.route, model: bedrockRoute.model, scenario: scenario, fields: fields, seq: seq,
                baseHead: baseHead, preamble: preamble, streamFraming: streamFraming, allocator: allocator)
        }
        if let kserveRoute {
            return planKServe(
                route: kserveRoute, method: head.method, body: body, scenario: scenario, seq: seq, baseHead: baseHead,
                preamble: preamble, allocator: allocator)
        }

        let isChat = path.utf8HasSuffix("/chat/completions")
        let isEmbeddings = !isChat && path.utf8HasSuffix("/embeddings")
        guard isChat || isEmbeddings else {
            return failure(
                404,
                OpenAIError(
                    message: "Invalid URL (\(head.method.rawValue) \(path))", type: "invalid_request_error", param: nil,
                    code: nil))
        }
        if case .failure(let error) = scan {
            return failure(
                400,
                OpenAIError(
                    message:
                        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.) \(error.message)",
                    type: "invalid_request_error", param: nil, code: nil))
        }
        let model = fields.model ?? "fake-model"
        let created = WallClock.nowSeconds()

        // A 200 with a body built in full; `malformed_after` swaps in broken JSON.
        func unaryAnswer(_ body: () -> ByteBuffer) -> PlannedResponse {
            var okHead = baseHead
            okHead.status = 200
            let bytes = scenario.malformedAfter != nil ? Self.malformedBody(allocator: allocator) : body()
            return PlannedResponse(
                seq: seq, producer: FixedResponse(head: okHead, body: bytes, stallAfterHead: scenario.stallAfter != nil),
                preamble: preamble)
        }

        if isEmbeddings {
            guard let inputs = fields.inputs, !inputs.isEmpty else {
                return failure(
                    400,
                    OpenAIError(
                        message: "'input' is a required property and must not be empty", type: "invalid_request_error",
                        param: "input", code: nil))
            }
            let dimensions = fields.dimensions ?? 8
            guard inputs.count <= Self.maxEmbeddingInputs, (1...Self.maxEmbeddingDimensions).contains(dimensions) else {
                return failure(
                    400,
                    OpenAIError(
                        message:
                            "the fake upstream answers at most \(Self.maxEmbeddingInputs) inputs of 1...\(Self.maxEmbeddingDimensions) dimensions",
                        type: "invalid_request_error", param: "dimensions", code: nil))
            }
            return unaryAnswer {
                Self.embeddingsBody(
                    model: model, inputs: inputs, dimensions: dimensions, base64: fields.base64Encoding,
                    allocator: allocator)
            }
        }

        if fields.stream {
            var streamHead = baseHead
            streamHead.status = 200
            streamHead.contentType = "text/event-stream; charset=utf-8"
            streamHead.framing = streamFraming
            var closesConnection = false
            if case .closeDelimited = streamFraming {
                streamHead.close = true
                closesConnection = true
            }
            preamble.resetBeforeHeaders = scenario.resetAfter == 0
            var faults = StreamFaults(
                resetAfter: scenario.resetAfter, stallAfter: scenario.stallAfter, malformedAfter: scenario.malformedAfter,
                errorEventAfter: scenario.errorEventAfter, noDone: scenario.noDone)
            faults.errorEvent = scenario.openAIError(status: 500)
            let parameters = TokenStreamProducer.Parameters(
                seq: seq, model: model, created: created, tokens: scenario.tokens,
                paceMilliseconds: scenario.paceMilliseconds, includeUsage: fields.includeUsage && scenario.usage,
                promptTokens: fields.promptWords, faults: faults, finishReason: scenario.finishReason ?? "stop")
            return PlannedResponse(
                seq: seq, producer: TokenStreamProducer(head: streamHead, parameters: parameters, allocator: allocator),
                preamble: preamble, closesConnection: closesConnection)
        }

        guard scenario.tokens <= Self.maxUnaryTokens else {
            return failure(
                400,
                OpenAIError(
                    message: "unary answers are limited to \(Self.maxUnaryTokens) tokens; stream bigger ones",
                    type: "invalid_request_error", param: "model", code: "bad_scenario_value"))
        }
        // A unary answer arrives when its last token would have.
        preamble.headerDelayMilliseconds =
            scenario.firstMilliseconds + scenario.paceMilliseconds * max(scenario.tokens - 1, 0)
        return unaryAnswer {
            Self.chatCompletionBody(
                seq: seq, model: model, created: created, tokens: scenario.tokens, promptTokens: fields.promptWords,
                finishReason: scenario.finishReason ?? "stop", allocator: allocator)
        }
    }

    /// Logs a request whose body went over the limit and answers 413; the rest of the body was
    /// dropped, so the connection closes after.
    func planBodyTooLarge(head: HTTPRequestHead, allocator: ByteBufferAllocator) -> PlannedResponse {
        let seq = self.log.begin(
            method: head.method.rawValue, path: head.uri, headers: head.headers, body: nil,
            requestID: head.headers.first(name: "x-request-id"), model: nil, scenario: nil, stream: false)
        var errorHead = ResponseHead()
        errorHead.status = 413
        errorHead.requestSeq = seq
        errorHead.close = true
        let error = OpenAIError(
            message: "request body larger than \(self.maxRequestBodyBytes) bytes", type: "invalid_request_error",
            param: nil, code: "request_too_large")
        return PlannedResponse(
            seq: seq,
            producer: FixedResponse(head: errorHead, body: error.body(allocator: allocator), finalOutcome: .error),
            closesConnection: true)
    }

    /// Gemini-style paths carry the model: `/v1beta/models/NAME:streamGenerateContent`.
    static func modelFromPath(_ path: Substring) -> String? {
        guard let range = path.firstRange(of: "/models/") else { return nil }
        let rest = path[range.upperBound...]
        let name = rest.prefix { $0 != ":" && $0 != "/" }
        return name.isEmpty ? nil : percentDecode(name)
    }

    private static func replayError(_ name: String, _ problem: String, code: String) -> OpenAIError {
        OpenAIError(message: "replay file \"\(name)\" \(problem)", type: "invalid_request_error", param: "model", code: code)
    }

    static func contentType(forFixture name: String) -> String {
        if name.hasSuffix(".sse") { return "text/event-stream" }
        if name.hasSuffix(".json") { return "application/json" }
        if name.hasSuffix(".ndjson") { return "application/x-ndjson" }
        return "application/octet-stream"
    }

    // MARK: Bodies

    static func malformedBody(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 16)
        buffer.writeStaticString("{\"choices\": [")
        return buffer
    }

    static func chatCompletionBody(
        seq: Int, model: String, created: Int64, tokens: Int, promptTokens: Int, finishReason: String = "stop",
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 640 + model.utf8.count + tokens * 8)
        buffer.writeStaticString("{\"id\":\"chatcmpl-fake")
        buffer.writeDecimal(seq)
        buffer.writeStaticString("\",\"object\":\"chat.completion\",\"created\":")
        buffer.writeDecimal(created)
        buffer.writeStaticString(",\"model\":")
        buffer.writeJSONString(model)
        buffer.writeStaticString(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"")
        if tokens > 0 {
            for index in 1...tokens {
                buffer.writeStaticString("tok")
                buffer.writeDecimal(index)
                buffer.writeInteger(UInt8(ascii: " "))
            }
        }
        buffer.writeStaticString("\",\"refusal\":null,\"annotations\":[]},\"logprobs\":null,\"finish_reason\":")
        buffer.writeJSONString(finishReason)
        buffer.writeStaticString("}],\"usage\":{\"prompt_tokens\":")
        buffer.writeDecimal(promptTokens)
        buffer.writeStaticString(",\"completion_tokens\":")
        buffer.writeDecimal(tokens)
        buffer.writeStaticString(",\"total_tokens\":")
        buffer.writeDecimal(promptTokens + tokens)
        buffer.writeStaticString(
            ",\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fake\"}"
        )
        return buffer
    }

    /// Element `j` of input `i` is `(i + 1) * 0.001 * (j + 1)`.
    static func embeddingsBody(
        model: String, inputs: [Int], dimensions: Int, base64: Bool, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 128 + inputs.count * (64 + dimensions * 8))
        buffer.writeStaticString("{\"object\":\"list\",\"data\":[")
        for input in inputs.indices {
            if input > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeStaticString("{\"object\":\"embedding\",\"embedding\":")
            if base64 {
                var floats = allocator.buffer(capacity: dimensions * 4)
                for element in 0..<dimensions {
                    let value = Float(Double((input + 1) * (element + 1)) / 1000)
                    floats.writeInteger(value.bitPattern, endianness: .little)
                }
                buffer.writeInteger(UInt8(ascii: "\""))
                Base64.encode(floats.readableBytesView, into: &buffer)
                buffer.writeInteger(UInt8(ascii: "\""))
            } else {
                buffer.writeFakeEmbedding(input: input, dimensions: dimensions)
            }
            buffer.writeStaticString(",\"index\":")
            buffer.writeDecimal(input)
            buffer.writeInteger(UInt8(ascii: "}"))
        }
        let words = inputs.reduce(0, +)
        buffer.writeStaticString("],\"model\":")
        buffer.writeJSONString(model)
        buffer.writeStaticString(",\"usage\":{\"prompt_tokens\":")
        buffer.writeDecimal(words)
        buffer.writeStaticString(",\"total_tokens\":")
        buffer.writeDecimal(words)
        buffer.writeStaticString("}}")
        return buffer
    }
}

enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode<C: Collection>(_ bytes: C, into buffer: inout ByteBuffer) where C.Element == UInt8 {
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let value = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            buffer.writeInteger(self.alphabet[Int(value >> 18 & 63)])
            buffer.writeInteger(self.alphabet[Int(value >> 12 & 63)])
            buffer.writeInteger(second == nil ? UInt8(ascii: "=") : self.alphabet[Int(value >> 6 & 63)])
            buffer.writeInteger(third == nil ? UInt8(ascii: "=") : self.alphabet[Int(value & 63)])
        }
    }
}
