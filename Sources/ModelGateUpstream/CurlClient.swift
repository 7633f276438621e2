import CCurl
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The production ``UpstreamHTTPClient``: libcurl's multi interface on one dedicated thread.
///
/// The thread owns the multi handle and every easy handle, as libcurl requires. Other threads
/// only append commands to a queue and call `curl_multi_wakeup`, so no caller ever blocks on
/// network I/O or on libcurl. The multi handle is the connection pool: keep-alive connections
/// and HTTP/2 multiplexing are shared by every request.
///
/// Lifecycle: ``run()`` (as a `Service`) or ``start()``/``shutdown()``.
package final class CurlClient: UpstreamHTTPClient, Sendable {
    package struct Configuration: Sendable, Hashable {
        /// Buffered body bytes above which a transfer is paused until its reader catches up.
        package var bodyHighWaterMark: Int
        /// Buffered body bytes at or below which a paused transfer resumes.
        package var bodyLowWaterMark: Int
        /// Idle connections kept for reuse.
        package var maxIdleConnections: Int
        /// Simultaneous connections per host; 0 for no limit.
        package var maxConnectionsPerHost: Int
        package var userAgent: String

        package init(
            bodyHighWaterMark: Int = 256 * 1024,
            bodyLowWaterMark: Int = 64 * 1024,
            maxIdleConnections: Int = 512,
            maxConnectionsPerHost: Int = 0,
            userAgent: String = "modelgate"
        ) {
            self.bodyHighWaterMark = bodyHighWaterMark
            self.bodyLowWaterMark = bodyLowWaterMark
            self.maxIdleConnections = maxIdleConnections
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.userAgent = userAgent
        }
    }

    enum Command {
        case start(Transfer)
        case cancel(UInt64)
        case resume(UInt64)
    }

    private struct Queue {
        var commands: [Command] = []
        var state = LifecycleState.idle
    }

    enum LifecycleState {
        case idle
        case running
        case stopping
        case stopped
    }

    let configuration: Configuration
    let logger: Logger
    private let queue = Mutex(Queue())
    /// The multi handle's address while the thread runs (0 otherwise), for `wake()` from any
    /// thread. Kept as an integer because raw pointers are not Sendable.
    private let multiAddress = Mutex<UInt>(0)
    private let threadDone = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let threadFinished = Atomic<Bool>(false)
    private let transferIDs = Atomic<UInt64>(0)

    package init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "modelgate.upstream")) {
        self.configuration = configuration
        self.logger = logger
        CurlGlobal.initialize()
    }

    /// Starts the curl thread. Calling it again does nothing.
    package func start() {
        let shouldStart: Bool = queue.withLock { queue in
            guard queue.state == .idle else { return false }
            queue.state = .running
            return true
        }
        guard shouldStart else { return }
        CurlThread.spawn(client: self)
    }

    /// Stops the curl thread: transfers still running fail with `.shutdown`. Returns once the
    /// thread has released every handle.
    package func shutdown() async {
        let wasRunning: Bool = queue.withLock { queue in
            switch queue.state {
            case .idle:
                queue.state = .stopped
                return false
            case .running:
                queue.state = .stopping
                return true
            case .stopping, .stopped:
                return true
            }
        }
        guard wasRunning else { return }
        wake()
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let finished: Bool = threadDone.withLock { waiters in
                if threadFinished.load(ordering: .acquiring) { return true }
                waiters.append(waiter)
                return false
            }
            if finished { waiter.resume() }
        }
    }

    package func execute(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        let transfer = try Transfer(request: request, client: self)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (head: CheckedContinuation<UpstreamResponse, any Error>) in
                transfer.headContinuation = head
                if !enqueue(.start(transfer)) {
                    transfer.headContinuation = nil
                    head.resume(throwing: UpstreamError(.shutdown, "the upstream client is not running"))
                }
            }
        } onCancel: {
            transfer.requestCancellation()
        }
    }

    // MARK: Used by transfers and the thread

    func nextTransferID() -> UInt64 {
        transferIDs.add(1, ordering: .relaxed).newValue
    }

    /// Queues a command for the curl thread; false when the client is not accepting work.
    @discardableResult
    func enqueue(_ command: Command) -> Bool {
        let accepted: Bool = queue.withLock { queue in
            switch queue.state {
            case .running:
                queue.commands.append(command)
                return true
            case .idle:
                // Not started yet: keep the command; `start()` will run it.
                if case .start = command {
                    queue.commands.append(command)
                    return true
                }
                return false
            case .stopping, .stopped:
                return false
            }
        }
        if accepted { wake() }
        return accepted
    }

    /// The pending commands and whether the thread should stop.
    func takeCommands() -> (commands: [Command], stopping: Bool) {
        queue.withLock { queue in
            defer { queue.commands.removeAll(keepingCapacity: true) }
            return (queue.commands, queue.state == .stopping)
        }
    }

    func setMulti(_ handle: UnsafeMutableRawPointer?) {
        multiAddress.withLock { $0 = UInt(bitPattern: handle) }
    }

    /// Interrupts the thread's `curl_multi_poll`. Safe from any thread.
    func wake() {
        // Under the lock, so the thread cannot free the handle while it is being woken.
        multiAddress.withLock { address in
            if let handle = UnsafeMutableRawPointer(bitPattern: address) { _ = curl_multi_wakeup(handle) }
        }
    }

    func threadDidFinish() {
        queue.withLock { $0.state = .stopped }
        let waiters: [CheckedContinuation<Void, Never>] = threadDone.withLock { waiters in
            threadFinished.store(true, ordering: .releasing)
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// `curl_global_init`, exactly once per process.
enum CurlGlobal {
    private static let initialized: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    static func initialize() {
        _ = initialized
    }
}
