import ModelGateUpstream

/// How one AWS Bedrock Runtime endpoint is reached and authenticated.
package struct BedrockProviderConfiguration: Sendable {
    /// How requests are authenticated.
    package enum Authentication: Sendable, Hashable {
        /// AWS Signature Version 4 with service name `bedrock`, signed in Swift.
        case sigV4(AWSCredentials)
        /// A Bedrock API key, sent as `Authorization: Bearer …` (no signing).
        case apiKey(String)
    }

    /// The provider's name in the configuration, reported in responses and errors.
    package var name: String
    /// The AWS region, e.g. `us-east-1`; part of the SigV4 scope.
    package var region: String
    /// `https://bedrock-runtime.{region}.amazonaws.com` unless overridden (VPC endpoints,
    /// tests); `/model/{id}/…` is appended.
    package var baseURL: String
    package var authentication: Authentication
    /// Extra request headers (not secrets: they may be logged). They are signed too.
    package var extraHeaders: [HTTPHeader]
    package var timeouts: UpstreamTimeouts
    package var httpVersion: HTTPVersionPreference
    /// The largest non-streamed response body accepted.
    package var maxUnaryResponseBytes: Int
    /// The largest single event-stream message accepted (at most 24 MiB, the framing's own
    /// limit).
    package var maxStreamMessageBytes: Int
    /// Embedding requests sent at once: Titan takes one input per call.
    package var maxConcurrentEmbeddingCalls: Int

    package init(
        name: String,
        region: String,
        baseURL: String? = nil,
        authentication: Authentication,
        extraHeaders: [HTTPHeader] = [],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        httpVersion: HTTPVersionPreference = .automatic,
        maxUnaryResponseBytes: Int = 32 << 20,
        maxStreamMessageBytes: Int = AWSEventStreamDecoder.defaultMaxMessageBytes,
        maxConcurrentEmbeddingCalls: Int = 4
    ) {
        self.name = name
        self.region = region
        self.baseURL = baseURL ?? Self.defaultBaseURL(region: region)
        self.authentication = authentication
        self.extraHeaders = extraHeaders
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.maxUnaryResponseBytes = maxUnaryResponseBytes
        self.maxStreamMessageBytes = min(maxStreamMessageBytes, AWSEventStreamDecoder.defaultMaxMessageBytes)
        self.maxConcurrentEmbeddingCalls = max(1, maxConcurrentEmbeddingCalls)
    }

    /// The public regional endpoint.
    package static func defaultBaseURL(region: String) -> String {
        "https://bedrock-runtime.\(region).amazonaws.com"
    }

    /// Values that must never appear in errors or logs.
    package var secrets: [String] {
        switch authentication {
        case .sigV4(let credentials):
            [credentials.secretAccessKey, credentials.sessionToken].compactMap { $0 }
        case .apiKey(let key):
            [key]
        }
    }
}
