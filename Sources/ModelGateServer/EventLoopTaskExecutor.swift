import NIOCore

/// Runs a call's task on its connection's event loop.
///
/// A call task that prefers this executor reads requests and writes frames on the thread that
/// owns the socket, so the common path (mock model, or upstream bytes handed over once) needs
/// no thread hop, and its handle can touch connection state directly.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
