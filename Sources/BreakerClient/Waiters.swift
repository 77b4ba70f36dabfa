import NIOCore
import BreakerSync

/// Tasks suspended until something happens (the first connection try ended, a connection is
/// ready, every record is acknowledged), each with its own deadline. The side that makes it
/// happen calls `resumeAll`; a waiter's timer resumes it with nil. Nothing polls.
final class Waiters<Value: Sendable>: Sendable {
    private struct Waiter {
        var continuation: CheckedContinuation<Value?, Never>
        var timer: Scheduled<Void>?
    }

    private struct State {
        var next: UInt64 = 0
        var waiting: [UInt64: Waiter] = [:]
    }

    private let state = Mutex(State())

    /// Returns `check()` at once when it has a value; otherwise suspends until `resumeAll` or
    /// until `timeout` has passed (then nil). The waiter is registered before `check` runs, so
    /// an event between the check and the suspension is not missed: the side making it happen
    /// changes its state first and calls `resumeAll` after.
    func wait(timeout: Duration, on loop: any EventLoop, check: () -> Value?) async -> Value? {
        let id = state.withLock { s -> UInt64 in
            s.next += 1
            return s.next
        }
        return await withCheckedContinuation { continuation in
            state.withLock { $0.waiting[id] = Waiter(continuation: continuation) }
            if let value = check() {
                resume(id, with: value)
                return
            }
            let timer = loop.scheduleTask(in: MonotonicClock.timeAmount(timeout)) { self.resume(id, with: nil) }
            let stillWaiting = state.withLock { s -> Bool in
                guard s.waiting[id] != nil else { return false }
                s.waiting[id]?.timer = timer
                return true
            }
            if !stillWaiting { timer.cancel() }
        }
    }

    /// Resumes every waiter with `value`.
    func resumeAll(_ value: Value) {
        let all = state.withLock { s -> [Waiter] in
            defer { s.waiting.removeAll() }
            return Array(s.waiting.values)
        }
        for waiter in all {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: value)
        }
    }

    private func resume(_ id: UInt64, with value: Value?) {
        guard let waiter = state.withLock({ $0.waiting.removeValue(forKey: id) }) else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(returning: value)
    }
}
