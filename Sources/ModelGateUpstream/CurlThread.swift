import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// The thread that drives libcurl: it alone touches the multi handle and the easy handles.
///
/// Each turn of the loop applies queued commands (start, cancel, resume), lets libcurl do its
/// I/O, completes finished transfers, enforces the gateway's own timers (first byte, idle,
/// total: libcurl's cover neither a silent body nor paused transfers correctly), then sleeps in
/// `curl_multi_poll` until a socket is ready, a timer is due, or `curl_multi_wakeup` is called.
final class CurlThread {
    private let client: CurlClient
    private let multi: UnsafeMutableRawPointer
    private var active: [UInt64: Transfer] = [:]
    /// Easy handles of finished transfers, reset and reused by the next ones.
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private static let maxIdleHandles = 256
    /// When the timers must be checked next; scanning every transfer on every turn would cost
    /// O(transfers) per token at high concurrency.
    private var nextTimerScan = ContinuousClock.now
    private static let maxSleep: Duration = .milliseconds(1000)

    private init(client: CurlClient, multi: UnsafeMutableRawPointer) {
        self.client = client
        self.multi = multi
    }

    static func spawn(client: CurlClient) {
        let context = Unmanaged.passRetained(client).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                let client = Unmanaged<CurlClient>.fromOpaque(argument).takeRetainedValue()
                CurlThread.main(client: client)
                return nil
            }, context)
        if result == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<CurlClient>.fromOpaque(context).release()
            client.logger.critical("cannot start the upstream thread", metadata: ["errno": "\(result)"])
            client.threadDidFinish()
        }
    }

    private static func main(client: CurlClient) {
        guard let multi = curl_multi_init() else {
            client.logger.critical("curl_multi_init failed")
            client.threadDidFinish()
            return
        }
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, client.configuration.maxIdleConnections)
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, client.configuration.maxConnectionsPerHost)
        client.setMulti(multi)
        CurlThread(client: client, multi: multi).run()
        // Clear the shared pointer first, so no other thread wakes a freed handle.
        client.setMulti(nil)
        curl_multi_cleanup(multi)
        client.threadDidFinish()
    }

    private func run() {
        while true {
            let (commands, stopping) = client.takeCommands()
            for command in commands {
                apply(command)
            }
            if stopping { break }
            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            completeFinishedTransfers()
            enforceTimers()
            _ = curl_multi_poll(multi, nil, 0, Int32(pollTimeout()), nil)
        }
        for transfer in Array(active.values) {
            remove(transfer, error: UpstreamError(.shutdown, "the upstream client shut down"))
        }
        for handle in idleHandles {
            curl_easy_cleanup(handle)
        }
        idleHandles.removeAll()
    }

    private func recycle(_ handle: UnsafeMutableRawPointer?) {
        guard let handle else { return }
        if idleHandles.count < Self.maxIdleHandles {
            idleHandles.append(handle)
        } else {
            curl_easy_cleanup(handle)
        }
    }

    // MARK: Commands

    private func apply(_ command: CurlClient.Command) {
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
            // May call the write callback right here with the data it held back.
            _ = curl_easy_pause(easy, CURLPAUSE_CONT)
        }
    }

    private func start(_ transfer: Transfer) {
        if transfer.isCancellationRequested {
            transfer.complete(UpstreamError(.cancelled, "the transfer was cancelled"))
            return
        }
        do {
            let easy = try transfer.makeEasyHandle(reusing: idleHandles.popLast())
            guard curl_multi_add_handle(multi, easy) == CURLM_OK else {
                recycle(transfer.releaseHandles())
                transfer.complete(UpstreamError(.invalidRequest, "libcurl refused the transfer to \(transfer.host)"))
                return
            }
        } catch {
            recycle(transfer.releaseHandles())
            transfer.complete(error)
            return
        }
        transfer.startedAt = .now
        transfer.lastActivity = transfer.startedAt
        active[transfer.id] = transfer
        let timeouts = transfer.request.timeouts
        for limit in [timeouts.firstByte, timeouts.total].compactMap({ $0 }) {
            nextTimerScan = min(nextTimerScan, transfer.startedAt + limit)
        }
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
        recycle(transfer.releaseHandles())
        transfer.complete(error)
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

    // MARK: Timers

    private func enforceTimers() {
        let now = ContinuousClock.now
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
            if !transfer.headDelivered, let firstByte = timeouts.firstByte {
                let deadline = transfer.startedAt + firstByte
                if now >= deadline {
                    expired = UpstreamError(.firstByteTimeout, "no response from \(transfer.host) within \(firstByte)")
                }
                next = min(next, deadline)
            }
            if transfer.headDelivered, !transfer.paused, let idle = timeouts.idle {
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

    private func pollTimeout() -> Int {
        var curlTimeout = -1
        _ = curl_multi_timeout(multi, &curlTimeout)
        let untilScan = max(0, (nextTimerScan - ContinuousClock.now).milliseconds)
        var timeout = Int(min(untilScan, Self.maxSleep.milliseconds))
        if curlTimeout >= 0 {
            timeout = min(timeout, curlTimeout)
        }
        return timeout
    }
}
