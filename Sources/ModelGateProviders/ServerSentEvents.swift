import ModelGateCore
import ModelGateJSON

/// One event of a `text/event-stream` body.
package struct ServerSentEvent: Sendable, Hashable {
    /// The `event:` field; `message` when the event did not name one.
    package var type: String
    /// The event's `data:` lines joined with LF.
    package var data: [UInt8]
    /// The last `id:` seen in the stream so far (it carries over to later events).
    package var lastEventID: String

    package init(type: String = "message", data: [UInt8], lastEventID: String = "") {
        self.type = type
        self.data = data
        self.lastEventID = lastEventID
    }

    /// Whether the data is exactly `text`.
    package func dataEquals(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard data.count == count else { return false }
        let expected = text.utf8Start
        for index in 0..<count where data[index] != expected[index] {
            return false
        }
        return true
    }
}

/// An event stream broke the decoder's limits.
package struct ServerSentEventError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The limit on one event's size that was exceeded, in bytes.
    package var limit: Int

    package init(limit: Int) {
        self.limit = limit
    }

    package var description: String { "server-sent event larger than \(limit) bytes" }
}

/// What ``ServerSentEventDecoder/nextItem()`` read.
package enum ServerSentEventItem: Sendable, Hashable {
    /// A dispatched event.
    case event(ServerSentEvent)
    /// A line that is neither a comment nor one of the fields SSE defines (`data`, `event`,
    /// `id`, `retry`), without its line end. The format says to ignore such lines, and
    /// ``ServerSentEventDecoder/next()`` does; Gemini sends mid-stream errors as bare JSON
    /// lines, which only this shows.
    case unknownLine([UInt8])
}

/// An incremental `text/event-stream` parser following the WHATWG HTML "event stream
/// interpretation" rules.
///
/// Feed it the body in whatever pieces the network delivers and pull complete events out:
///
/// ```swift
/// for try await chunk in body {
///     decoder.append(chunk)
///     while let event = try decoder.next() { … }
/// }
/// if decoder.hasPartialEvent { /* the stream stopped mid-event */ }
/// ```
///
/// - Lines end with CR, LF or CRLF; a CR that ends one piece and an LF that starts the next
///   are one line end.
/// - `data:` lines accumulate, joined with LF; one space after the colon is dropped; lines
///   starting with `:` are comments; `event:`, `id:` and `retry:` are honoured; other fields
///   are ignored (``nextItem()`` reports them as unknown lines). A blank line dispatches the
///   event; an event without data is not dispatched.
/// - A leading UTF-8 byte-order mark is skipped.
/// - An event that is still open when the input ends is never dispatched (``hasPartialEvent``
///   tells that one was pending, so adapters can report truncation).
/// - Memory is bounded: an event's data may not exceed `maxEventBytes`, nor may any line
///   (`maxEventBytes` plus the room for a `data: ` prefix).
///
/// Every byte is scanned once, whatever the piece boundaries.
package struct ServerSentEventDecoder: Sendable {
    /// The default bound on one event's size: 8 MiB.
    package static let defaultMaxEventBytes = 8 << 20

    /// The largest event accepted, in bytes.
    package let maxEventBytes: Int
    /// The `retry:` value last received, in milliseconds.
    package private(set) var reconnectionTimeMilliseconds: Int?

    private var buffer: [UInt8] = []
    /// Start of the bytes not yet consumed as lines.
    private var readIndex = 0
    /// Where to resume looking for a line end; the bytes between `readIndex` and here have none.
    private var scanIndex = 0
    /// The previous line ended with a CR at the very end of the input so far; a LF arriving
    /// next belongs to that line end.
    private var skipLineFeed = false
    private var byteOrderMarkChecked = false

    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: String?
    private var lastEventID = ""
    /// The most recent `event:` value, reused when the next event names the same type so that
    /// streams of named events (Anthropic) do not allocate a String per event.
    private var cachedTypeBytes: [UInt8] = []
    private var cachedType = ""

    package init(maxEventBytes: Int = ServerSentEventDecoder.defaultMaxEventBytes) {
        self.maxEventBytes = maxEventBytes
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

    /// Whether an event had started (fields or part of a line received) but was not yet
    /// dispatched. At the end of the input this means the stream was cut mid-event.
    package var hasPartialEvent: Bool {
        hasData || eventType != nil || readIndex < buffer.count
    }

    /// The next complete event, or nil when more input is needed.
    /// - Throws: ``ServerSentEventError`` when an event exceeds ``maxEventBytes``.
    package mutating func next() throws(ServerSentEventError) -> ServerSentEvent? {
        // Without reporting, no unknown line is ever returned.
        guard case .event(let event)? = try nextItem(reportingUnknownLines: false) else { return nil }
        return event
    }

    /// The next complete event or unknown line (see ``ServerSentEventItem``), or nil when
    /// more input is needed.
    /// - Throws: ``ServerSentEventError`` when an event or line exceeds ``maxEventBytes``.
    package mutating func nextItem() throws(ServerSentEventError) -> ServerSentEventItem? {
        try nextItem(reportingUnknownLines: true)
    }

    private mutating func nextItem(reportingUnknownLines: Bool) throws(ServerSentEventError) -> ServerSentEventItem? {
        if !byteOrderMarkChecked {
            guard skipByteOrderMark() else { return nil }
        }
        while true {
            if skipLineFeed {
                guard readIndex < buffer.count else { return nil }
                skipLineFeed = false
                if buffer[readIndex] == 0x0A {
                    readIndex += 1
                    scanIndex = max(scanIndex, readIndex)
                }
            }
            guard let lineEnd = findLineEnd() else {
                scanIndex = buffer.count
                if buffer.count - readIndex > maxLineBytes {
                    throw ServerSentEventError(limit: maxEventBytes)
                }
                compact()
                return nil
            }
            let lineStart = readIndex
            readIndex = lineEnd + 1
            if buffer[lineEnd] == 0x0D {
                if readIndex < buffer.count {
                    if buffer[readIndex] == 0x0A { readIndex += 1 }
                } else {
                    skipLineFeed = true
                }
            }
            scanIndex = readIndex
            if let item = try processLine(lineStart..<lineEnd, reportingUnknownLines: reportingUnknownLines) {
                return item
            }
        }
    }

    // MARK: Lines

    /// The offset of the next CR or LF at or after `scanIndex`.
    private func findLineEnd() -> Int? {
        LineEnds.first(in: buffer, from: scanIndex, orCarriageReturn: true)
    }

    /// The longest line accepted: a `data: ` line carrying a maximal event. Checking complete
    /// and pending lines against the same bound makes the outcome independent of how the
    /// input was split.
    private var maxLineBytes: Int { maxEventBytes + 6 }

    private mutating func processLine(_ line: Range<Int>, reportingUnknownLines: Bool) throws(ServerSentEventError)
        -> ServerSentEventItem?
    {
        if line.isEmpty { return dispatch().map { .event($0) } }
        guard line.count <= maxLineBytes else { throw ServerSentEventError(limit: maxEventBytes) }
        if buffer[line.lowerBound] == UInt8(ascii: ":") { return nil }  // comment

        var colon = line.upperBound
        for index in line where buffer[index] == UInt8(ascii: ":") {
            colon = index
            break
        }
        var valueStart = min(colon + 1, line.upperBound)
        if valueStart < line.upperBound, buffer[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let name = line.lowerBound..<colon
        let value = valueStart..<line.upperBound

        if fieldName(name, is: "data") {
            if hasData { data.append(0x0A) }
            guard data.count + value.count <= maxEventBytes else { throw ServerSentEventError(limit: maxEventBytes) }
            data.append(contentsOf: buffer[value])
            hasData = true
        } else if fieldName(name, is: "event") {
            setEventType(value)
        } else if fieldName(name, is: "id") {
            if !buffer[value].contains(0) {
                lastEventID = String(decoding: buffer[value], as: UTF8.self)
            }
        } else if fieldName(name, is: "retry") {
            setReconnectionTime(value)
        } else if reportingUnknownLines {
            return .unknownLine(Array(buffer[line]))
        }
        return nil
    }

    private func fieldName(_ name: Range<Int>, is expected: StaticString) -> Bool {
        guard name.count == expected.utf8CodeUnitCount else { return false }
        let text = expected.utf8Start
        for offset in 0..<name.count where buffer[name.lowerBound + offset] != text[offset] {
            return false
        }
        return true
    }

    private mutating func setEventType(_ value: Range<Int>) {
        if !buffer[value].elementsEqual(cachedTypeBytes) {
            cachedTypeBytes = Array(buffer[value])
            cachedType = String(decoding: cachedTypeBytes, as: UTF8.self)
        }
        eventType = cachedType
    }

    private mutating func setReconnectionTime(_ value: Range<Int>) {
        guard !value.isEmpty else { return }
        var milliseconds = 0
        for index in value {
            let digit = buffer[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return }
            let (shifted, overflow1) = milliseconds.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.addingReportingOverflow(Int(digit))
            guard !overflow1, !overflow2 else { return }
            milliseconds = next
        }
        reconnectionTimeMilliseconds = milliseconds
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            hasData = false
            eventType = nil
        }
        guard hasData else { return nil }
        let event = ServerSentEvent(
            type: eventType.flatMap { $0.isEmpty ? nil : $0 } ?? "message", data: data, lastEventID: lastEventID)
        data = []
        return event
    }

    // MARK: Buffer

    /// Skips a UTF-8 BOM at the start of the stream; false while too few bytes have arrived to tell.
    private mutating func skipByteOrderMark() -> Bool {
        let mark: [UInt8] = [0xEF, 0xBB, 0xBF]
        let available = buffer.count - readIndex
        let compared = min(available, 3)
        guard buffer[readIndex..<readIndex + compared].elementsEqual(mark[..<compared]) else {
            byteOrderMarkChecked = true
            return true
        }
        guard available >= 3 else { return false }
        readIndex += 3
        scanIndex = max(scanIndex, readIndex)
        byteOrderMarkChecked = true
        return true
    }

    /// Drops consumed bytes so the buffer holds only the line being read.
    private mutating func compact() {
        guard readIndex > 0 else { return }
        buffer.removeSubrange(0..<readIndex)
        scanIndex -= readIndex
        readIndex = 0
    }
}

extension ServerSentEventDecoder {
    /// ``next()`` for an adapter: an event over the size limit is the provider's
    /// INTERNAL / UPSTREAM_MALFORMED.
    mutating func nextEvent(provider: String) throws(GatewayError) -> ServerSentEvent? {
        do {
            return try next()
        } catch {
            throw OpenAIResponseDecoding.malformed("a stream event larger than \(error.limit) bytes", provider: provider)
        }
    }
}
