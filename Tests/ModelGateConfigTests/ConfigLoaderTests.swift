@testable import ModelGateConfig
import Testing

let loader = ConfigLoader { name in name == "TEST_KEY" ? "sk-secret" : nil }

func load(_ yaml: String) throws(ConfigError) -> GatewayConfig {
    try loader.load(yaml: yaml, file: "test.yaml")
}

func failure(_ yaml: String) -> String {
    do {
        _ = try load(yaml)
        return "no error"
    } catch {
        return error.description
    }
}

@Suite("Configuration loading and validation")
struct ConfigLoaderTests {
    @Test func emptyFileMeansDefaults() throws {
        #expect(try load("") == GatewayConfig.defaults)
    }

    @Test func fullConfiguration() throws {
        let config = try load(
            """
            listeners:
              unix: { path: /tmp/a.sock, mode: "0600" }
              tcp: { host: 0.0.0.0, port: 9000 }
            limits:
              max_frame_size: 65536
              max_concurrent_streams: 7
            shutdown: { drain_timeout_ms: 500 }
            providers:
              up:
                kind: openai
                base_url: http://127.0.0.1:8000/v1/
                api_key_env: TEST_KEY
                accepts_top_k: true
                timeouts: { connect_ms: 100, idle_ms: 0 }
                headers: { X-Team: core }
            models:
              big:
                provider: up
                upstream_model: llama-3
                aliases: [b, large]
                pricing: { input: 1, output: 2.5 }
              emb: { provider: up, kind: embedding }
              mock: { provider: mock, mock: { tokens: 3, interval_ms: 5 } }
            """)
        #expect(config.unix == GatewayConfig.UnixListener(path: "/tmp/a.sock", mode: 0o600))
        #expect(config.tcp == GatewayConfig.TCPListener(host: "0.0.0.0", port: 9000))
        #expect(config.limits.maxFrameSize == 65536 && config.limits.maxConcurrentStreams == 7)
        #expect(config.drainTimeoutMilliseconds == 500)
        let provider = try #require(config.providers.first)
        #expect(provider.baseURL == "http://127.0.0.1:8000/v1", "trailing slash removed")
        #expect(provider.apiKey == "sk-secret" && provider.acceptsTopK)
        #expect(provider.timeouts.connectMilliseconds == 100 && provider.timeouts.idleMilliseconds == 0)
        #expect(provider.headers == ["X-Team": "core"])
        #expect(config.models.map(\.name) == ["big", "emb", "mock"])
        #expect(config.models[0].upstreamModel == "llama-3" && config.models[0].aliases == ["b", "large"])
        #expect(config.models[0].pricing == GatewayConfig.Pricing(input: 1, output: 2.5, cachedInput: nil))
        #expect(config.models[1].upstreamModel == "emb" && config.models[1].kind == .embedding)
        #expect(config.models[2].mock == GatewayConfig.MockOptions(tokens: 3, intervalMilliseconds: 5))
    }

    @Test(
        "errors name the key and its line",
        arguments: [
            ("listeners:\n  unix:\n    pth: /x", "test.yaml:3: listeners.unix.pth: unknown key (expected one of: path, mode)"),
            ("limits:\n  max_frame_size: big", "test.yaml:2: limits.max_frame_size: expected an integer"),
            ("limits:\n  max_connections: 0", "test.yaml:2: limits.max_connections: must be from 1 to 1000000, got 0"),
            ("models:\n  m:\n    provider: nowhere", "test.yaml:3: models.m.provider: unknown provider \"nowhere\" (known: mock)"),
            ("providers:\n  p:\n    kind: openai\n    base_url: ftp://x", "test.yaml:4: providers.p.base_url: must be an http:// or https:// URL"),
            ("providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key_env: NOPE", "test.yaml:5: providers.p.api_key_env: environment variable NOPE is not set"),
            ("providers:\n  p:\n    base_url: http://x", "test.yaml:3: providers.p: missing key \"kind\""),
            ("listeners:\n  unix: { path: /x, mode: \"999\" }", "test.yaml:2: listeners.unix.mode: expected an octal file mode such as \"0660\""),
            ("models:\n  a: { provider: mock, aliases: [b] }\n  b: { provider: mock }", "test.yaml:2: models: model name or alias \"b\" is used twice"),
            ("models:\n  a:\n    provider: mock\n    kind: sound", "test.yaml:4: models.a.kind: unknown model kind \"sound\" (expected: chat, embedding, predictive)"),
            ("tls: on", "test.yaml:1: tls: unknown key (expected one of: listeners, limits, shutdown, providers, models)"),
            ("listeners: [", "test.yaml:1: invalid YAML: unterminated flow sequence"),
        ])
    func errors(yaml: String, expected: String) {
        #expect(failure(yaml) == expected)
    }

    @Test func mockOptionsOnlyForMockModels() {
        let yaml = """
            providers:
              p: { kind: openai, base_url: "http://x" }
            models:
              m:
                provider: p
                mock: { tokens: 3 }
            """
        #expect(failure(yaml) == "test.yaml:6: models.m.mock: mock options apply only to models of the mock provider")
    }

    @Test func secretsAreNotInErrors() {
        let yaml = "providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key_env: TEST_KEY\n    bogus: 1"
        #expect(!failure(yaml).contains("sk-secret"))
    }
}
