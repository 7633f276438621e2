import Foundation

/// The recorded provider streams in Tests/Fixtures/upstream.
enum Fixtures {
    static let directory: String = {
        var components = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)  // Support/Fixtures.swift under ModelGateProvidersTests
        return components.joined(separator: "/") + "/Fixtures/upstream"
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        let path = directory + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FixtureMissing(path: path)
        }
        return [UInt8](data)
    }

    struct FixtureMissing: Error {
        let path: String
    }
}

extension Array where Element == UInt8 {
    /// The index just past the first occurrence of `text`, if any.
    func end(of text: String) -> Int? {
        let needle = Array(text.utf8)
        guard needle.count <= count else { return nil }
        for start in 0...(count - needle.count) where self[start..<start + needle.count].elementsEqual(needle) {
            return start + needle.count
        }
        return nil
    }
}
