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

    private var buffer: [UInt8] = []
    /// Start of the bytes not yet returned as lines.
    private var readIndex = 0
    /// Where to resume looking for a LF; the bytes between `readIndex` and here have none.
    private var scanIndex = 0

    package init(maxLineBytes: Int = NDJSONLineDecoder.defaultMaxLineBytes) {
        self.maxLineBytes = maxLineBytes
    }

    /// Adds bytes received from the network.
    package mutating func append(_ bytes: [UInt8]) {
        if readIndex == buffer.count, readIndex > 0 {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
            scanIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Whether part of a line was received but not its LF. At the end of the input this means
    /// the stream was cut mid-line.
    package var hasPartialLine: Bool {
        readIndex < buffer.count
    }

    /// The next complete line without its line end, or nil when more input is needed.
    /// - Throws: ``NDJSONLineError`` when a line exceeds ``maxLineBytes``.
    package mutating func next() throws(NDJSONLineError) -> [UInt8]? {
        while true {
            guard let lineFeed = LineEnds.first(in: buffer, from: scanIndex, orCarriageReturn: false) else {
                scanIndex = buffer.count
                // One byte more than the limit may be the CR of a CRLF still to come.
                if buffer.count - readIndex > maxLineBytes + 1 {
                    throw NDJSONLineError(limit: maxLineBytes)
                }
                compact()
                return nil
            }
            var line = readIndex..<lineFeed
            readIndex = lineFeed + 1
            scanIndex = readIndex
            if let last = line.last, buffer[last] == 0x0D { line = line.lowerBound..<last }
            guard line.count <= maxLineBytes else { throw NDJSONLineError(limit: maxLineBytes) }
            if !isBlank(line) { return Array(buffer[line]) }
        }
    }

    private func isBlank(_ line: Range<Int>) -> Bool {
        for index in line {
            switch buffer[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): continue
            default: return false
            }
        }
        return true
    }

    /// Drops returned bytes so the buffer holds only the line being read.
    private mutating func compact() {
        guard readIndex > 0 else { return }
        buffer.removeSubrange(0..<readIndex)
        scanIndex -= readIndex
        readIndex = 0
    }
}
