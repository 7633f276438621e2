import CCurl
import Synchronization

/// One HTTP exchange: its easy handle, its timers, and the hand-off of head and body.
///
/// `@unchecked Sendable`: after `execute` hands a transfer to libcurl, every mutable field
/// below is read and written only under the client's driver lock (the libcurl callbacks run
/// inside libcurl calls made under it). The exceptions are the atomic cancellation flag and
/// `BodySource`, which is itself thread-safe. The lock, or the command queue's mutex before
/// it, orders the hand-off.
final class Transfer: @unchecked Sendable {
    let id: UInt64
    /// The request; its body is dropped once libcurl holds its own copy (a prompt can be
    /// large, and a stream lasts).
    private(set) var request: UpstreamRequest
    unowned let client: CurlClient
    let body: BodySource

    // Driver-lock state.
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var headContinuation: CheckedContinuation<UpstreamResponse, any Error>?
    var status = 0
    var headers = HTTPHeaders()
    /// The response head arrived (the first-byte timer is over, the idle timer runs).
    var headReceived = false
    var paused = false
    var startedAt = ContinuousClock.now
    var lastActivity = ContinuousClock.now
    /// Set when the gateway itself ended the transfer (timeout, cancel), which explains the
    /// libcurl error that follows.
    var failure: UpstreamError?
    private let cancelRequested = Atomic<Bool>(false)

    init(request: UpstreamRequest, client: CurlClient) throws {
        guard request.url.hasPrefix("http://") || request.url.hasPrefix("https://") else {
            throw UpstreamError(.invalidRequest, "upstream URLs must be http:// or https://")
        }
        let id = client.nextTransferID()
        self.id = id
        self.request = request
        self.client = client
        // The body reaches its transfer through the driver's table, by id, so neither
        // keeps the other alive.
        // A token stream pauses sooner: its pieces are small, a reader that keeps up never gets
        // near the mark, and one that cannot (an overloaded gateway, thousands of streams)
        // should leave the tokens upstream rather than in memory.
        let configuration = client.configuration
        let streamLimit = request.streamsResponse ? CurlClient.Configuration.streamBodyHighWaterMark : Int.max
        self.body = BodySource(
            highWaterMark: min(configuration.bodyHighWaterMark, streamLimit),
            lowWaterMark: min(configuration.bodyLowWaterMark, streamLimit / 4),
            resume: { [client] in client.submit(.resume(id)) },
            cancel: { [client] in client.submit(.cancel(id)) })
    }

    /// Whether the transfer may share a connection as an HTTP/2 stream: HTTPS (HTTP/2 through
    /// ALPN) or HTTP/2 with prior knowledge. Only then is waiting for a connection that is
    /// still being set up worth it: libcurl 7.88 parks a transfer waiting on an HTTP/1.1
    /// connection until some other transfer finishes (seen: 10 % of 1,000 paced streams started
    /// 2.2 s late, the length of a stream).
    var mayMultiplex: Bool {
        switch request.httpVersion {
        case .http2PriorKnowledge: true
        case .automatic: request.url.hasPrefix("https://")
        case .http1: false
        }
    }

    /// libcurl's receive buffer for this transfer. The driver pools easy handles by this size,
    /// so a handle's buffer never changes size between transfers.
    var receiveBufferSize: Int { request.streamsResponse ? 4 * 1024 : 16 * 1024 }

    /// The host part of the URL, for error messages (never the path or query: Gemini puts
    /// keys in the query).
    var host: String {
        let afterScheme = request.url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        return afterScheme.count > 2 ? String(afterScheme[2]) : request.url
    }

    // MARK: Cancellation from any thread

    var isCancellationRequested: Bool { cancelRequested.load(ordering: .acquiring) }

    /// Aborts the transfer. The flag covers a cancellation that arrives before the transfer
    /// was even started.
    func requestCancellation() {
        cancelRequested.store(true, ordering: .releasing)
        client.submit(.cancel(id))
    }

    // MARK: Easy-handle setup (under the driver lock)

    /// Configures an easy handle: `reusing` one from the pool (reset to defaults first), or a
    /// new one. Reuse spares libcurl's per-handle buffers an allocation on every request.
    func makeEasyHandle(reusing pooled: UnsafeMutableRawPointer?) throws(UpstreamError) -> UnsafeMutableRawPointer {
        let easy: UnsafeMutableRawPointer
        if let pooled {
            curl_easy_reset(pooled)
            easy = pooled
        } else {
            guard let fresh = curl_easy_init() else {
                throw UpstreamError(.invalidRequest, "curl_easy_init failed")
            }
            easy = fresh
        }
        self.easy = easy
        let context = Unmanaged.passUnretained(self).toOpaque()
        var ok = true
        func set(_ result: CURLcode) { ok = ok && result == CURLE_OK }

        set(ccurl_easy_setopt_string(easy, CURLOPT_URL, request.url))
        set(ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        // Provider URLs come from configuration only; never follow redirects elsewhere.
        set(ccurl_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(ccurl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0))
        set(ccurl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1))
        set(ccurl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
        if mayMultiplex {
            // Wait for a connection still being set up rather than open a parallel one: it may
            // carry this request as another HTTP/2 stream.
            set(ccurl_easy_setopt_long(easy, CURLOPT_PIPEWAIT, 1))
        }
        // Always set: a pooled handle only ever serves one size (see `receiveBufferSize`).
        set(ccurl_easy_setopt_long(easy, CURLOPT_BUFFERSIZE, receiveBufferSize))
        set(ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(request.timeouts.connect.milliseconds)))
        set(ccurl_easy_setopt_string(easy, CURLOPT_USERAGENT, client.configuration.userAgent))
        switch request.httpVersion {
        case .automatic: set(ccurl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS))
        case .http1: set(ccurl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1))
        case .http2PriorKnowledge:
            set(ccurl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE))
        }
        if let socketPath = request.unixSocketPath {
            set(ccurl_easy_setopt_string(easy, CURLOPT_UNIX_SOCKET_PATH, socketPath))
        }

        switch request.method {
        case "GET":
            set(ccurl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1))
        case "POST":
            set(ccurl_easy_setopt_long(easy, CURLOPT_POST, 1))
        default:
            set(ccurl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method))
        }
        if request.method != "GET" {
            set(ccurl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            // COPYPOSTFIELDS: libcurl keeps its own copy, so the body's lifetime is not ours to manage.
            request.body.withUnsafeBufferPointer { bytes in
                let pointer = UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                set(ccurl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, pointer))
            }
            request.body = []
        }

        var list: UnsafeMutablePointer<curl_slist>?
        for header in request.headers {
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        // libcurl adds "Expect: 100-continue" to large POSTs; providers do not need the round trip.
        list = curl_slist_append(list, "Expect:")
        headerList = list
        set(ccurl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list))

        set(ccurl_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, transferHeaderCallback))
        set(ccurl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context))
        set(ccurl_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, transferWriteCallback))
        set(ccurl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context))
        set(ccurl_easy_setopt_pointer(easy, CURLOPT_PRIVATE, context))
        guard ok else {
            throw UpstreamError(.invalidRequest, "libcurl rejected an option for \(host)")
        }
        return easy
    }

    /// Frees the header list and gives up the easy handle (already off the multi handle), which
    /// the caller pools or cleans up.
    func releaseHandles() -> UnsafeMutableRawPointer? {
        if let headerList {
            curl_slist_free_all(headerList)
            self.headerList = nil
        }
        defer { easy = nil }
        return easy
    }

    // MARK: Callbacks (inside libcurl calls, under the driver lock)

    /// One header line; a blank line ends a header block.
    func receivedHeaderLine(_ line: UnsafeBufferPointer<UInt8>) {
        var end = line.count
        while end > 0 && (line[end - 1] == 0x0A || line[end - 1] == 0x0D) { end -= 1 }
        let text = String(decoding: UnsafeBufferPointer(rebasing: line[0..<end]), as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            // A new status line: 1xx interim responses and redirects start a fresh block.
            headers = HTTPHeaders()
            let parts = text.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            return
        }
        if text.isEmpty {
            if status >= 200 { receivedHead() }
            return
        }
        if let colon = text.firstIndex(of: ":") {
            let name = String(text[..<colon]).lowercased()
            var value = text[text.index(after: colon)...]
            while value.first == " " || value.first == "\t" { value = value.dropFirst() }
            headers.append(name, String(value))
        }
    }

    /// Body bytes: accepted, or refused with a pause when the reader is behind.
    func receivedBody(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        receivedHead()
        switch body.yield(Array(bytes)) {
        case .accepted:
            lastActivity = .now
            return bytes.count
        case .full:
            // A held head must go now: the caller has to start reading for the body to move.
            handOverHead()
            paused = true
            return ccurl_writefunc_pause
        case .consumerGone:
            failure = UpstreamError(.cancelled, "the response reader went away")
            return 0  // any short count aborts the transfer with CURLE_WRITE_ERROR
        }
    }

    /// Whether the caller gets the head only together with the whole body (or once the body
    /// buffer is full). A unary answer usually arrives in one read; handing the head over
    /// first would wake the caller, which would then find the body incomplete and sleep
    /// again: two or three cross-thread wake-ups instead of one.
    private var holdsHeadForBody: Bool { !request.streamsResponse }

    private func receivedHead() {
        guard !headReceived else { return }
        headReceived = true
        lastActivity = .now
        if !holdsHeadForBody { handOverHead() }
    }

    /// Hands the response head to `execute`'s caller, once.
    private func handOverHead() {
        guard let continuation = headContinuation else { return }
        headContinuation = nil
        continuation.resume(returning: UpstreamResponse(status: status, headers: headers, body: UpstreamBody(source: body)))
    }

    /// Ends the transfer: `error` nil for a complete response. The body ends before the head
    /// is handed over, so a caller woken by the head finds the whole body waiting. A failure
    /// after the head arrived fails the body read, not the head.
    func complete(_ error: UpstreamError?) {
        if let error, !headReceived, let continuation = headContinuation {
            headContinuation = nil
            body.finish(error)
            continuation.resume(throwing: error)
            return
        }
        body.finish(error)
        handOverHead()
    }
}

private func transferHeaderCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    transfer.receivedHeaderLine(
        UnsafeBufferPointer(start: UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: length))
    return length
}

private func transferWriteCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    guard let data, length > 0 else { return 0 }
    return transfer.receivedBody(
        UnsafeBufferPointer(start: UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: length))
}

extension Duration {
    /// Whole milliseconds, rounded up so a small positive duration never becomes "no limit".
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    }
}
