@testable import ModelGateConfig
import Testing

/// Uses `load` and `failure` of ConfigLoaderTests.swift (`TEST_KEY` is "sk-secret").
@Suite("Configuration: anthropic providers")
struct AnthropicConfigTests {
    @Test func defaultsAndEveryOption() throws {
        let config = try load(
            """
            providers:
              claude:
                kind: anthropic
                api_key_env: TEST_KEY
              proxy:
                kind: anthropic
                base_url: http://127.0.0.1:8080/
                anthropic_version: 2023-01-01
                anthropic_beta: [prompt-caching-2024-07-31, output-128k-2025-02-19]
                default_max_tokens: 8192
                timeouts: { first_byte_ms: 60000 }
                headers: { X-Team: search }
            models:
              sonnet: { provider: claude, upstream_model: claude-sonnet-4-5 }
            """)
        #expect(config.providers.map(\.kind) == [.anthropic, .anthropic])
        let claude = config.providers[0]
        #expect(claude.baseURL == "https://api.anthropic.com")
        #expect(claude.apiKey == "sk-secret" && claude.apiKeyEnvironmentVariable == "TEST_KEY")
        #expect(claude.anthropicVersion == nil && claude.anthropicBetas.isEmpty && claude.defaultMaxTokens == nil)
        let proxy = config.providers[1]
        #expect(proxy.baseURL == "http://127.0.0.1:8080")
        #expect(proxy.anthropicVersion == "2023-01-01")
        #expect(proxy.anthropicBetas == ["prompt-caching-2024-07-31", "output-128k-2025-02-19"])
        #expect(proxy.defaultMaxTokens == 8192)
        #expect(proxy.timeouts.firstByteMilliseconds == 60000 && proxy.headers == ["X-Team": "search"])
        #expect(config.models.first?.upstreamModel == "claude-sonnet-4-5")
    }

    @Test(
        "Anthropic's keys elsewhere, other kinds' keys here, and bad values are errors",
        arguments: [
            ("kind: anthropic\n    api_version: v1", "test.yaml:4: providers.p.api_version: applies only to providers of kind azure_openai, gemini"),
            ("kind: anthropic\n    keep_alive: 5m", "test.yaml:4: providers.p.keep_alive: applies only to providers of kind ollama"),
            ("kind: anthropic\n    max_tokens_field: max_tokens", "test.yaml:4: providers.p.max_tokens_field: applies only to providers of kind azure_openai, openai"),
            ("kind: anthropic\n    region: us-east-1", "test.yaml:4: providers.p.region: region applies only to providers of kind bedrock"),
            ("kind: gemini\n    anthropic_version: 2023-06-01", "test.yaml:4: providers.p.anthropic_version: applies only to providers of kind anthropic"),
            ("kind: openai\n    base_url: http://x\n    default_max_tokens: 10", "test.yaml:5: providers.p.default_max_tokens: applies only to providers of kind anthropic"),
            ("kind: ollama\n    anthropic_beta: [x]", "test.yaml:4: providers.p.anthropic_beta: applies only to providers of kind anthropic"),
            ("kind: anthropic\n    default_max_tokens: 0", "test.yaml:4: providers.p.default_max_tokens: must be from 1 to 2147483647, got 0"),
            ("kind: anthropic\n    default_max_tokens: lots", "test.yaml:4: providers.p.default_max_tokens: expected an integer"),
            ("kind: anthropic\n    anthropic_beta: a-beta", "test.yaml:4: providers.p.anthropic_beta: expected a list"),
            ("kind: anthropic\n    anthropic_beta: [\"a,b\"]", "test.yaml:4: providers.p.anthropic_beta.0: must be printable ASCII without spaces or commas"),
            ("kind: anthropic\n    anthropic_version: \"2023 06 01\"", "test.yaml:4: providers.p.anthropic_version: must be printable ASCII without spaces or commas"),
            ("kind: anthropic\n    anthropic_version: \"\"", "test.yaml:4: providers.p.anthropic_version: must not be empty"),
            ("kind: anthropic\n    api_key_env: NOT_SET_ANYWHERE", "test.yaml:4: providers.p.api_key_env: environment variable NOT_SET_ANYWHERE is not set"),
        ])
    func errors(provider: String, expected: String) {
        #expect(failure("providers:\n  p:\n    " + provider) == expected)
    }

    @Test func theKindIsListedAndUnknownKeysAreErrors() {
        #expect(failure("providers:\n  p:\n    kind: claude").contains("anthropic"))
        #expect(failure("providers:\n  p:\n    kind: anthropic\n    betas: [x]").hasPrefix("test.yaml:4: providers.p.betas: unknown key (expected one of: "))
    }
}
