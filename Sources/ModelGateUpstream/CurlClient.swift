import CCurl
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The production ``UpstreamHTTPClient``: libcurl's multi interface, driven by whichever
/// thread holds its lock.
///
/// A dedicated upstream thread waits for libcurl's sockets and timers (``CurlThread``). A call
/// that starts, resumes or cancels a transfer drives libcurl itself when the lock is free, so
/// the request leaves from the caller's own thread without waking another; when the lock is
/// busy the command is queued and the upstream thread is woken, so no caller ever blocks on
/// network I/O or on libcurl. The multi handle is the connection pool: keep-alive connections
/// and HTTP/2 multiplexing are shared by every request.
///
/// Lifecycle: ``run()`` (as a `Service`) or ``start()``/``shutdown()``.
package final class CurlClient: UpstreamHTTPClient, Sendable {
    package struct Configuration: Sendable, Hashable {
        /// Buffered body bytes above which a transfer is paused until its reader catches up
        /// (for token streams, at most ``streamBodyHighWaterMark``).
        package var bodyHighWaterMark: Int
        /// The most a token stream buffers before its transfer pauses: a few hundred tokens.
        package static let streamBodyHighWaterMark = 64 * 1024
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
    /// libcurl's state while the client runs; nil before ``start()`` and after shutdown.
    private let driver = Mutex<CurlDriver?>(nil)
    /// The driver's wake-up descriptor (-1 when there is none), kept apart from the driver so
    /// waking the upstream thread never waits for the driver lock.
    private let wakeDescriptor = Mutex<Int32>(-1)
    private let threadDone = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let threadFinished = Atomic<Bool>(false)
    private let transferIDs = Atomic<UInt64>(0)

    package init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "modelgate.upstream")) {
        self.configuration = configuration
        self.logger = logger
        CurlGlobal.initialize()
    }

    /// Starts the upstream thread. Calling it again does nothing.
    package func start() {
        let shouldStart: Bool = queue.withLock { queue in
            guard queue.state == .idle else { return false }
            queue.state = .running
            return true
        }
        guard shouldStart else { return }
        let configuration = self.configuration
        let created: Result<Int32, UpstreamError> = driver.withLock { driver in
            do throws(UpstreamError) {
                let made = try CurlDriver(configuration: configuration)
                driver = made
                return .success(made.wakeFD)
            } catch {
                return .failure(error)
            }
        }
        switch created {
        case .success(let wakeFD):
            wakeDescriptor.withLock { $0 = wakeFD }
            CurlThread.spawn(client: self)
        case .failure(let error):
            logger.critical("cannot start the upstream client", metadata: ["error": "\(error)"])
            closeDriver()
        }
    }

    /// Stops the upstream thread: transfers still running fail with `.shutdown`. Returns once
    /// the thread has released every handle.
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

    package func execute(_ request: consuming UpstreamRequest) async throws -> UpstreamResponse {
        let transfer = try Transfer(request: consume request, client: self)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (head: CheckedContinuation<UpstreamResponse, any Error>) in
                transfer.headContinuation = head
                if !submit(.start(transfer)) {
                    transfer.headContinuation = nil
                    head.resume(throwing: UpstreamError(.shutdown, "the upstream client is not running"))
                }
            }
        } onCancel: {
            transfer.requestCancellation()
        }
    }

    // MARK: Used by transfers and the upstream thread

    func nextTransferID() -> UInt64 {
        transferIDs.add(1, ordering: .relaxed).newValue
    }

    /// Carries out a command: at once on this thread when the driver lock is free, otherwise
    /// through the upstream thread's queue. False when the client is not accepting work.
    @discardableResult
    func submit(_ command: Command) -> Bool {
        enum Outcome {
            case done
            case doneWakeThread
            case noDriver
        }
        let outcome: Outcome? = driver.withLockIfAvailable { driver in
            guard let driver else { return .noDriver }
            driver.apply(command)
            driver.settle()
            // The upstream thread sleeps until `plannedWake`: wake it if a timer of the
            // transfer just started (or one of libcurl's) is due before that.
            let now = ContinuousClock.now
            return now + driver.sleepTimeout(now: now) < driver.plannedWake ? .doneWakeThread : .done
        }
        switch outcome {
        case .done?:
            return true
        case .doneWakeThread?:
            wake()
            return true
        case .noDriver?, nil:
            // Not started, stopped, or the lock is busy: the queue decides, and the thread
            // holding the lock picks the command up on its next turn.
            return enqueue(command)
        }
    }

    /// Queues a command for the upstream thread; false when the client is not accepting work.
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

    /// The pending commands and whether the thread should stop. Called on every turn of the
    /// upstream thread, so an empty queue costs no allocation.
    func takeCommands() -> (commands: [Command], stopping: Bool) {
        queue.withLock { queue in
            var commands: [Command] = []
            if !queue.commands.isEmpty { swap(&commands, &queue.commands) }
            return (commands, queue.state == .stopping)
        }
    }

    /// Runs `body` with the driver, waiting for the lock; nil when there is no driver.
    func withDriver<T>(_ body: (CurlDriver) -> T?) -> T? {
        driver.withLock { driver in
            guard let driver else { return nil }
            return body(driver)
        }
    }

    /// Interrupts the upstream thread's `epoll_wait`. Safe from any thread.
    func wake() {
        // Under the lock, so the thread cannot close the descriptor while it is being written.
        wakeDescriptor.withLock { descriptor in
            guard descriptor >= 0 else { return }
            _ = eventfd_write(descriptor, 1)
        }
    }

    /// Fails what is left and frees libcurl; the upstream thread's last act.
    func closeDriver() {
        wakeDescriptor.withLock { $0 = -1 }
        let error = UpstreamError(.shutdown, "the upstream client shut down")
        driver.withLock { driver in
            driver?.shutDown(failing: error)
            driver = nil
        }
        let leftovers: [Command] = queue.withLock { queue in
            queue.state = .stopped
            defer { queue.commands.removeAll() }
            return queue.commands
        }
        for case .start(let transfer) in leftovers {
            transfer.complete(error)
        }
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
