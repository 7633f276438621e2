import Foundation

/// Locations of the repository and of the built binaries the tests launch.
package enum TestPaths {
    /// The package root, derived from this file's path.
    package static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built `modelgate` binary: `$MODELGATE_BIN`, else `.build/debug/modelgate`.
    package static var gatewayBinary: String {
        ProcessInfo.processInfo.environment["MODELGATE_BIN"]
            ?? root.appendingPathComponent(".build/debug/modelgate").path
    }

    /// The built fake upstream: `$MODELGATE_FAKE_UPSTREAM_BIN`, else `.build/debug/modelgate-fake-upstream`.
    package static var fakeUpstreamBinary: String {
        ProcessInfo.processInfo.environment["MODELGATE_FAKE_UPSTREAM_BIN"]
            ?? root.appendingPathComponent(".build/debug/modelgate-fake-upstream").path
    }

    /// The recorded provider streams.
    package static let fixtures = root.appendingPathComponent("Tests/Fixtures/upstream")

    /// The protocol test vectors.
    package static let protocolVectors = root.appendingPathComponent("docs/protocol-vectors")

    /// A fresh private directory (short, so Unix socket paths stay under 108 bytes).
    package static func temporaryDirectory() throws -> URL {
        let template = "/tmp/mgt.XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let result = mkdtemp(&bytes) else { throw TestSupportError("mkdtemp failed") }
        return URL(fileURLWithPath: String(cString: result))
    }
}

/// A failure in the test harness itself.
package struct TestSupportError: Error, CustomStringConvertible {
    package var description: String

    package init(_ description: String) {
        self.description = description
    }
}
