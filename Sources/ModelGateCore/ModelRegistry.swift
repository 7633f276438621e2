/// One model the gateway serves: its names, its kind and its deployments.
package struct ServedModel: Sendable {
    package var name: String
    package var aliases: [String]
    package var kind: ModelKind
    /// In order of preference.
    package var deployments: [Deployment]

    package init(name: String, aliases: [String] = [], kind: ModelKind = .chat, deployments: [Deployment]) {
        self.name = name
        self.aliases = aliases
        self.kind = kind
        self.deployments = deployments
    }
}

/// Resolves the model names and aliases callers use to the deployments that serve them.
///
/// Immutable once built; a configuration reload builds a new registry.
package struct ModelRegistry: Sendable {
    private var models: [ServedModel] = []
    private var index: [String: Int] = [:]

    package init() {}

    /// Adds a model.
    /// - Throws: a message naming the clash when a name or alias is already taken.
    package mutating func register(_ model: ServedModel) throws(RegistryError) {
        for name in [model.name] + model.aliases {
            if index[name] != nil {
                throw RegistryError(message: "model name \"\(name)\" is defined twice")
            }
        }
        models.append(model)
        for name in [model.name] + model.aliases {
            index[name] = models.count - 1
        }
    }

    /// The model called `name` (or aliased so).
    /// - Throws: ``GatewayError`` NOT_FOUND when there is none.
    package func resolve(_ name: String) throws(GatewayError) -> ServedModel {
        guard let position = index[name] else { throw GatewayError.unknownModel(name) }
        return models[position]
    }

    /// The first deployment of `name`, for a call of the given kind.
    package func deployment(for name: String, kind: ModelKind) throws(GatewayError) -> Deployment {
        let model = try resolve(name)
        guard model.kind == kind else {
            throw GatewayError.invalidRequest("model \"\(name)\" is a \(model.kind.label) model, not a \(kind.label) model")
        }
        guard let first = model.deployments.first else { throw GatewayError.unknownModel(name) }
        return first
    }

    /// Every served model, in configuration order.
    package var all: [ModelInfo] {
        models.map { model in
            ModelInfo(
                name: model.name, aliases: model.aliases, kind: model.kind,
                providers: model.deployments.map { $0.provider.name })
        }
    }
}

/// A configuration mistake found while building a ``ModelRegistry``.
package struct RegistryError: Error, Sendable, Hashable {
    package var message: String
}

extension ModelKind {
    package var label: String {
        switch self {
        case .unspecified: "unspecified"
        case .chat: "chat"
        case .embedding: "embedding"
        case .predictive: "predictive"
        }
    }
}
