import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// libcurl's multi handle and everything attached to it, driven through the socket API
/// (`curl_multi_socket_action`) over an epoll set.
///
/// Not thread-safe by itself: every method runs under ``CurlClient``'s driver lock, and
/// whichever thread holds the lock drives libcurl. The upstream thread sleeps in `epoll_wait`
/// without the lock and takes it when a socket or timer needs attention; an event-loop thread
/// that starts, resumes or cancels a transfer while the lock is free does so itself, so handing
/// a request over costs no thread wake-up. libcurl allows handles to move between threads as
/// long as two threads never use them at once, which the lock guarantees.
///
/// The socket API makes each wake-up cost O(ready sockets): libcurl is told which socket is
/// ready, instead of polling every transfer's socket as `curl_multi_poll` and
/// `curl_multi_perform` do.
///
/// `@unchecked Sendable` because the driver lock, not the type, makes it safe to share.
final class CurlDriver: @unchecked Sendable {
    let multi: UnsafeMutableRawPointer
    /// The sockets libcurl asked to watch, plus ``wakeFD``.
    let epollFD: Int32
    /// Written by ``CurlClient/wake()`` to interrupt the upstream thread's `epoll_wait`.
    let wakeFD: Int32
    /// When the upstream thread will next wake by itself, so a thread that drove libcurl knows
    /// whether it moved a deadline earlier than that and must wake the thread.
    var plannedWake = ContinuousClock.now

    private var active: [UInt64: Transfer] = [:]
    /// Easy handles of finished transfers, reset and reused by the next ones, by receive
    /// buffer size (a handle keeps its buffer across resets).
    private var idleHandles: [Int: [UnsafeMutableRawPointer]] = [:]
    private static let maxIdleHandles = 256
    /// When the gateway's own timers must be checked next; scanning every transfer on every
    /// turn would cost O(transfers) per token at high concurrency.
    private var nextTimerScan = ContinuousClock.now
    static let maxSleep: Duration = .milliseconds(1000)

    init(configuration: CurlClient.Configuration) throws(UpstreamError) {
        guard let multi = curl_multi_init() else {
            throw UpstreamError(.shutdown, "curl_multi_init failed")
        }
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        let wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard epollFD >= 0, wakeFD >= 0 else {
            if epollFD >= 0 { Glibc.close(epollFD) }
            if wakeFD >= 0 { Glibc.close(wakeFD) }
            curl_multi_cleanup(multi)
            throw UpstreamError(.shutdown, "cannot create the upstream thread's epoll set (errno \(errno))")
        }
        var wakeEvent = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: wakeFD))
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &wakeEvent)
        self.multi = multi
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxIdleConnections)
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        _ = ccurl_multi_setopt_socket_callback(multi, curlSocketCallback)
        // Unretained: the driver outlives the multi handle (``shutDown(failing:)`` cleans it up).
        _ = ccurl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Fails every transfer with `error` and frees libcurl's handles and the descriptors.
    func shutDown(failing error: UpstreamError) {
        for transfer in Array(active.values) {
            remove(transfer, error: error)
        }
        for handle in idleHandles.values.joined() {
            curl_easy_cleanup(handle)
        }
        idleHandles.removeAll()
        curl_multi_cleanup(multi)
        Glibc.close(epollFD)
        Glibc.close(wakeFD)
    }

    // MARK: Commands

    func apply(_ command: CurlClient.Command) {
        switch command {
        case .start(let transfer):
            start(transfer)
        case .cancel(let id):
            guard let transfer = active[id] else { return }
            remove(transfer, error: UpstreamError(.cancelled, "the transfer was cancelled"))
        case .resume(let id):
            guard let transfer = active[id], transfer.paused, let easy = transfer.easy else { return }
            transfer.paused = false
            transfer.lastActivity = .now
            // May call the write callback right here with the data it held back; the transfer
            // itself continues when `settle()` runs libcurl's due timers.
            _ = curl_easy_pause(easy, CURLPAUSE_CONT)
        }
    }

    private func start(_ transfer: Transfer) {
        if transfer.isCancellationRequested {
            transfer.complete(UpstreamError(.cancelled, "the transfer was cancelled"))
            return
        }
        do {
            let easy = try transfer.makeEasyHandle(reusing: idleHandles[transfer.receiveBufferSize]?.popLast())
            guard curl_multi_add_handle(multi, easy) == CURLM_OK else {
                recycle(transfer.releaseHandles(), bufferSize: transfer.receiveBufferSize)
                transfer.complete(UpstreamError(.invalidRequest, "libcurl refused the transfer to \(transfer.host)"))
                return
            }
        } catch {
            recycle(transfer.releaseHandles(), bufferSize: transfer.receiveBufferSize)
            transfer.complete(error)
            return
        }
        transfer.startedAt = .now
        transfer.lastActivity = transfer.startedAt
        active[transfer.id] = transfer
        let timeouts = transfer.request.timeouts
        if let firstByte = timeouts.firstByte { nextTimerScan = min(nextTimerScan, transfer.startedAt + firstByte) }
        if let total = timeouts.total { nextTimerScan = min(nextTimerScan, transfer.startedAt + total) }
    }

    // MARK: Driving libcurl

    /// A watched socket is ready: libcurl does that socket's transfers' work.
    func socketReady(_ socket: Int32, events: UInt32) {
        var mask: Int32 = 0
        if events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLRDHUP.rawValue) != 0 { mask |= CURL_CSELECT_IN }
        if events & EPOLLOUT.rawValue != 0 { mask |= CURL_CSELECT_OUT }
        if events & EPOLLERR.rawValue != 0 { mask |= CURL_CSELECT_ERR }
        var running: Int32 = 0
        _ = curl_multi_socket_action(multi, socket, mask, &running)
    }

    /// Runs libcurl's due timers (a transfer just added or resumed is due at once), then
    /// completes the transfers that finished.
    func settle() {
        var timeout = -1
        _ = curl_multi_timeout(multi, &timeout)
        if timeout == 0 {
            var running: Int32 = 0
            _ = curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running)
        }
        completeFinishedTransfers()
    }

    /// Called by libcurl (through ``curlSocketCallback``) when the events it wants on a
    /// socket change.
    fileprivate func watch(_ socket: Int32, _ what: Int32) {
        var interest: UInt32 = 0
        if what & CURL_POLL_IN != 0 { interest |= EPOLLIN.rawValue }
        if what & CURL_POLL_OUT != 0 { interest |= EPOLLOUT.rawValue }
        guard interest != 0 else {
            // REMOVE, or nothing wanted (a paused transfer): a level-triggered registration
            // would keep reporting a hung-up socket.
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, socket, nil)
            return
        }
        var event = epoll_event(events: interest, data: epoll_data_t(fd: socket))
        if epoll_ctl(epollFD, EPOLL_CTL_MOD, socket, &event) != 0 && errno == ENOENT {
            _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, socket, &event)
        }
    }

    /// How long the upstream thread may sleep: until libcurl's next timer or the gateway's
    /// next timer check, at most ``maxSleep``.
    func sleepTimeout(now: ContinuousClock.Instant) -> Duration {
        var timeout = min(max(.zero, nextTimerScan - now), Self.maxSleep)
        var curlTimeout = -1
        _ = curl_multi_timeout(multi, &curlTimeout)
        if curlTimeout >= 0 {
            timeout = min(timeout, .milliseconds(curlTimeout))
        }
        return timeout
    }

    // MARK: Completion

    private func completeFinishedTransfers() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            var pointer: UnsafeMutableRawPointer?
            _ = ccurl_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &pointer)
            guard let pointer else { continue }
            let transfer = Unmanaged<Transfer>.fromOpaque(pointer).takeUnretainedValue()
            let code = message.pointee.data.result
            remove(transfer, error: code == CURLE_OK ? nil : transfer.failure ?? error(for: code, transfer))
        }
    }

    private func remove(_ transfer: Transfer, error: UpstreamError?) {
        if let easy = transfer.easy {
            _ = curl_multi_remove_handle(multi, easy)
        }
        active[transfer.id] = nil
        recycle(transfer.releaseHandles(), bufferSize: transfer.receiveBufferSize)
        transfer.complete(error)
    }

    private func recycle(_ handle: UnsafeMutableRawPointer?, bufferSize: Int) {
        guard let handle else { return }
        if idleHandles[bufferSize, default: []].count < Self.maxIdleHandles {
            idleHandles[bufferSize, default: []].append(handle)
        } else {
            curl_easy_cleanup(handle)
        }
    }

    private func error(for code: CURLcode, _ transfer: Transfer) -> UpstreamError {
        let reason = String(cString: curl_easy_strerror(code))
        let message = "\(reason) (\(transfer.host))"
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR,
            CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE:
            return UpstreamError(.connect, message)
        case CURLE_OPERATION_TIMEDOUT:
            // The gateway sets no libcurl timeout except the connect timeout.
            return UpstreamError(.connectTimeout, message)
        case CURLE_WRITE_ERROR, CURLE_ABORTED_BY_CALLBACK:
            return UpstreamError(.cancelled, message)
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            return UpstreamError(.invalidRequest, message)
        default:
            return UpstreamError(.transfer, message)
        }
    }

    // MARK: The gateway's timers

    /// First-byte, idle and total limits: libcurl's own cover neither a silent body nor
    /// paused transfers correctly.
    func enforceTimers(now: ContinuousClock.Instant) {
        guard now >= nextTimerScan else { return }
        var next = now + Self.maxSleep
        for transfer in Array(active.values) {
            let timeouts = transfer.request.timeouts
            var expired: UpstreamError?
            if let total = timeouts.total {
                let deadline = transfer.startedAt + total
                if now >= deadline {
                    expired = UpstreamError(.totalTimeout, "no complete response from \(transfer.host) within \(total)")
                }
                next = min(next, deadline)
            }
            if !transfer.headReceived, let firstByte = timeouts.firstByte {
                let deadline = transfer.startedAt + firstByte
                if now >= deadline {
                    expired = UpstreamError(.firstByteTimeout, "no response from \(transfer.host) within \(firstByte)")
                }
                next = min(next, deadline)
            }
            if transfer.headReceived, !transfer.paused, let idle = timeouts.idle {
                let deadline = transfer.lastActivity + idle
                if now >= deadline {
                    expired = UpstreamError(.idleTimeout, "\(transfer.host) sent nothing for \(idle)")
                }
                next = min(next, deadline)
            }
            if let expired {
                transfer.failure = expired
                remove(transfer, error: expired)
            }
        }
        nextTimerScan = next
    }
}

/// `CURLMOPT_SOCKETFUNCTION`: runs inside libcurl calls, so under the driver lock.
private func curlSocketCallback(
    _ easy: UnsafeMutableRawPointer?, _ socket: curl_socket_t, _ what: Int32, _ context: UnsafeMutableRawPointer?,
    _ socketContext: UnsafeMutableRawPointer?
) -> Int32 {
    guard let context else { return -1 }
    Unmanaged<CurlDriver>.fromOpaque(context).takeUnretainedValue().watch(socket, what)
    return 0
}
