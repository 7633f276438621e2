/// A newline-delimited JSON body had a line longer than the decoder accepts.
package struct NDJSONLineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The limit on one line's size that was exceeded, in bytes.
    package var limit: Int

    package init(limit: Int) {
        self.limit = limit
    }

    package var description: String { "NDJSON line longer than \(limit) bytes" }
}

/// An incremental splitter of newline-delimited JSON bodies (NDJSON, JSON Lines: Ollama's
/// streams) into lines, the sibling of ``ServerSentEventDecoder``.
///
/// Feed it the body in whatever pieces the network delivers and pull complete lines out:
///
/// ```swift
/// for try await chunk in body {
///     lines.append(chunk)
///     while let line = try lines.next() { … }
/// }
/// if lines.hasPartialLine { /* the stream stopped mid-line */ }
/// ```
///
/// - A line ends with LF; a CR right before it is dropped, so CRLF works too. A lone CR is
///   part of the line (JSON counts it as whitespace).
/// - Lines holding only whitespace are skipped.
/// - A line still open when the input ends is never returned (``hasPartialLine`` tells that
///   one was pending, so adapters can report truncation).
/// - Memory is bounded: no line may exceed `maxLineBytes` (its terminator not counted),
///   whatever the piece boundaries.
///
/// Every byte is scanned once, whatever the piece boundaries.
package struct NDJSONLineDecoder: Sendable {
    /// The default bound on one line: 8 MiB, the size of the Ollama client's own line buffer.
    package static let defaultMaxLineBytes = 8 << 20

    /// The longest line accepted, in bytes.
    package let maxLineBytes: Int

    /// The piece being read: the network's own array, so lines are copied only once, out of it.
    private var chunk: [UInt8] = []
    /// Start of the unread part of `chunk`.
    private var offset = 0
    /// The start of a line whose LF has not arrived yet, gathered from earlier pieces.
    private var pending: [UInt8] = []

    package init(maxLineBytes: Int = NDJSONLineDecoder.defaultMaxLineBytes) {
        self.maxLineBytes = maxLineBytes
    }

    /// Adds bytes received from the network.
    package mutating func append(_ bytes: [UInt8]) {
        if offset < chunk.count {
            chunk = Array(chunk[offset...]) + bytes  // the caller did not read every line
        } else {
            chunk = bytes
        }
        offset = 0
    }

    /// Whether part of a line was received but not its LF. At the end of the input this means
    /// the stream was cut mid-line.
    package var hasPartialLine: Bool {
        !pending.isEmpty || offset < chunk.count
    }

    /// The next complete line without its line end, or nil when more input is needed.
    /// - Throws: ``NDJSONLineError`` when a line exceeds ``maxLineBytes``.
    package mutating func next() throws(NDJSONLineError) -> [UInt8]? {
        while true {
            guard let lineFeed = LineEnds.first(in: chunk, from: offset, orCarriageReturn: false) else {
                pending.append(contentsOf: chunk[offset...])
                chunk = []
                offset = 0
                // One byte more than the limit may be the CR of a CRLF still to come.
                guard pending.count <= maxLineBytes + 1 else { throw NDJSONLineError(limit: maxLineBytes) }
                return nil
            }
            var line: [UInt8]
            if pending.isEmpty {
                line = Array(chunk[offset..<lineFeed])
            } else {
                line = []
                swap(&line, &pending)
                line.append(contentsOf: chunk[offset..<lineFeed])
            }
            offset = lineFeed + 1
            if line.last == 0x0D { line.removeLast() }
            guard line.count <= maxLineBytes else { throw NDJSONLineError(limit: maxLineBytes) }
            if !isBlank(line) { return line }
        }
    }

    private func isBlank(_ line: [UInt8]) -> Bool {
        line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
    }
}
