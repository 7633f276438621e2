import Foundation
import Testing

@Suite("Executable")
struct ExecutableTests {
    /// The built `modelgate-fake-upstream`, next to the test bundle.
    static var binary: URL {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().appendingPathComponent("modelgate-fake-upstream")
    }

    @Test func printsTheListeningLineServesAndExitsCleanlyOnSIGTERM() async throws {
        let binary = Self.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the product first: \(binary.path)")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--port", "0", "--fixtures", TestFixtures.directory]
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
        }

        // Read the first line byte by byte: it must arrive on its own, flushed.
        var line: [UInt8] = []
        while let byte = try stdout.fileHandleForReading.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") {
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        let prefix = "fake-upstream listening http://127.0.0.1:"
        #expect(text.hasPrefix(prefix))
        let port = try #require(Int(text.dropFirst(prefix.count)))
        #expect(port > 0)

        let response = try send(port: port, body: #"{"model":"replay=openai_chat_stream.sse"}"#)
        #expect(response.body == (try TestFixtures.bytes("openai_chat_stream.sse")))

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        let rest = stdout.fileHandleForReading.readDataToEndOfFile()
        #expect(rest.isEmpty, "nothing else on stdout")
    }
}
