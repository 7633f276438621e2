import ModelGateUpstream

/// How one server speaking the KServe v2 Open Inference Protocol over REST (KServe, Triton,
/// MLServer, TorchServe, OpenVINO Model Server) is reached.
package struct KServeProviderConfiguration: Sendable {
    /// The provider's name in the configuration, reported in responses and errors.
    package var name: String
    /// The server root, e.g. `http://sklearn-iris.default.example.com`; `/v2/models/…` is
    /// appended.
    package var baseURL: String
    /// Sent as `Authorization: Bearer …` when set (servers behind an authenticating proxy).
    package var apiKey: String?
    /// Extra request headers (not secrets: they may be logged).
    package var extraHeaders: [HTTPHeader]
    package var timeouts: UpstreamTimeouts
    package var httpVersion: HTTPVersionPreference
    /// Connect through this Unix-domain socket instead of TCP.
    package var unixSocketPath: String?
    /// The largest response body accepted.
    package var maxResponseBytes: Int

    package init(
        name: String,
        baseURL: String,
        apiKey: String? = nil,
        extraHeaders: [HTTPHeader] = [],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        httpVersion: HTTPVersionPreference = .automatic,
        unixSocketPath: String? = nil,
        maxResponseBytes: Int = 64 << 20
    ) {
        self.name = name
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.extraHeaders = extraHeaders
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.unixSocketPath = unixSocketPath
        self.maxResponseBytes = maxResponseBytes
    }
}
