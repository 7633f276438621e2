@testable import ModelGateConfig
import Testing

private let environment: [String: String] = [
    "AWS_ACCESS_KEY_ID": "AKIDDEFAULT", "AWS_SECRET_ACCESS_KEY": "default-secret",
    "MY_KEY_ID": "AKIDCUSTOM", "MY_SECRET": "custom-secret", "MY_TOKEN": "custom-token",
    "AWS_BEARER_TOKEN_BEDROCK": "ABSK-bedrock-key",
]
/// Every configurable provider kind, as the error lists them.
private let allKinds = GatewayConfig.ProviderKind.allCases.filter { $0 != .mock }.map(\.rawValue).joined(separator: ", ")

private let awsLoader = ConfigLoader { environment[$0] }

private func awsLoad(_ yaml: String) throws(ConfigError) -> GatewayConfig {
    try awsLoader.load(yaml: yaml, file: "test.yaml")
}

private func awsFailure(_ yaml: String) -> String {
    do {
        _ = try awsLoad(yaml)
        return "no error"
    } catch {
        return error.description
    }
}

@Suite("Configuration: bedrock and kserve providers")
struct BedrockKServeConfigTests {
    @Test func bedrockWithDefaultCredentialVariables() throws {
        let config = try awsLoad(
            """
            providers:
              aws: { kind: bedrock, region: us-east-1 }
            models:
              claude: { provider: aws, upstream_model: "anthropic.claude-3-haiku-20240307-v1:0" }
            """)
        let provider = try #require(config.providers.first)
        #expect(provider.kind == .bedrock && provider.region == "us-east-1" && provider.baseURL == "")
        #expect(
            provider.awsCredentials
                == GatewayConfig.AWSCredentials(accessKeyID: "AKIDDEFAULT", secretAccessKey: "default-secret", sessionToken: nil))
        #expect(provider.apiKey == nil)
        #expect(!"\(provider.awsCredentials.map { "\($0)" } ?? "")".contains("default-secret"))
    }

    @Test func bedrockWithNamedVariablesAndEndpoint() throws {
        let config = try awsLoad(
            """
            providers:
              aws:
                kind: bedrock
                region: eu-central-1
                base_url: https://vpce-123.bedrock-runtime.eu-central-1.vpce.amazonaws.com/
                aws_access_key_id_env: MY_KEY_ID
                aws_secret_access_key_env: MY_SECRET
                aws_session_token_env: MY_TOKEN
            """)
        let provider = try #require(config.providers.first)
        #expect(provider.baseURL == "https://vpce-123.bedrock-runtime.eu-central-1.vpce.amazonaws.com")
        #expect(
            provider.awsCredentials
                == GatewayConfig.AWSCredentials(
                    accessKeyID: "AKIDCUSTOM", secretAccessKey: "custom-secret", sessionToken: "custom-token"))
    }

    @Test func bedrockWithAPIKey() throws {
        let config = try awsLoad(
            """
            providers:
              aws: { kind: bedrock, region: us-west-2, api_key_env: AWS_BEARER_TOKEN_BEDROCK }
            """)
        let provider = try #require(config.providers.first)
        #expect(provider.apiKey == "ABSK-bedrock-key" && provider.awsCredentials == nil)
    }

    @Test func kserve() throws {
        let config = try awsLoad(
            """
            providers:
              models: { kind: kserve, base_url: "http://sklearn-iris.default.example.com" }
            models:
              iris: { provider: models, kind: predictive, upstream_model: sklearn-iris }
            """)
        #expect(config.providers.first?.kind == .kserve)
        #expect(config.models.first?.kind == .predictive)
    }

    @Test(
        arguments: [
            ("providers:\n  aws: { kind: bedrock }", "test.yaml:2: providers.aws: missing key \"region\""),
            (
                "providers:\n  aws: { kind: bedrock, region: us-east-1, aws_secret_access_key_env: NOPE }",
                "test.yaml:2: providers.aws.aws_secret_access_key_env: environment variable NOPE is not set"
            ),
            (
                "providers:\n  aws: { kind: bedrock, region: us-east-1, aws_session_token_env: NOPE }",
                "test.yaml:2: providers.aws.aws_session_token_env: environment variable NOPE is not set"
            ),
            (
                "providers:\n  aws: { kind: bedrock, region: us-east-1, api_key_env: AWS_BEARER_TOKEN_BEDROCK, aws_access_key_id_env: MY_KEY_ID }",
                "test.yaml:2: providers.aws.aws_access_key_id_env: aws_access_key_id_env cannot be combined with api_key_env (a Bedrock API key needs no signing)"
            ),
            (
                "providers:\n  o: { kind: openai, base_url: http://x, region: us-east-1 }",
                "test.yaml:2: providers.o.region: region applies only to providers of kind bedrock"
            ),
            (
                "providers:\n  o: { kind: openai, base_url: http://x, aws_access_key_id_env: MY_KEY_ID }",
                "test.yaml:2: providers.o.aws_access_key_id_env: aws_access_key_id_env applies only to providers of kind bedrock"
            ),
            (
                "providers:\n  aws: { kind: bedrock, region: us-east-1, unix_socket: /run/proxy.sock }",
                "test.yaml:2: providers.aws.unix_socket: does not apply to providers of kind bedrock"
            ),
            ("providers:\n  k: { kind: kserve }", "test.yaml:2: providers.k: missing key \"base_url\""),
            (
                "providers:\n  k: { kind: sagemaker, base_url: http://x }",
                "test.yaml:2: providers.k.kind: unknown provider kind \"sagemaker\" (expected: \(allKinds))"
            ),
        ])
    func errors(yaml: String, expected: String) {
        #expect(awsFailure(yaml) == expected)
    }

    @Test func missingDefaultCredentialsAreNamed() {
        let bare = ConfigLoader { _ in nil }
        do {
            _ = try bare.load(yaml: "providers:\n  aws: { kind: bedrock, region: us-east-1 }", file: "test.yaml")
            Issue.record("loaded without credentials")
        } catch {
            #expect(error.description == "test.yaml:2: providers.aws: environment variable AWS_ACCESS_KEY_ID is not set")
        }
    }
}
