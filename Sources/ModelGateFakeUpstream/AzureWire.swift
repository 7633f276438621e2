import NIOCore
import NIOHTTP1

/// An Azure OpenAI path: `/openai/deployments/{deployment}/{chat/completions|embeddings}`
/// (dated API versions, `?api-version=` required), `/openai/v1/{chat/completions|embeddings|
/// responses}` (the v1 surface, model in the body) or `/openai/responses?api-version=`.
struct AzureRoute: Equatable {
    enum Operation: Equatable {
        case chatCompletions
        case embeddings
        case responses
    }

    var operation: Operation
    /// The %-decoded deployment of a deployment URL; nil on the v1 surface and for responses.
    var deployment: String?
    /// Whether the path is on the v1 surface (no `api-version` needed).
    var v1: Bool

    init?(path: Substring) {
        guard path.utf8HasPrefix("/openai/") else { return nil }
        if path.utf8HasSuffix("/chat/completions") {
            operation = .chatCompletions
        } else if path.utf8HasSuffix("/embeddings") {
            operation = .embeddings
        } else if path.utf8HasSuffix("/responses") {
            operation = .responses
        } else {
            return nil
        }
        v1 = path.utf8HasPrefix("/openai/v1/")
        deployment = nil
        if let range = path.firstRange(of: "/openai/deployments/") {
            let name = path[range.upperBound...].prefix { $0 != "/" }
            deployment = name.isEmpty ? nil : percentDecode(name)
        }
    }
}

/// Azure OpenAI as the fake speaks it (docs/fake-upstream.md, "Azure OpenAI").
enum AzureWire {
    /// The answer Azure gives a request without a key (401) or, off the v1 surface, without
    /// an `api-version` (404); nil when the request may proceed. Any other route: nil.
    static func rejection(route: ProviderRoute, head: HTTPRequestHead) -> (status: Int, error: AzureError)? {
        guard case .azure(let azure) = route else { return nil }
        let bearer = head.headers.first(name: "authorization")?.hasPrefix("Bearer ") == true
        if head.headers.first(name: "api-key")?.isEmpty != false && !bearer {
            return (401, AzureError.defaults(forStatus: 401))
        }
        let query = head.uri.firstIndex(of: "?").map { head.uri[head.uri.index(after: $0)...] } ?? ""
        let hasVersion = query.split(separator: "&").contains { $0.utf8HasPrefix("api-version=") && $0.count > 12 }
        if !azure.v1 && !hasVersion {
            return (404, AzureError(code: "404", message: "Resource not found"))
        }
        return nil
    }

    /// Plans chat completions and embeddings; the scenario is the deployment (or, on the v1
    /// surface, the body's `model`).
    static func plan(_ route: AzureRoute, _ context: RouteContext) -> PlannedResponse {
        let scenario = context.scenario
        let allocator = context.allocator
        let fields = context.fields
        func azureError(_ status: Int, _ error: AzureError, outcome: FakeUpstreamOutcome = .error) -> PlannedResponse {
            context.fixed(status: status, body: error.body(allocator: allocator), outcome: outcome)
        }
        guard context.method == "POST" else {
            return azureError(405, AzureError(code: "405", message: "Method not allowed"))
        }
        if case .failure(let error) = context.scan {
            return azureError(
                400, AzureError(code: nil, message: "We could not parse the JSON body of your request. \(error.message)"))
        }
        if let status = scenario.status {
            return azureError(status, AzureError.defaults(forStatus: status).applying(scenario), outcome: .completed)
        }
        if scenario.toolCall {
            return azureError(400, AzureError(code: "bad_scenario_combination", message: "tool_call applies to Responses API paths, not \(context.path)"))
        }
        let model = route.deployment ?? fields.model ?? "fake-deployment"
        if route.operation == .embeddings {
            guard let inputs = fields.inputs, !inputs.isEmpty else {
                return azureError(400, AzureError(code: nil, message: "'input' is a required property"))
            }
            let dimensions = fields.dimensions ?? 8
            guard inputs.count <= ServerCore.maxEmbeddingInputs, (1...ServerCore.maxEmbeddingDimensions).contains(dimensions)
            else {
                return azureError(400, AzureError(code: nil, message: "the fake upstream answers at most \(ServerCore.maxEmbeddingInputs) inputs"))
            }
            return context.unary {
                ServerCore.embeddingsBody(
                    model: model, inputs: inputs, dimensions: dimensions, base64: fields.base64Encoding, allocator: allocator)
            }
        }
        let format = AzureChatStreamFormat(
            seq: context.seq, model: model, created: WallClock.nowSeconds(), promptTokens: fields.promptWords,
            tokens: scenario.tokens, includeUsage: fields.includeUsage && scenario.usage,
            finishReason: scenario.finishReason ?? "stop", error: AzureError.defaults(forStatus: 500).applying(scenario))
        if fields.stream {
            return context.stream(format, contentType: "text/event-stream; charset=utf-8")
        }
        guard scenario.tokens <= ServerCore.maxUnaryTokens else {
            return azureError(400, AzureError(code: nil, message: "unary answers are limited to \(ServerCore.maxUnaryTokens) tokens"))
        }
        return context.unary(tokens: scenario.tokens) { format.unaryBody(usage: scenario.usage, allocator: allocator) }
    }
}

/// Azure's error bodies: `{"error": {"code", "message"}}` for its own errors (`"429"`,
/// `DeploymentNotFound`), OpenAI's four members when a `type` is given, and for
/// `content_filter` the content-management body with its `innererror`.
struct AzureError {
    var code: String?
    var message: String
    var type: String?

    /// What Azure sends for `status`.
    static func defaults(forStatus status: Int) -> AzureError {
        switch status {
        case 400: AzureError(code: nil, message: "Invalid request.", type: "invalid_request_error")
        case 401:
            AzureError(
                code: "401",
                message:
                    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."
            )
        case 403: AzureError(code: "403", message: "Access denied due to Virtual Network/Firewall rules.")
        case 404:
            AzureError(
                code: "DeploymentNotFound",
                message:
                    "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."
            )
        case 429:
            AzureError(
                code: "429",
                message:
                    "Requests to the ChatCompletions_Create Operation under Azure OpenAI API have exceeded token rate limit of your current pricing tier. Please retry after a few seconds."
            )
        case 503: AzureError(code: "ServiceUnavailable", message: "The service is temporarily unable to process your request.")
        default: AzureError(code: "InternalServerError", message: "The server had an error while processing your request.")
        }
    }

    /// With the scenario's `error_code`, `error_type` and `error_message`; `error_code=content_filter`
    /// gives the content-management message unless one is named.
    func applying(_ scenario: Scenario) -> AzureError {
        var error = self
        switch scenario.errorCode {
        case .unset: break
        case .null: error.code = nil
        case .value(let code):
            error.code = code
            if code == "content_filter" {
                error.type = nil
                error.message =
                    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry."
            }
        }
        if let type = scenario.errorType { error.type = type }
        if let message = scenario.errorMessage { error.message = message }
        return error
    }

    func write(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"error\":{")
        if self.code == "content_filter" {
            buffer.writeStaticString("\"message\":")
            buffer.writeJSONString(self.message)
            buffer.writeStaticString(
                ",\"type\":null,\"param\":\"prompt\",\"code\":\"content_filter\",\"status\":400,\"innererror\":{\"code\":\"ResponsibleAIPolicyViolation\",\"content_filter_result\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},\"jailbreak\":{\"filtered\":false,\"detected\":false},\"self_harm\":{\"filtered\":true,\"severity\":\"medium\"},\"sexual\":{\"filtered\":false,\"severity\":\"safe\"},\"violence\":{\"filtered\":false,\"severity\":\"safe\"}}}}}"
            )
            return
        }
        if let type = self.type {
            buffer.writeStaticString("\"message\":")
            buffer.writeJSONString(self.message)
            buffer.writeStaticString(",\"type\":")
            buffer.writeJSONString(type)
            buffer.writeStaticString(",\"param\":null,\"code\":")
            buffer.writeJSONStringOrNull(self.code)
        } else {
            buffer.writeStaticString("\"code\":")
            buffer.writeJSONStringOrNull(self.code)
            buffer.writeStaticString(",\"message\":")
            buffer.writeJSONString(self.message)
        }
        buffer.writeStaticString("}}")
    }

    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256 + self.message.utf8.count)
        self.write(into: &buffer)
        return buffer
    }
}

/// A chat completions stream as Azure sends it: first a chunk with only
/// `prompt_filter_results` (empty `id`, `model` and `choices`), then OpenAI's chunks with
/// `content_filter_results` in each choice, the finish chunk (its filter results say
/// `filtered: true` when the finish reason is `content_filter`), the usage chunk when asked
/// for, `data: [DONE]`. A mid-stream error is `data: {"error": …}` in Azure's shape.
struct AzureChatStreamFormat: StreamFormat {
    var seq: Int
    var model: String
    var created: Int64
    var promptTokens: Int
    var tokens: Int
    var includeUsage: Bool
    var finishReason: String
    var error: AzureError

    private static let safeResults: StaticString =
        "{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},\"self_harm\":{\"filtered\":false,\"severity\":\"safe\"},\"sexual\":{\"filtered\":false,\"severity\":\"safe\"},\"violence\":{\"filtered\":false,\"severity\":\"safe\"}}"
    private static let filteredResults: StaticString =
        "{\"hate\":{\"filtered\":true,\"severity\":\"high\"},\"self_harm\":{\"filtered\":false,\"severity\":\"safe\"},\"sexual\":{\"filtered\":false,\"severity\":\"safe\"},\"violence\":{\"filtered\":false,\"severity\":\"safe\"}}"

    func begin(into buffer: inout ByteBuffer) {
        buffer.writeStaticString(
            "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":"
        )
        buffer.writeStaticString(Self.safeResults)
        buffer.writeStaticString("}]}\n\n")
        self.chunk(into: &buffer) {
            $0.writeStaticString(
                "{\"content_filter_results\":{},\"delta\":{\"content\":\"\",\"refusal\":null,\"role\":\"assistant\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}"
            )
        }
    }

    func token(_ index: Int, into buffer: inout ByteBuffer) {
        self.chunk(into: &buffer) {
            $0.writeStaticString("{\"content_filter_results\":")
            $0.writeStaticString(Self.safeResults)
            $0.writeStaticString(",\"delta\":{\"content\":\"")
            $0.writeFakeToken(index)
            $0.writeStaticString("\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}")
        }
    }

    func end(into buffer: inout ByteBuffer) {
        let filtered = self.finishReason == "content_filter"
        self.chunk(into: &buffer) {
            $0.writeStaticString("{\"content_filter_results\":")
            $0.writeStaticString(filtered ? Self.filteredResults : "{}")
            $0.writeStaticString(",\"delta\":{},\"finish_reason\":")
            $0.writeJSONString(self.finishReason)
            $0.writeStaticString(",\"index\":0,\"logprobs\":null}")
        }
        if self.includeUsage {
            self.chunk(into: &buffer, usage: true) { _ in }
        }
        buffer.writeStaticString("data: [DONE]\n\n")
    }

    func error(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: ")
        self.error.write(into: &buffer)
        buffer.writeStaticString("\n\n")
    }

    func malformed(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: {\"choices\": [\n\n")
    }

    /// The non-streamed answer, with the filter results Azure adds.
    func unaryBody(usage: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 1024 + self.tokens * 8)
        buffer.writeStaticString("{\"choices\":[{\"content_filter_results\":")
        buffer.writeStaticString(self.finishReason == "content_filter" ? Self.filteredResults : Self.safeResults)
        buffer.writeStaticString(",\"finish_reason\":")
        buffer.writeJSONString(self.finishReason)
        buffer.writeStaticString(",\"index\":0,\"logprobs\":null,\"message\":{\"content\":\"")
        buffer.writeFakeTokens(upTo: self.tokens)
        buffer.writeStaticString("\",\"refusal\":null,\"role\":\"assistant\"}}],\"created\":")
        buffer.writeDecimal(self.created)
        buffer.writeStaticString(",\"id\":\"chatcmpl-fake")
        buffer.writeDecimal(self.seq)
        buffer.writeStaticString("\",\"model\":")
        buffer.writeJSONString(self.model)
        buffer.writeStaticString(
            ",\"object\":\"chat.completion\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":")
        buffer.writeStaticString(Self.safeResults)
        buffer.writeStaticString("}],\"system_fingerprint\":\"fp_fake\"")
        if usage { self.writeUsage(into: &buffer) }
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }

    /// `data: {"choices":[…],"created","id","model","object","system_fingerprint"[,"usage"]}`.
    private func chunk(into buffer: inout ByteBuffer, usage: Bool = false, choice: (inout ByteBuffer) -> Void) {
        buffer.writeStaticString("data: {\"choices\":[")
        choice(&buffer)
        buffer.writeStaticString("],\"created\":")
        buffer.writeDecimal(self.created)
        buffer.writeStaticString(",\"id\":\"chatcmpl-fake")
        buffer.writeDecimal(self.seq)
        buffer.writeStaticString("\",\"model\":")
        buffer.writeJSONString(self.model)
        buffer.writeStaticString(",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_fake\"")
        if usage { self.writeUsage(into: &buffer) }
        buffer.writeStaticString("}\n\n")
    }

    private func writeUsage(into buffer: inout ByteBuffer) {
        buffer.writeStaticString(",\"usage\":{\"completion_tokens\":")
        buffer.writeDecimal(self.tokens)
        buffer.writeStaticString(",\"prompt_tokens\":")
        buffer.writeDecimal(self.promptTokens)
        buffer.writeStaticString(",\"total_tokens\":")
        buffer.writeDecimal(self.promptTokens + self.tokens)
        buffer.writeStaticString(",\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}")
    }
}
