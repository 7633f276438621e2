import Foundation

/// A child process whose first stdout line announces that it is ready.
package final class ChildProcess: @unchecked Sendable {
    // @unchecked: Process and FileHandle are not Sendable; the tests use one ChildProcess
    // from one task at a time, and `stop` is idempotent under the lock.
    private let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let errors = OutputCollector()
    package private(set) var readyLine = ""

    /// Starts `executable` and waits (up to `timeout`) for its first stdout line.
    package init(executable: String, arguments: [String], environment: [String: String] = [:], timeout: Double = 30)
        throws
    {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestSupportError("\(executable) is not built; run `swift build` first")
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
        let stderrHandle = stderrPipe.fileHandleForReading
        let errors = self.errors
        stderrHandle.readabilityHandler = { handle in
            errors.append(handle.availableData)
        }
        guard let line = Self.readLine(stdoutPipe.fileHandleForReading.fileDescriptor, timeout: timeout) else {
            process.terminate()
            process.waitUntilExit()
            Thread.sleep(forTimeInterval: 0.1)
            throw TestSupportError("\(executable) did not report ready; stderr:\n\(errors.text)")
        }
        readyLine = line
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    package var processIdentifier: Int32 { process.processIdentifier }

    package var isRunning: Bool { process.isRunning }

    /// What the process wrote to stderr so far.
    package var standardError: String {
        errors.text
    }

    /// Sends `signal` (SIGTERM by default).
    package func signal(_ signal: Int32 = SIGTERM) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for exit (up to `timeout` seconds) and returns the exit status, or nil on timeout.
    package func waitForExit(timeout: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it does not exit in time.
    package func stop() {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if waitForExit(timeout: 10) == nil {
            signal(SIGKILL)
            _ = waitForExit(timeout: 5)
        }
    }

    private static func readLine(_ fd: Int32, timeout: Double) -> String? {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 100)
            if ready <= 0 { continue }
            var byte: UInt8 = 0
            let count = read(fd, &byte, 1)
            if count <= 0 { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }
}

/// Collects a pipe's output from FileHandle's reader thread.
private final class OutputCollector: @unchecked Sendable {
    // @unchecked: `data` is only touched under `lock`.
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) {
        lock.withLock { data.append(more) }
    }

    var text: String {
        lock.withLock { String(decoding: data, as: UTF8.self) }
    }
}
