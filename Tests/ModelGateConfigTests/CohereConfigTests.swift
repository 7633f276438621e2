@testable import ModelGateConfig
import Testing

/// Uses `load` and `failure` of ConfigLoaderTests.swift (`TEST_KEY` is "sk-secret").
@Suite("Configuration: cohere providers")
struct CohereConfigTests {
    @Test func kindWithTheUsualEndpointKeysAndTheDefaultAddress() throws {
        let config = try load(
            """
            providers:
              cohere:
                kind: cohere
                api_key_env: TEST_KEY
                timeouts: { connect_ms: 500, first_byte_ms: 2000, idle_ms: 3000, total_ms: 60000 }
                headers:
                  X-Client-Name: modelgate
              cohere-proxy:
                kind: cohere
                base_url: http://127.0.0.1:8080/
                http2_prior_knowledge: true
                unix_socket: /run/cohere-proxy.sock
            models:
              command: { provider: cohere, upstream_model: command-a-03-2025 }
              embed: { provider: cohere-proxy, upstream_model: embed-v4.0, kind: embedding }
            """)
        #expect(config.providers.map(\.kind) == [.cohere, .cohere])
        let cohere = config.providers[0]
        #expect(cohere.baseURL == "https://api.cohere.com")
        #expect(cohere.apiKey == "sk-secret" && cohere.apiKeyEnvironmentVariable == "TEST_KEY")
        #expect(cohere.timeouts.connectMilliseconds == 500 && cohere.timeouts.firstByteMilliseconds == 2000)
        #expect(cohere.timeouts.idleMilliseconds == 3000 && cohere.timeouts.totalMilliseconds == 60000)
        #expect(cohere.headers == ["X-Client-Name": "modelgate"])
        let proxy = config.providers[1]
        #expect(proxy.baseURL == "http://127.0.0.1:8080" && proxy.apiKey == nil)
        #expect(proxy.http2PriorKnowledge && proxy.unixSocket == "/run/cohere-proxy.sock")
        #expect(config.models.map(\.kind) == [.chat, .embedding])
    }

    @Test(
        "other kinds' options and unknown keys are errors, not ignored",
        arguments: [
            ("kind: cohere\n    api_version: v2", "test.yaml:4: providers.p.api_version: applies only to providers of kind azure_openai, gemini"),
            ("kind: cohere\n    accepts_top_k: true", "test.yaml:4: providers.p.accepts_top_k: applies only to providers of kind openai"),
            ("kind: cohere\n    include_thoughts: true", "test.yaml:4: providers.p.include_thoughts: applies only to providers of kind gemini"),
            ("kind: cohere\n    region: us-east-1", "test.yaml:4: providers.p.region: region applies only to providers of kind bedrock"),
            ("kind: cohere\n    api_key_env: NOT_SET_ANYWHERE", "test.yaml:4: providers.p.api_key_env: environment variable NOT_SET_ANYWHERE is not set"),
            ("kind: cohere\n    base_url: api.cohere.com", "test.yaml:4: providers.p.base_url: must be an http:// or https:// URL"),
        ])
    func errors(provider: String, expected: String) {
        #expect(failure("providers:\n  p:\n    " + provider) == expected)
    }

    @Test func unknownKeysNameTheKeyAndLine() {
        let message = failure("providers:\n  p:\n    kind: cohere\n    client_name: x")
        #expect(message.hasPrefix("test.yaml:4: providers.p.client_name: unknown key (expected one of: kind, base_url"))
    }

    @Test func theKindIsListedAmongTheKnownOnes() {
        #expect(failure("providers:\n  p:\n    kind: coherent").contains("cohere"))
    }
}
