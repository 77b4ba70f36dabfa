import BreakerSync

/// How many things (connections, channels) are open, and waiters for that to reach zero: what a
/// graceful shutdown waits on. Waiters are resumed by the count reaching zero, or by their own
/// deadline — never by polling.
public final class OpenCount: Sendable {
    private struct State {
        var count = 0
        var nextID = 0
        var waiting: [Int: Waiter] = [:]
    }

    private struct Waiter {
        var continuation: CheckedContinuation<Bool, Never>
        var deadline: Task<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public var value: Int { state.withLock { $0.count } }

    /// One more open; returns the count after it.
    @discardableResult
    public func increment() -> Int { state.withLock { s in s.count += 1; return s.count } }

    /// One fewer open; at zero every waiter resumes with true.
    public func decrement() {
        let woken = state.withLock { s -> [Waiter] in
            s.count -= 1
            guard s.count == 0 else { return [] }
            defer { s.waiting = [:] }
            return Array(s.waiting.values)
        }
        for waiter in woken {
            waiter.deadline?.cancel()
            waiter.continuation.resume(returning: true)
        }
    }

    /// Waits until nothing is open (true) or `timeout` passes first (false).
    public func waitForZero(timeout: Duration) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let id = state.withLock { s -> Int? in
                guard s.count > 0 else { return nil }
                s.nextID += 1
                s.waiting[s.nextID] = Waiter(continuation: continuation)
                return s.nextID
            }
            guard let id else { return continuation.resume(returning: true) }
            let deadline = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                guard !Task.isCancelled else { return }
                self?.state.withLock { $0.waiting.removeValue(forKey: id) }?.continuation.resume(returning: false)
            }
            // Keep the deadline only while still waiting; if zero came first, it is not needed.
            let stillWaiting = state.withLock { s -> Bool in
                guard s.waiting[id] != nil else { return false }
                s.waiting[id]!.deadline = deadline
                return true
            }
            if !stillWaiting { deadline.cancel() }
        }
    }
}
