#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BreakerCore

/// The daemon's single timeline: wall time read once at start-up, advanced by the monotonic
/// clock. Deadlines never jump when the wall clock is stepped, and every `Timestamp` is still a
/// UTC wall time that means something after a restart. Clients' clocks are never used.
public struct DaemonClock: Sendable {
    private let wallAnchorMs: Int64
    private let monotonicAnchorNs: Int64

    public init() {
        wallAnchorMs = Self.read(CLOCK_REALTIME) / 1_000_000
        monotonicAnchorNs = Self.read(CLOCK_MONOTONIC)
    }

    public func now() -> Timestamp {
        Timestamp(millisecondsSinceEpoch: wallAnchorMs + (Self.read(CLOCK_MONOTONIC) - monotonicAnchorNs) / 1_000_000)
    }

    private static func read(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
