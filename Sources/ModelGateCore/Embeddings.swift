/// A provider-neutral embeddings request (`modelgate.v1.EmbedRequest`).
package struct EmbedRequest: Sendable, Hashable {
    package var model: String
    package var inputs: [String]
    package var dimensions: UInt32?
    package var inputType: String
    package var user: String
    package var tenant: String
    package var metadata: [String: String]

    package init(
        model: String,
        inputs: [String],
        dimensions: UInt32? = nil,
        inputType: String = "",
        user: String = "",
        tenant: String = "",
        metadata: [String: String] = [:]
    ) {
        self.model = model
        self.inputs = inputs
        self.dimensions = dimensions
        self.inputType = inputType
        self.user = user
        self.tenant = tenant
        self.metadata = metadata
    }
}

/// One vector, for the input at `index`.
package struct Embedding: Sendable, Hashable {
    package var index: UInt32
    package var values: [Float]

    package init(index: UInt32, values: [Float]) {
        self.index = index
        self.values = values
    }
}

/// Embeddings for every input, in input order (`modelgate.v1.EmbedResponse`).
package struct EmbedResponse: Sendable, Hashable {
    package var embeddings: [Embedding]
    package var model: String
    package var provider: String
    package var usage: Usage

    package init(embeddings: [Embedding], model: String = "", provider: String = "", usage: Usage = .notReported) {
        self.embeddings = embeddings
        self.model = model
        self.provider = provider
        self.usage = usage
    }
}
