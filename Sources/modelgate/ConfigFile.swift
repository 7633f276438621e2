#if canImport(Glibc)
import Glibc
#endif
import ModelGateConfig

/// Loading the configuration file named on the command line.
enum ConfigFile {
    /// The configuration in `path`, or the embedded defaults when `path` is nil.
    static func load(_ path: String?) throws -> GatewayConfig {
        guard let path else { return GatewayConfig.defaults }
        guard let text = readFile(path) else {
            throw CommandFailure("cannot read configuration file \(path)")
        }
        let loader = ConfigLoader { name in getenv(name).map { String(cString: $0) } }
        do {
            return try loader.load(yaml: text, file: path)
        } catch {
            throw CommandFailure(error.description)
        }
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        guard ferror(file) == 0 else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// An error reported as `modelgate: error: <message>` with exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }
}
