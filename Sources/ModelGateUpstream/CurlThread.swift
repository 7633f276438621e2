import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// The upstream thread: it waits for libcurl's sockets and timers and drives the transfers
/// when they are due.
///
/// Each turn takes the driver lock, lets libcurl work on the sockets that became ready, applies
/// the commands other threads queued while the lock was busy, completes finished transfers and
/// enforces the gateway's timers; then it releases the lock and sleeps in `epoll_wait` until a
/// socket is ready, a timer is due, or ``CurlClient/wake()`` writes the wake-up descriptor.
enum CurlThread {
    private static let maxEvents = 256

    static func spawn(client: CurlClient) {
        let context = Unmanaged.passRetained(client).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                let client = Unmanaged<CurlClient>.fromOpaque(argument).takeRetainedValue()
                CurlThread.run(client: client)
                return nil
            }, context)
        if result == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<CurlClient>.fromOpaque(context).release()
            client.logger.critical("cannot start the upstream thread", metadata: ["errno": "\(result)"])
            client.closeDriver()
        }
    }

    private static func run(client: CurlClient) {
        ccurl_name_current_thread("modelgate-curl")
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: maxEvents)
        defer { events.deallocate() }
        var ready = 0
        while true {
            let turn = client.withDriver { driver -> (epollFD: Int32, sleep: Duration)? in
                for index in 0..<ready {
                    let event = events[index]
                    if event.data.fd == driver.wakeFD {
                        var count: UInt64 = 0
                        _ = read(driver.wakeFD, &count, MemoryLayout<UInt64>.size)
                    } else {
                        driver.socketReady(event.data.fd, events: event.events)
                    }
                }
                let (commands, stopping) = client.takeCommands()
                for command in commands {
                    driver.apply(command)
                }
                if stopping { return nil }
                driver.settle()
                let now = ContinuousClock.now
                driver.enforceTimers(now: now)
                let sleep = driver.sleepTimeout(now: now)
                driver.plannedWake = now + sleep
                return (driver.epollFD, sleep)
            }
            guard let turn else { break }
            ready = Int(epoll_wait(turn.epollFD, events, Int32(maxEvents), Int32(turn.sleep.milliseconds)))
            if ready < 0 { ready = 0 }  // EINTR
        }
        client.closeDriver()
    }
}
