import BreakerSync

/// A clock that moves only when told to, for tests: `advance(by:)` moves `now()` and runs, on
/// the caller's thread and before it returns, every piece of work that became due, in deadline
/// order (work due at the same moment in the order it was scheduled). Work scheduled while
/// advancing runs in the same call if it is already due. So a test crosses an OPEN deadline
/// with `advance(by:)` and no sleep, and sees the HALF_OPEN transition as soon as it returns.
///
/// One manual clock for every part that reads time: the daemon's registry (as a `BreakerClock`,
/// see BreakerServer) and `BreakerClient` (`.manual(clock)`, through `elapsed()`).
public final class ManualClock: Sendable {
    private struct Scheduled {
        var deadline: Timestamp
        var order: UInt64
        var work: @Sendable () -> Void
    }

    private struct State {
        var now: Timestamp
        var elapsed: Duration = .zero
        var scheduled: [Scheduled] = []
        var nextOrder: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(now: Timestamp = Timestamp(millisecondsSinceEpoch: 1_750_000_000_000)) {
        state = Mutex(State(now: now))
    }

    public func now() -> Timestamp { state.withLock { $0.now } }

    public func elapsed() -> Duration { state.withLock { $0.elapsed } }

    public func run(at deadline: Timestamp, _ work: @escaping @Sendable () -> Void) {
        state.withLock { state in
            state.scheduled.append(Scheduled(deadline: deadline, order: state.nextOrder, work: work))
            state.nextOrder += 1
        }
    }

    /// Work scheduled and not yet run.
    public var scheduledCount: Int { state.withLock { $0.scheduled.count } }

    /// Moves time forward by `duration` (whole milliseconds count) and runs what became due —
    /// unless `runningDueWork` is false: then the work waits, as a timer late on a busy machine
    /// does, until the next `advance` (or `runDueWork`).
    public func advance(by duration: Duration, runningDueWork: Bool = true) {
        precondition(duration >= .zero, "a clock does not go backwards")
        state.withLock { state in
            state.now = state.now.adding(milliseconds: duration.milliseconds)
            state.elapsed += duration
        }
        if runningDueWork { runDueWork() }
    }

    /// Runs every piece of work that is due now.
    public func runDueWork() {
        while let due = nextDue() { due() }
    }

    /// Removes and returns the earliest due work; it runs outside the lock, so it may schedule.
    private func nextDue() -> (@Sendable () -> Void)? {
        state.withLock { state in
            let due = state.scheduled.indices.filter { state.scheduled[$0].deadline <= state.now }
            guard let first = due.min(by: { (state.scheduled[$0].deadline, state.scheduled[$0].order)
                    < (state.scheduled[$1].deadline, state.scheduled[$1].order) }) else { return nil }
            return state.scheduled.remove(at: first).work
        }
    }
}
