import BreakerCore
import NIOCore

/// Nanoseconds on the monotonic clock (`CLOCK_MONOTONIC` on Linux): cache expiry must not jump
/// with the wall clock, and reading it must cost no more than a vDSO call on the hot path.
enum MonotonicClock {
    @inline(__always)
    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    @inline(__always)
    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }

    @inline(__always)
    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(clamping: nanoseconds(duration)))
    }

    /// The fallback breaker's timeline: monotonic milliseconds (not a wall time; it never
    /// leaves the process).
    @inline(__always)
    static func timestamp(_ nanos: UInt64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64(nanos / 1_000_000))
    }
}
