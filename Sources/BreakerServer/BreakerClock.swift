import BreakerCore

/// The daemon's one source of time, passed down from `breakerd`: `SystemClock` in production,
/// `ManualClock` in tests. Nothing in BreakerServer or BreakerStore reads time any other way:
/// breaker deadlines, stored times, dedupe expiry and store pruning all come from `now()`.
public protocol BreakerClock: Sendable {
    /// The daemon's timeline: UTC milliseconds since the epoch that never go backwards.
    func now() -> Timestamp

    /// Time since the clock started, for intervals (how long a commit took). Only differences
    /// between two readings mean anything.
    func elapsed() -> Duration

    /// Runs `work` once `now()` has reached `deadline`: never before, never inline, and never
    /// under a lock the caller holds, so `work` may take the registry's locks.
    func run(at deadline: Timestamp, _ work: @escaping @Sendable () -> Void)
}

/// The test clock, in BreakerCore so the client can read it too, is a daemon clock as it is.
extension ManualClock: BreakerClock {}
