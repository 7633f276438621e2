/// The gateway's version, reported by `--version`, HELLO and Health.
package enum ModelGateVersion {
    package static let current = "0.1.0"
}
