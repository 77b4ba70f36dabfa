#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BreakerCore
import NIOCore

/// The production clock. Wall time is read once, at `init`, and advanced by the monotonic
/// clock: deadlines never jump when the wall clock is stepped, and every `Timestamp` is still a
/// UTC wall time that means something after a restart. Clients' clocks are never used.
///
/// Deadlines run as tasks on `timers` (one event loop), a millisecond after they are due, so a
/// task never finds its deadline still ahead because of rounding.
public struct SystemClock: BreakerClock {
    private let wallAnchorMs: Int64
    private let monotonicAnchorNs: Int64
    private let timers: any EventLoop

    public init(timers: any EventLoop) {
        wallAnchorMs = Self.nanoseconds(CLOCK_REALTIME) / 1_000_000
        monotonicAnchorNs = Self.nanoseconds(CLOCK_MONOTONIC)
        self.timers = timers
    }

    /// Plain integer arithmetic: it runs on every request.
    public func now() -> Timestamp {
        Timestamp(millisecondsSinceEpoch: wallAnchorMs + (Self.nanoseconds(CLOCK_MONOTONIC) - monotonicAnchorNs) / 1_000_000)
    }

    public func elapsed() -> Duration { .nanoseconds(Self.nanoseconds(CLOCK_MONOTONIC) - monotonicAnchorNs) }

    public func run(at deadline: Timestamp, _ work: @escaping @Sendable () -> Void) {
        let delay = now().milliseconds(until: deadline) + 1
        timers.scheduleTask(in: .milliseconds(max(delay, 1))) { work() }
    }

    /// The process's monotonic time (`CLOCK_MONOTONIC`), the reading `SystemClock` advances by.
    /// Socket housekeeping (idle sweeps, lingers, shutdown waits) measures intervals with it:
    /// sockets live in the kernel's real time, whichever clock drives the breakers.
    public static func monotonic() -> Duration { .nanoseconds(nanoseconds(CLOCK_MONOTONIC)) }

    private static func nanoseconds(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
