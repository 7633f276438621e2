@testable import ModelGateConfig
import Testing

/// Uses `load` and `failure` of ConfigLoaderTests.swift (`TEST_KEY` is "sk-secret").
@Suite("Configuration: gemini and ollama providers")
struct GeminiOllamaConfigTests {
    @Test func kindsWithTheirOptionsAndDefaultAddresses() throws {
        let config = try load(
            """
            providers:
              google:
                kind: gemini
                api_key_env: TEST_KEY
                api_version: v1alpha
                include_thoughts: true
              vertex-proxy:
                kind: gemini
                base_url: http://127.0.0.1:8080/
              local:
                kind: ollama
                keep_alive: 10m
                unix_socket: /run/ollama.sock
            models:
              flash: { provider: google, upstream_model: gemini-2.5-flash }
              llama: { provider: local, upstream_model: "llama3.2" }
            """)
        #expect(config.providers.map(\.kind) == [.gemini, .gemini, .ollama])
        let google = config.providers[0]
        #expect(google.baseURL == "https://generativelanguage.googleapis.com")
        #expect(google.apiKey == "sk-secret" && google.apiVersion == "v1alpha" && google.includeThoughts)
        #expect(config.providers[1].baseURL == "http://127.0.0.1:8080" && config.providers[1].apiVersion == nil)
        let local = config.providers[2]
        #expect(local.baseURL == "http://localhost:11434")
        #expect(local.keepAlive == "10m" && local.unixSocket == "/run/ollama.sock")
    }

    @Test(
        "options of other kinds are errors, not ignored",
        arguments: [
            ("kind: gemini\n    keep_alive: 5m", "test.yaml:4: providers.p.keep_alive: applies only to providers of kind ollama"),
            ("kind: gemini\n    accepts_top_k: true", "test.yaml:4: providers.p.accepts_top_k: applies only to providers of kind openai"),
            ("kind: ollama\n    api_version: v1", "test.yaml:4: providers.p.api_version: applies only to providers of kind azure_openai, gemini"),
            ("kind: ollama\n    max_tokens_field: max_tokens", "test.yaml:4: providers.p.max_tokens_field: applies only to providers of kind azure_openai, openai"),
            ("kind: openai\n    base_url: http://x\n    include_thoughts: true", "test.yaml:5: providers.p.include_thoughts: applies only to providers of kind gemini"),
            ("kind: openai", "test.yaml:3: providers.p: missing key \"base_url\""),
            ("kind: gemini\n    api_version: v1/../x", "test.yaml:4: providers.p.api_version: must be one path segment, such as v1beta"),
        ])
    func errors(provider: String, expected: String) {
        #expect(failure("providers:\n  p:\n    " + provider) == expected)
    }

    @Test func unknownKindsListTheKnownOnes() {
        let message = failure("providers:\n  p:\n    kind: claude")
        #expect(message.hasPrefix("test.yaml:3: providers.p.kind: unknown provider kind \"claude\" (expected: openai, "))
        #expect(message.contains("gemini") && message.contains("ollama") && !message.contains("mock"))
    }
}
