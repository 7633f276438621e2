/// Where a gateway listens, in the client address syntax of docs/protocol.md §6.
package enum GatewayAddress: Sendable, Hashable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    /// The default: `MODELGATE_ADDRESS` if set, else the gateway's default socket.
    package static func fromEnvironment(_ environment: [String: String]) throws(AddressError) -> GatewayAddress {
        if let value = environment["MODELGATE_ADDRESS"], !value.isEmpty {
            return try GatewayAddress(parsing: value)
        }
        return .unix(path: "/tmp/modelgate.sock")
    }

    /// Parses `unix:///abs`, `unix:/abs`, `unix:relative` or `tcp://host:port`.
    package init(parsing text: String) throws(AddressError) {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw AddressError("unix:// addresses need an absolute path: \(text)") }
            self = .unix(path: path)
        } else if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else { throw AddressError("empty unix socket path: \(text)") }
            self = .unix(path: path)
        } else if text.hasPrefix("tcp://") {
            let rest = text.dropFirst("tcp://".count)
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
                (1...65535).contains(port)
            else { throw AddressError("expected tcp://host:port, got \(text)") }
            var host = String(rest[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw AddressError("missing host in \(text)") }
            self = .tcp(host: host, port: port)
        } else {
            throw AddressError("unsupported address \(text) (use unix:///path or tcp://host:port)")
        }
    }

    package var description: String {
        switch self {
        case .unix(let path): path.hasPrefix("/") ? "unix://\(path)" : "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
        }
    }
}

/// An address that could not be parsed.
package struct AddressError: Error, Sendable, Hashable, CustomStringConvertible {
    package var message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { message }
}
