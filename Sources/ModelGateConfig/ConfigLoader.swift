/// Reads and validates a YAML configuration. Unknown keys, wrong types and out-of-range
/// values are errors that name the key and its line.
package struct ConfigLoader {
    /// Reads environment variables (for provider keys); injectable for tests.
    package var environment: @Sendable (String) -> String?

    package init(environment: @escaping @Sendable (String) -> String?) {
        self.environment = environment
    }

    /// Parses `yaml`, reporting errors against `file`.
    package func load(yaml: String, file: String) throws(ConfigError) -> GatewayConfig {
        let root: YAMLNode?
        do {
            root = try YAMLReader.read(yaml)
        } catch {
            throw ConfigError(file: file, line: error.line, path: "", problem: "invalid YAML: \(error.message)")
        }
        guard let root else { return GatewayConfig.defaults }
        return try Parser(file: file, environment: environment).config(ConfigNode(node: root, path: ""))
    }
}

/// A YAML node with the dotted key path that led to it.
private struct ConfigNode {
    var node: YAMLNode
    var path: String

    var line: Int? { node.line }

    func child(_ key: String, _ node: YAMLNode) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? key : "\(path).\(key)")
    }
}

private struct Parser {
    let file: String
    let environment: @Sendable (String) -> String?

    func error(_ node: ConfigNode, _ problem: String) -> ConfigError {
        ConfigError(file: file, line: node.line, path: node.path, problem: problem)
    }

    // MARK: Typed readers

    /// The mapping's entries, in order; keys outside `allowed` are errors.
    func mapping(_ node: ConfigNode, allowed: [String]?) throws(ConfigError) -> [(key: String, value: ConfigNode)] {
        if case .scalar(let scalar, _) = node.node, scalar.isEmpty || scalar == "~" || scalar == "null" {
            return []  // an empty section
        }
        guard case .mapping(let mapping, _) = node.node else { throw error(node, "expected a mapping") }
        var entries: [(key: String, value: ConfigNode)] = []
        for (key, keyLine, valueNode) in mapping {
            let child = node.child(key, valueNode)
            if let allowed, !allowed.contains(key) {
                throw ConfigError(
                    file: file, line: keyLine, path: child.path,
                    problem: "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
            }
            entries.append((key, child))
        }
        return entries
    }

    func string(_ node: ConfigNode) throws(ConfigError) -> String {
        guard case .scalar(let scalar, _) = node.node else { throw error(node, "expected a string") }
        return scalar
    }

    func nonEmptyString(_ node: ConfigNode) throws(ConfigError) -> String {
        let value = try string(node)
        guard !value.isEmpty else { throw error(node, "must not be empty") }
        return value
    }

    func integer(_ node: ConfigNode, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .scalar(let scalar, _) = node.node, let value = Int(scalar) else {
            throw error(node, "expected an integer")
        }
        guard range.contains(value) else {
            throw error(node, "must be from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
        return value
    }

    func number(_ node: ConfigNode) throws(ConfigError) -> Double {
        guard case .scalar(let scalar, _) = node.node, let value = Double(scalar), value >= 0, value.isFinite else {
            throw error(node, "expected a non-negative number")
        }
        return value
    }

    func bool(_ node: ConfigNode) throws(ConfigError) -> Bool {
        guard case .scalar(let scalar, _) = node.node else { throw error(node, "expected true or false") }
        switch scalar {
        case "true": return true
        case "false": return false
        default: throw error(node, "expected true or false, got \"\(scalar)\"")
        }
    }

    func stringList(_ node: ConfigNode) throws(ConfigError) -> [String] {
        guard case .sequence(let sequence, _) = node.node else { throw error(node, "expected a list") }
        var result: [String] = []
        for (index, element) in sequence.enumerated() {
            result.append(try nonEmptyString(node.child("\(index)", element)))
        }
        return result
    }

    // MARK: Sections

    func config(_ root: ConfigNode) throws(ConfigError) -> GatewayConfig {
        var config = GatewayConfig.defaults
        config.models = []
        var modelsNode: ConfigNode?
        for (key, value) in try mapping(root, allowed: ["listeners", "limits", "shutdown", "providers", "models"]) {
            switch key {
            case "listeners": try listeners(value, into: &config)
            case "limits": config.limits = try limits(value)
            case "shutdown":
                for (key, value) in try mapping(value, allowed: ["drain_timeout_ms"]) where key == "drain_timeout_ms" {
                    config.drainTimeoutMilliseconds = try integer(value, in: 0...3_600_000)
                }
            case "providers":
                for (name, node) in try mapping(value, allowed: nil) {
                    config.providers.append(try provider(name: name, node))
                }
            case "models":
                modelsNode = value
            default:
                break
            }
        }
        if config.unix == nil && config.tcp == nil {
            throw error(root, "listeners: at least one of unix and tcp must be enabled")
        }
        if let modelsNode {
            for (name, node) in try mapping(modelsNode, allowed: nil) {
                config.models.append(try model(name: name, node, providers: config.providers))
            }
        } else {
            config.models = GatewayConfig.defaults.models
        }
        try checkNamesAreUnique(config.models, modelsNode ?? root)
        return config
    }

    private func listeners(_ node: ConfigNode, into config: inout GatewayConfig) throws(ConfigError) {
        var unix: GatewayConfig.UnixListener?
        var tcp: GatewayConfig.TCPListener?
        for (key, value) in try mapping(node, allowed: ["unix", "tcp"]) {
            if key == "unix" {
                var listener = GatewayConfig.UnixListener(path: "/tmp/modelgate.sock", mode: 0o660)
                for (key, value) in try mapping(value, allowed: ["path", "mode"]) {
                    if key == "path" {
                        listener.path = try string(value)
                        guard listener.path.utf8.count < 108 else {
                            throw error(value, "a Unix socket path must be shorter than 108 bytes")
                        }
                    } else {
                        guard let mode = UInt16(try string(value), radix: 8), mode <= 0o777 else {
                            throw error(value, "expected an octal file mode such as \"0660\"")
                        }
                        listener.mode = mode
                    }
                }
                unix = listener.path.isEmpty ? nil : listener
            } else {
                var listener = GatewayConfig.TCPListener(host: "127.0.0.1", port: 7470)
                for (key, value) in try mapping(value, allowed: ["host", "port"]) {
                    if key == "host" {
                        listener.host = try nonEmptyString(value)
                    } else {
                        listener.port = try integer(value, in: 0...65535)
                    }
                }
                tcp = listener
            }
        }
        config.unix = unix
        config.tcp = tcp
    }

    private func limits(_ node: ConfigNode) throws(ConfigError) -> GatewayConfig.Limits {
        var limits = GatewayConfig.Limits()
        let keys = [
            "max_frame_size", "max_concurrent_streams", "max_connections", "initial_window_size", "hello_timeout_ms",
        ]
        for (key, value) in try mapping(node, allowed: keys) {
            switch key {
            case "max_frame_size": limits.maxFrameSize = UInt32(try integer(value, in: 1024...(64 << 20)))
            case "max_concurrent_streams": limits.maxConcurrentStreams = UInt32(try integer(value, in: 1...100_000))
            case "max_connections": limits.maxConnections = try integer(value, in: 1...1_000_000)
            case "initial_window_size": limits.initialWindowSize = UInt32(try integer(value, in: 1...Int(Int32.max)))
            case "hello_timeout_ms": limits.helloTimeoutMilliseconds = try integer(value, in: 1...3_600_000)
            default: break
            }
        }
        return limits
    }

    private func provider(name: String, _ node: ConfigNode) throws(ConfigError) -> GatewayConfig.Provider {
        guard name != GatewayConfig.mockProviderName else {
            throw error(node, "\"mock\" is the built-in provider's name; choose another")
        }
        let keys = [
            "kind", "base_url", "api_key_env", "http2_prior_knowledge", "timeouts", "headers", "unix_socket",
            "accepts_top_k", "include_stream_usage", "max_tokens_field", "api_version", "include_thoughts", "keep_alive",
            "region", "aws_access_key_id_env", "aws_secret_access_key_env", "aws_session_token_env",
            "anthropic_version", "anthropic_beta", "default_max_tokens", "api", "store", "entra_token_env", "endpoint",
        ]
        var kind: GatewayConfig.ProviderKind?
        var provider = GatewayConfig.Provider(
            name: name, kind: .openai, baseURL: "", apiKey: nil, apiKeyEnvironmentVariable: nil,
            http2PriorKnowledge: false, timeouts: GatewayConfig.Timeouts(), headers: [:])
        var baseURLNode: ConfigNode?
        var given: [(key: String, node: ConfigNode)] = []
        var awsNodes: [String: ConfigNode] = [:]
        for (key, value) in try mapping(node, allowed: keys) {
            given.append((key, value))
            switch key {
            case "kind":
                let raw = try string(value)
                guard let parsed = GatewayConfig.ProviderKind(rawValue: Self.kindSpellings[raw] ?? raw), parsed != .mock else {
                    let known = GatewayConfig.ProviderKind.allCases.filter { $0 != .mock }.map(\.rawValue)
                    throw error(value, "unknown provider kind \"\(raw)\" (expected: \(known.joined(separator: ", ")))")
                }
                kind = parsed
            case "base_url", "endpoint":
                if baseURLNode != nil { throw error(value, "give either base_url or endpoint, not both") }
                provider.baseURL = try nonEmptyString(value)
                baseURLNode = value
                guard provider.baseURL.hasPrefix("http://") || provider.baseURL.hasPrefix("https://") else {
                    throw error(value, "must be an http:// or https:// URL")
                }
                while provider.baseURL.hasSuffix("/") { provider.baseURL.removeLast() }
            case "api_key_env":
                let variable = try nonEmptyString(value)
                provider.apiKeyEnvironmentVariable = variable
                guard let key = environment(variable), !key.isEmpty else {
                    throw error(value, "environment variable \(variable) is not set")
                }
                provider.apiKey = key
            case "http2_prior_knowledge":
                provider.http2PriorKnowledge = try bool(value)
            case "timeouts":
                provider.timeouts = try timeouts(value)
            case "headers":
                for (header, headerValue) in try mapping(value, allowed: nil) {
                    provider.headers[header] = try string(headerValue)
                }
            case "unix_socket":
                provider.unixSocket = try nonEmptyString(value)
            case "accepts_top_k":
                provider.acceptsTopK = try bool(value)
            case "include_stream_usage":
                provider.includeStreamUsage = try bool(value)
            case "max_tokens_field":
                let field = try string(value)
                guard field == "max_tokens" || field == "max_completion_tokens" else {
                    throw error(value, "expected max_tokens or max_completion_tokens")
                }
                provider.maxTokensField = field
            case "api_version":
                provider.apiVersion = try nonEmptyString(value)
                guard provider.apiVersion?.utf8.allSatisfy({ $0 > 0x20 && $0 != UInt8(ascii: "/") && $0 < 0x7F }) == true
                else { throw error(value, "must be one path segment, such as v1beta") }
            case "include_thoughts":
                provider.includeThoughts = try bool(value)
            case "api":
                let api = try string(value)
                guard api == "chat_completions" || api == "responses" else {
                    throw error(value, "expected chat_completions or responses")
                }
                provider.chatAPI = api
            case "store":
                provider.storeResponses = try bool(value)
            case "entra_token_env":
                let variable = try nonEmptyString(value)
                guard let token = environment(variable), !token.isEmpty else {
                    throw error(value, "environment variable \(variable) is not set")
                }
                provider.entraToken = token
            case "keep_alive":
                provider.keepAlive = try nonEmptyString(value)
            case "region":
                provider.region = try nonEmptyString(value)
                awsNodes[key] = value
            case "aws_access_key_id_env", "aws_secret_access_key_env", "aws_session_token_env":
                awsNodes[key] = value
            case "anthropic_version":
                provider.anthropicVersion = try headerToken(value)
            case "anthropic_beta":
                guard case .sequence(let names, _) = value.node else { throw error(value, "expected a list") }
                for (index, name) in names.enumerated() {
                    provider.anthropicBetas.append(try headerToken(value.child("\(index)", name)))
                }
            case "default_max_tokens":
                provider.defaultMaxTokens = try integer(value, in: 1...Int(Int32.max))
            default:
                break
            }
        }
        guard let kind else { throw error(node, "missing key \"kind\"") }
        provider.kind = kind
        for (key, value) in given {
            if let owners = Self.kindsTaking[key], !owners.contains(kind) {
                let names = owners.map(\.rawValue).sorted().joined(separator: ", ")
                throw error(value, "applies only to providers of kind \(names)")
            }
        }
        if kind == .bedrock, let socketNode = given.first(where: { $0.key == "unix_socket" })?.node {
            // SigV4 signs the host the request goes to: Bedrock is reached over TCP only.
            throw error(socketNode, "does not apply to providers of kind bedrock")
        }
        if let storeNode = given.first(where: { $0.key == "store" })?.node, provider.storeResponses,
            provider.chatAPI != "responses"
        {
            throw error(storeNode, "store applies only with api: responses")
        }
        if provider.entraToken != nil, let keyNode = given.first(where: { $0.key == "api_key_env" })?.node {
            throw error(keyNode, "api_key_env cannot be combined with entra_token_env (choose one credential)")
        }
        if kind == .bedrock {
            awsNodes["region"] = nil
            try bedrock(&provider, node, awsNodes: awsNodes)
        } else if let (key, value) = awsNodes.min(by: { $0.key < $1.key }) {
            throw error(value, "\(key) applies only to providers of kind bedrock")
        }
        if baseURLNode == nil {
            // Gemini, Ollama, Cohere and Bedrock have well-known addresses; other kinds must say.
            switch kind {
            case .gemini: provider.baseURL = "https://generativelanguage.googleapis.com"
            case .ollama: provider.baseURL = "http://localhost:11434"
            case .anthropic: provider.baseURL = "https://api.anthropic.com"
            case .cohere: provider.baseURL = "https://api.cohere.com"
            case .bedrock: break  // derived from the region by the adapter
            default: throw error(node, "missing key \"base_url\"")
            }
        }
        return provider
    }

    /// Other spellings of provider kinds.
    private static let kindSpellings = ["azure-openai": "azure_openai", "azure": "azure_openai"]

    /// The keys only some kinds take, and those kinds; on any other kind each is an error. A new
    /// kind therefore refuses every other kind's key without being listed anywhere. (Bedrock's
    /// own keys are checked in ``bedrock(_:_:awsNodes:)``.)
    private static let kindsTaking: [String: Set<GatewayConfig.ProviderKind>] = [
        "accepts_top_k": [.openai],
        "include_stream_usage": [.openai, .azureOpenAI],
        "max_tokens_field": [.openai, .azureOpenAI],
        "api": [.openai, .azureOpenAI],
        "store": [.openai, .azureOpenAI],
        "api_version": [.gemini, .azureOpenAI],
        "include_thoughts": [.gemini],
        "keep_alive": [.ollama],
        "anthropic_version": [.anthropic], "anthropic_beta": [.anthropic], "default_max_tokens": [.anthropic],
        "entra_token_env": [.azureOpenAI],
        // Azure's word for the resource's base URL.
        "endpoint": [.azureOpenAI],
    ]

    /// A value sent as (part of) an HTTP header: printable ASCII without spaces or commas (a
    /// comma would split the comma-separated `anthropic-beta`).
    private func headerToken(_ node: ConfigNode) throws(ConfigError) -> String {
        let value = try nonEmptyString(node)
        guard value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") }) else {
            throw error(node, "must be printable ASCII without spaces or commas")
        }
        return value
    }

    /// Bedrock needs a region, and either an API key (`api_key_env`, sent as a bearer token)
    /// or SigV4 credentials from the environment: `aws_access_key_id_env` and
    /// `aws_secret_access_key_env` (default `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) and
    /// `aws_session_token_env` (default `AWS_SESSION_TOKEN`, used when set).
    private func bedrock(
        _ provider: inout GatewayConfig.Provider, _ node: ConfigNode, awsNodes: [String: ConfigNode]
    ) throws(ConfigError) {
        guard provider.region != nil else { throw error(node, "missing key \"region\"") }
        if provider.apiKeyEnvironmentVariable != nil {
            if let (key, value) = awsNodes.min(by: { $0.key < $1.key }) {
                throw error(value, "\(key) cannot be combined with api_key_env (a Bedrock API key needs no signing)")
            }
            return
        }
        func variable(_ key: String, default name: String, required: Bool) throws(ConfigError) -> String? {
            let chosen = try awsNodes[key].map { (value) throws(ConfigError) in try nonEmptyString(value) } ?? name
            if let value = environment(chosen), !value.isEmpty { return value }
            guard required || awsNodes[key] != nil else { return nil }
            throw error(awsNodes[key] ?? node, "environment variable \(chosen) is not set")
        }
        guard let accessKeyID = try variable("aws_access_key_id_env", default: "AWS_ACCESS_KEY_ID", required: true),
            let secret = try variable("aws_secret_access_key_env", default: "AWS_SECRET_ACCESS_KEY", required: true)
        else { return }
        provider.awsCredentials = GatewayConfig.AWSCredentials(
            accessKeyID: accessKeyID, secretAccessKey: secret,
            sessionToken: try variable("aws_session_token_env", default: "AWS_SESSION_TOKEN", required: false))
    }

    private func timeouts(_ node: ConfigNode) throws(ConfigError) -> GatewayConfig.Timeouts {
        var timeouts = GatewayConfig.Timeouts()
        for (key, value) in try mapping(node, allowed: ["connect_ms", "first_byte_ms", "idle_ms", "total_ms"]) {
            let milliseconds = try integer(value, in: 0...86_400_000)
            switch key {
            case "connect_ms": timeouts.connectMilliseconds = milliseconds
            case "first_byte_ms": timeouts.firstByteMilliseconds = milliseconds
            case "idle_ms": timeouts.idleMilliseconds = milliseconds
            default: timeouts.totalMilliseconds = milliseconds
            }
        }
        return timeouts
    }

    private func model(
        name: String, _ node: ConfigNode, providers: [GatewayConfig.Provider]
    ) throws(ConfigError) -> GatewayConfig.Model {
        let keys = ["provider", "upstream_model", "deployment", "aliases", "kind", "pricing", "mock"]
        var model = GatewayConfig.Model(
            name: name, provider: "", upstreamModel: name, aliases: [], kind: .chat, pricing: nil,
            mock: GatewayConfig.MockOptions())
        var mockNode: ConfigNode?
        var upstreamNodes: [(key: String, node: ConfigNode)] = []
        for (key, value) in try mapping(node, allowed: keys) {
            switch key {
            case "provider":
                model.provider = try nonEmptyString(value)
                guard model.provider == GatewayConfig.mockProviderName || providers.contains(where: { $0.name == model.provider })
                else {
                    let known = [GatewayConfig.mockProviderName] + providers.map(\.name)
                    throw error(value, "unknown provider \"\(model.provider)\" (known: \(known.joined(separator: ", ")))")
                }
            case "upstream_model", "deployment":
                model.upstreamModel = try nonEmptyString(value)
                upstreamNodes.append((key, value))
            case "aliases":
                model.aliases = try stringList(value)
            case "kind":
                let raw = try string(value)
                guard let kind = GatewayConfig.ModelKind(rawValue: raw) else {
                    throw error(value, "unknown model kind \"\(raw)\" (expected: chat, embedding, predictive)")
                }
                model.kind = kind
            case "pricing":
                var pricing = GatewayConfig.Pricing(input: 0, output: 0, cachedInput: nil)
                var seen: Set<String> = []
                for (key, value) in try mapping(value, allowed: ["input", "output", "cached_input"]) {
                    seen.insert(key)
                    switch key {
                    case "input": pricing.input = try number(value)
                    case "output": pricing.output = try number(value)
                    default: pricing.cachedInput = try number(value)
                    }
                }
                guard seen.contains("input"), seen.contains("output") else {
                    throw error(value, "pricing needs both input and output")
                }
                model.pricing = pricing
            case "mock":
                mockNode = value
                for (key, value) in try mapping(value, allowed: ["tokens", "interval_ms"]) {
                    if key == "tokens" {
                        model.mock.tokens = try integer(value, in: 0...1_000_000)
                    } else {
                        model.mock.intervalMilliseconds = try integer(value, in: 0...3_600_000)
                    }
                }
            default:
                break
            }
        }
        guard !model.provider.isEmpty else { throw error(node, "missing key \"provider\"") }
        if let mockNode, model.provider != GatewayConfig.mockProviderName {
            throw error(mockNode, "mock options apply only to models of the mock provider")
        }
        // `deployment` names an Azure deployment; it is the upstream model by another name.
        if let deployment = upstreamNodes.first(where: { $0.key == "deployment" }) {
            guard providers.first(where: { $0.name == model.provider })?.kind == .azureOpenAI else {
                throw error(deployment.node, "deployment applies only to models of azure_openai providers (use upstream_model)")
            }
            guard upstreamNodes.count == 1 else {
                throw error(deployment.node, "give either deployment or upstream_model, not both")
            }
        }
        return model
    }

    private func checkNamesAreUnique(_ models: [GatewayConfig.Model], _ node: ConfigNode) throws(ConfigError) {
        var seen: Set<String> = []
        for model in models {
            for name in [model.name] + model.aliases where !seen.insert(name).inserted {
                throw error(node, "model name or alias \"\(name)\" is used twice")
            }
        }
    }
}
