import NIOCore
import Synchronization

extension BreakerClient {
    /// Where the client reads the time: cache expiry, fold windows, the fallback breaker's
    /// timeline, call durations. `.system` (the monotonic clock) in production; a test passes
    /// `.manual(clock)` and moves time itself instead of sleeping across a deadline. The
    /// client's own timers (timeouts, heartbeats, reconnection) keep real time.
    public struct Clock: Sendable {
        let manual: ManualClock?

        /// The monotonic clock (`CLOCK_MONOTONIC`): never jumps with the wall clock.
        public static let system = Clock(manual: nil)

        /// Time that moves only when `clock.advance(by:)` is called.
        public static func manual(_ clock: ManualClock) -> Clock { Clock(manual: clock) }

        /// Now, in nanoseconds on this clock's own timeline. One branch on the hot path.
        @inline(__always)
        func now() -> UInt64 {
            if let manual { return manual.nanoseconds }
            return MonotonicClock.now()
        }
    }
}

/// A clock for tests: it starts at an arbitrary instant and moves only by `advance(by:)`.
public final class ManualClock: Sendable {
    private let time = Atomic<UInt64>(1_000_000_000)

    /// A clock standing still.
    public init() {}

    /// Moves the clock forward by `duration` (a negative one is ignored).
    public func advance(by duration: Duration) {
        time.add(MonotonicClock.nanoseconds(duration), ordering: .relaxed)
    }

    var nanoseconds: UInt64 { time.load(ordering: .relaxed) }
}
