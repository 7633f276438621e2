@testable import ModelGateConfig
import Testing

/// Uses `load` and `failure` of ConfigLoaderTests.swift (`TEST_KEY` is "sk-secret").
@Suite("Configuration: Azure OpenAI and the Responses API")
struct AzureResponsesConfigTests {
    @Test func azureProvidersWithTheirOptions() throws {
        let config = try load(
            """
            providers:
              east:
                kind: azure_openai
                base_url: https://contoso-east.openai.azure.com/
                api_key_env: TEST_KEY
                max_tokens_field: max_tokens
                include_stream_usage: false
              west:
                kind: azure
                base_url: https://contoso-west.openai.azure.com
                api_version: v1
                api: responses
                store: true
              north:
                kind: azure-openai
                endpoint: https://contoso-north.openai.azure.com
                api_version: 2025-04-01-preview
            models:
              gpt: { provider: east, deployment: "gpt-4o prod" }
              mini: { provider: west, upstream_model: gpt-4o-mini }
              named: { provider: north }
            """)
        #expect(config.providers.map(\.kind) == [.azureOpenAI, .azureOpenAI, .azureOpenAI])
        let east = config.providers[0]
        #expect(east.baseURL == "https://contoso-east.openai.azure.com")
        #expect(east.apiKey == "sk-secret" && east.entraToken == nil && east.apiVersion == nil)
        #expect(east.maxTokensField == "max_tokens" && east.includeStreamUsage == false && east.chatAPI == nil)
        let west = config.providers[1]
        #expect(west.apiVersion == "v1" && west.chatAPI == "responses" && west.storeResponses)
        #expect(west.includeStreamUsage == nil)
        #expect(config.providers[2].apiVersion == "2025-04-01-preview")
        #expect(config.providers[2].baseURL == "https://contoso-north.openai.azure.com")
        #expect(config.models.map(\.upstreamModel) == ["gpt-4o prod", "gpt-4o-mini", "named"])
    }

    @Test func entraTokenInsteadOfAKey() throws {
        let config = try load(
            """
            providers:
              az:
                kind: azure_openai
                base_url: https://contoso.openai.azure.com
                entra_token_env: TEST_KEY
            models:
              gpt: { provider: az, deployment: gpt-4o }
            """)
        #expect(config.providers[0].entraToken == "sk-secret" && config.providers[0].apiKey == nil)
    }

    @Test func openAIResponsesAPIAndStore() throws {
        let config = try load(
            """
            providers:
              oa:
                kind: openai
                base_url: https://api.openai.com/v1
                api: responses
              compat:
                kind: openai
                base_url: http://127.0.0.1:8000/v1
                api: chat_completions
            """)
        #expect(config.providers[0].chatAPI == "responses" && !config.providers[0].storeResponses)
        #expect(config.providers[1].chatAPI == "chat_completions")
    }

    @Test(
        "wrong values and keys of other kinds are errors, not ignored",
        arguments: [
            ("kind: azure_openai", "test.yaml:3: providers.p: missing key \"base_url\""),
            ("kind: azure_openai\n    base_url: http://x\n    accepts_top_k: true",
             "test.yaml:5: providers.p.accepts_top_k: applies only to providers of kind openai"),
            ("kind: azure_openai\n    base_url: http://x\n    keep_alive: 5m",
             "test.yaml:5: providers.p.keep_alive: applies only to providers of kind ollama"),
            ("kind: azure_openai\n    base_url: http://x\n    api_version: 2024/10",
             "test.yaml:5: providers.p.api_version: must be one path segment, such as v1beta"),
            ("kind: azure_openai\n    base_url: http://x\n    api: assistants",
             "test.yaml:5: providers.p.api: expected chat_completions or responses"),
            ("kind: azure_openai\n    base_url: http://x\n    store: true",
             "test.yaml:5: providers.p.store: store applies only with api: responses"),
            ("kind: azure_openai\n    base_url: http://x\n    api_key_env: TEST_KEY\n    entra_token_env: TEST_KEY",
             "test.yaml:5: providers.p.api_key_env: api_key_env cannot be combined with entra_token_env (choose one credential)"),
            ("kind: azure_openai\n    base_url: http://x\n    entra_token_env: UNSET_VARIABLE",
             "test.yaml:5: providers.p.entra_token_env: environment variable UNSET_VARIABLE is not set"),
            ("kind: openai\n    base_url: http://x\n    api_version: v1",
             "test.yaml:5: providers.p.api_version: applies only to providers of kind azure_openai, gemini"),
            ("kind: openai\n    base_url: http://x\n    entra_token_env: TEST_KEY",
             "test.yaml:5: providers.p.entra_token_env: applies only to providers of kind azure_openai"),
            ("kind: gemini\n    api: responses", "test.yaml:4: providers.p.api: applies only to providers of kind azure_openai, openai"),
            ("kind: openai\n    endpoint: http://x", "test.yaml:4: providers.p.endpoint: applies only to providers of kind azure_openai"),
            ("kind: azure\n    endpoint: http://x\n    base_url: http://y",
             "test.yaml:5: providers.p.base_url: give either base_url or endpoint, not both"),
            ("kind: ollama\n    store: false", "test.yaml:4: providers.p.store: applies only to providers of kind azure_openai, openai"),
        ])
    func providerErrors(provider: String, expected: String) {
        #expect(failure("providers:\n  p:\n    " + provider) == expected)
    }

    @Test(
        "deployment is an Azure model's key, and only one name may be given",
        arguments: [
            ("{ provider: oa, deployment: gpt-4o }",
             "test.yaml:9: models.m.deployment: deployment applies only to models of azure_openai providers (use upstream_model)"),
            ("{ provider: az, deployment: a, upstream_model: b }",
             "test.yaml:9: models.m.deployment: give either deployment or upstream_model, not both"),
        ])
    func modelErrors(model: String, expected: String) {
        let yaml = """
            providers:
              az:
                kind: azure_openai
                base_url: https://contoso.openai.azure.com
              oa:
                kind: openai
                base_url: https://api.openai.com/v1
            models:
              m: \(model)
            """
        #expect(failure(yaml) == expected)
    }
}
