import Foundation
import ModelGateTestSupport

/// A real gateway with one provider of `kind` pointed at a real fake upstream, for the
/// end-to-end tests of the adapters beyond OpenAI. Each chat model's upstream model is a
/// fake-upstream scenario.
struct ProviderSetup {
    static let providerName = "up"

    let upstream: FakeUpstreamProcess
    let gateway: GatewayProcess

    /// - Parameters:
    ///   - kind: the provider kind (`gemini`, `ollama`, …).
    ///   - models: model name → scenario (the upstream model id).
    ///   - embeddingModels: model name → upstream model, served as `kind: embedding`.
    ///   - providerOptions: more YAML lines of the provider (indented by four spaces).
    init(
        kind: String, models: [String: String], embeddingModels: [String: String] = [:], providerOptions: String = "",
        idleTimeoutMilliseconds: Int? = nil
    ) throws {
        upstream = try FakeUpstreamProcess()
        var providers = "  \(Self.providerName):\n    kind: \(kind)\n    base_url: http://127.0.0.1:\(upstream.port)\n"
        providers += providerOptions
        if let idle = idleTimeoutMilliseconds { providers += "    timeouts:\n      idle_ms: \(idle)\n" }
        var modelsYAML = models.sorted { $0.key < $1.key }.map { name, scenario in
            "  \(name):\n    provider: \(Self.providerName)\n    upstream_model: \"\(scenario)\"\n    pricing: { input: 1, output: 4 }\n"
        }.joined()
        modelsYAML += embeddingModels.sorted { $0.key < $1.key }.map { name, model in
            "  \(name):\n    provider: \(Self.providerName)\n    kind: embedding\n    upstream_model: \"\(model)\"\n"
        }.joined()
        gateway = try GatewayProcess(providers: providers, models: modelsYAML)
    }

    func stop() {
        gateway.stop()
        upstream.stop()
    }
}
