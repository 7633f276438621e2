/// What a model can do (`modelgate.v1.ModelKind`).
package enum ModelKind: Int32, Sendable, Hashable {
    case unspecified = 0
    case chat = 1
    case embedding = 2
    case predictive = 3

    package init(wireValue: Int32) {
        self = ModelKind(rawValue: wireValue) ?? .unspecified
    }
}

/// One served model (`modelgate.v1.ModelInfo`).
package struct ModelInfo: Sendable, Hashable {
    package var name: String
    package var aliases: [String]
    package var kind: ModelKind
    package var providers: [String]

    package init(name: String, aliases: [String] = [], kind: ModelKind, providers: [String]) {
        self.name = name
        self.aliases = aliases
        self.kind = kind
        self.providers = providers
    }
}

/// Gateway health (`modelgate.v1.ServingStatus`).
package enum ServingStatus: Int32, Sendable, Hashable {
    case unspecified = 0
    case serving = 1
    case notServing = 2
    case draining = 3

    package init(wireValue: Int32) {
        self = ServingStatus(rawValue: wireValue) ?? .unspecified
    }
}

/// The answer to a health check (`modelgate.v1.HealthResponse`).
package struct HealthStatus: Sendable, Hashable {
    package var status: ServingStatus
    package var version: String
    package var uptimeSeconds: UInt64

    package init(status: ServingStatus, version: String, uptimeSeconds: UInt64) {
        self.status = status
        self.version = version
        self.uptimeSeconds = uptimeSeconds
    }
}
