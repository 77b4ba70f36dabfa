import NIOCore
import BreakerCore

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

        /// Where a manual clock's timeline starts (0 means "never" in the client's records).
        static let manualStart: UInt64 = 1_000_000_000

        /// Now, in nanoseconds on this clock's own timeline. One branch on the hot path.
        @inline(__always)
        func now() -> UInt64 {
            if let manual { return Self.manualStart &+ MonotonicClock.nanoseconds(manual.elapsed()) }
            return MonotonicClock.now()
        }
    }
}
