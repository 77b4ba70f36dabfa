/// The role of one daemon in a PostgreSQL-backed cluster, as a value: every event (time passing,
/// a round trip's outcome) is a `mutating` method that returns what the driver must do next, in
/// order. No I/O, no clock and no randomness of its own: times are the daemon clock's
/// `elapsed()` readings, passed in, and the backoff's jitter comes from a seeded generator, so
/// tests drive it with a `ManualClock` and no sockets.
///
/// ```
/// disconnected ──connected──▶ standby ──acquired──▶ loading ──loaded, renewed──▶ leading
///      ▲  ▲ connectFailed        │ refused: try again in 500 ms             │
///      │  └─ (jittered backoff) ◀┘ acquireFailed                            │
///      └──────── stepDown: lease older than `lease`, renewFailed, loadFailed ┘
/// ```
///
/// A leader serves only up to its last confirmed renewal plus the lease (`serve(until:)` opens
/// the term's `LeaderGate` that far), renews every quarter of the lease, and steps down when a
/// renewal fails or the last confirmed one is older than the lease. After stepping down it never
/// reuses its session: it connects anew (fencing), then waits its turn as a standby.
public struct LeaderRoleMachine: Sendable {
    public struct Timing: Sendable, Equatable {
        /// How long a leader serves after its last confirmed renewal.
        public var lease: Duration
        /// How often a standby tries the lock.
        public var standbyRetry: Duration = .milliseconds(500)
        /// The first wait after a failed connection; doubled per failure up to `maxBackoff`,
        /// each wait drawn from its upper half (jitter).
        public var firstBackoff: Duration = .milliseconds(250)
        public var maxBackoff: Duration = .seconds(2)

        public init(lease: Duration) { self.lease = lease }

        /// A leader's renewals come this often: four per lease.
        public var renewEvery: Duration { lease / 4 }
    }

    public enum State: Sendable, Equatable {
        /// No session; connect at `retryAt`. `failures` in a row so far (for the backoff).
        case disconnected(retryAt: Duration, failures: Int)
        /// A session without the lock; try it at `nextTry`.
        case standby(nextTry: Duration)
        /// The lock is ours (confirmed at `confirmed`); the term's breakers are loading.
        case loading(confirmed: Duration)
        /// Serving until `confirmed + lease`; the next renewal is due at `nextRenew`.
        case leading(confirmed: Duration, nextRenew: Duration)
    }

    public enum Action: Sendable, Equatable {
        /// Open a fresh session (never the one a term ended on).
        case connect
        /// Take the lock if it is free; otherwise read who leads.
        case tryAcquire
        /// Publish this daemon's address and load every breaker into a new term registry.
        case load
        /// The heartbeat on the committing session.
        case renew
        /// Serve (install the term registry if it is not yet) until `until` on the clock.
        case serve(until: Duration)
        /// Stop serving at once, drop the term's registry and session.
        case stepDown
        /// Drop a standby's session that failed.
        case dropSession
    }

    public private(set) var state: State
    public let timing: Timing
    private var random: UInt64

    /// Starts disconnected, connecting at once.
    public init(timing: Timing, now: Duration, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        self.timing = timing
        self.state = .disconnected(retryAt: now, failures: 0)
        self.random = seed
    }

    /// Whether this daemon serves as leader at `now` (the gate decides the same per request).
    public func isLeading(at now: Duration) -> Bool {
        if case .leading(let confirmed, _) = state { return now - confirmed < timing.lease }
        return false
    }

    /// When `tick` next has something to do.
    public var nextWakeUp: Duration {
        switch state {
        case .disconnected(let retryAt, _): retryAt
        case .standby(let nextTry): nextTry
        case .loading(let confirmed): confirmed + timing.lease
        case .leading(let confirmed, let nextRenew): min(nextRenew, confirmed + timing.lease)
        }
    }

    /// Time has passed: what is due at `now`.
    public mutating func tick(now: Duration) -> [Action] {
        switch state {
        case .disconnected(let retryAt, _):
            return now >= retryAt ? [.connect] : []
        case .standby(let nextTry):
            return now >= nextTry ? [.tryAcquire] : []
        case .loading(let confirmed):
            return now - confirmed >= timing.lease ? stepDown(now: now) : []
        case .leading(let confirmed, let nextRenew):
            if now - confirmed >= timing.lease { return stepDown(now: now) }
            return now >= nextRenew ? [.renew] : []
        }
    }

    // MARK: Outcomes of the driver's round trips

    public mutating func connected(now: Duration) -> [Action] {
        state = .standby(nextTry: now)
        return [.tryAcquire]
    }

    public mutating func connectFailed(now: Duration) -> [Action] {
        guard case .disconnected(_, let failures) = state else { return [] }
        state = .disconnected(retryAt: now + backoff(after: failures), failures: failures + 1)
        return []
    }

    /// The lock is ours; `confirmed` is the reading taken just before asking.
    public mutating func acquired(confirmed: Duration) -> [Action] {
        state = .loading(confirmed: confirmed)
        return [.load]
    }

    public mutating func refused(now: Duration) -> [Action] {
        state = .standby(nextTry: now + timing.standbyRetry)
        return []
    }

    /// The standby's session failed: drop it and connect again after a backoff.
    public mutating func acquireFailed(now: Duration) -> [Action] {
        state = .disconnected(retryAt: now + backoff(after: 0), failures: 1)
        return [.dropSession]
    }

    /// The term's breakers are in memory: confirm the lease before serving them.
    public mutating func loaded(now: Duration) -> [Action] {
        guard case .loading(let confirmed) = state else { return [] }
        state = .leading(confirmed: confirmed, nextRenew: now)
        return [.renew]
    }

    public mutating func loadFailed(now: Duration) -> [Action] {
        stepDown(now: now)
    }

    /// A renewal confirmed the lease as of `confirmed` (read just before the round trip).
    public mutating func renewed(confirmed: Duration) -> [Action] {
        guard case .leading(let previous, _) = state else { return [] }
        let latest = max(previous, confirmed)
        state = .leading(confirmed: latest, nextRenew: confirmed + timing.renewEvery)
        return [.serve(until: latest + timing.lease)]
    }

    public mutating func renewFailed(now: Duration) -> [Action] {
        stepDown(now: now)
    }

    private mutating func stepDown(now: Duration) -> [Action] {
        state = .disconnected(retryAt: now, failures: 0)
        return [.stepDown]
    }

    /// The wait after `failures` failures in a row: `firstBackoff` doubled per failure, capped,
    /// drawn uniformly from its upper half so that daemons restarted together spread out.
    private mutating func backoff(after failures: Int) -> Duration {
        var ceiling = timing.firstBackoff
        for _ in 0..<min(failures, 16) where ceiling < timing.maxBackoff { ceiling *= 2 }
        ceiling = min(ceiling, timing.maxBackoff)
        // SplitMix64: a step of the seeded generator.
        random &+= 0x9E37_79B9_7F4A_7C15
        var z = random
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let fraction = Double(z >> 11) / Double(1 << 53)
        return ceiling / 2 + ceiling / 2 * fraction
    }
}
