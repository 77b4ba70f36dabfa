/// One circuit breaker's state machine.
///
/// A value type with no clock and no I/O: every method takes `now` and returns what happened,
/// so the server decides what to persist and whom to tell. Each state change starts a new
/// `generation`; an outcome that refers to an earlier generation (or to a permit no longer
/// outstanding) is counted in metrics but cannot move the current state.
public struct CircuitBreaker: Sendable, Hashable {
    /// Changing the config keeps state and counts; a different window (or none) starts empty.
    public var config: BreakerConfig {
        didSet {
            if config.needsWindow != oldValue.needsWindow || config.window != oldValue.window { window = Self.freshWindow(config) }
        }
    }
    public private(set) var state: BreakerState
    public private(set) var generation: UInt64
    /// Consecutive failures in CLOSED (kept while OPEN: it is what tripped the breaker).
    public private(set) var failureCount: Int
    /// Successful trials in the current HALF_OPEN generation.
    public private(set) var successCount: Int
    /// When an OPEN breaker lets trials through; fixed at the moment it opened.
    public private(set) var openUntil: Timestamp?
    /// Outstanding half-open trials and when each expires.
    public private(set) var permits: [Permit: Timestamp]
    public private(set) var metrics: BreakerMetrics
    /// Who forced the breaker open and why; set exactly while the state is `forcedOpen`.
    public private(set) var forced: ForcedOpen?
    /// Recent calls in CLOSED, when the config needs them (`BreakerConfig.needsWindow`). Starts
    /// empty on every entry to CLOSED and after a restart (not persisted).
    public internal(set) var window: SlidingWindow?
    /// Reopens from HALF_OPEN in a row since the breaker last closed: the backoff exponent.
    public internal(set) var reopenCount: Int
    /// Where the last transition came from and why; nil for a breaker that never changed state
    /// (see `LastTransition`). Persisted with the breaker.
    public private(set) var lastTransition: LastTransition?
    private var nextPermitSequence: UInt64 = 0

    /// The retry hint given while forced open: there is no deadline, only an operator.
    public static let forcedRetryAfterMs: Int64 = 1000

    /// A new CLOSED breaker.
    public init(config: BreakerConfig = .default, createdAt: Timestamp) {
        self.init(config: config, state: .closed, generation: 1, failureCount: 0, successCount: 0,
                  openUntil: nil, metrics: BreakerMetrics(createdAt: createdAt))
    }

    /// A breaker restored from storage. Permits are not restored: those granted before a
    /// restart are stale after it.
    public init(
        config: BreakerConfig, state: BreakerState, generation: UInt64, failureCount: Int,
        successCount: Int, openUntil: Timestamp?, metrics: BreakerMetrics, forced: ForcedOpen? = nil,
        reopenCount: Int = 0, lastTransition: LastTransition? = nil
    ) {
        self.config = config
        self.state = state
        self.generation = generation
        self.failureCount = failureCount
        self.successCount = successCount
        // A stored OPEN breaker without a deadline waits a full timeout from when it opened.
        self.openUntil = state == .open ? (openUntil ?? metrics.lastStateChange.adding(milliseconds: config.timeoutMs)) : nil
        self.permits = [:]
        self.metrics = metrics
        self.forced = state == .forcedOpen ? (forced ?? ForcedOpen(reason: nil, actor: nil, at: metrics.lastStateChange)) : nil
        self.window = Self.freshWindow(config)
        self.reopenCount = max(0, reopenCount)
        self.lastTransition = lastTransition
    }

    static func freshWindow(_ config: BreakerConfig) -> SlidingWindow? {
        config.needsWindow ? SlidingWindow(config.window) : nil
    }

    /// The next moment at which time alone changes this breaker (OPEN deadline or the earliest
    /// permit expiry); the server schedules a call to `advance` for it so watchers hear of it.
    public var nextDeadline: Timestamp? {
        switch state {
        case .closed, .forcedOpen: nil
        case .open: openUntil
        case .halfOpen: permits.values.min()
        }
    }

    /// Applies every transition that time alone has caused up to `now`, each at the moment it
    /// became due, so the effective state does not depend on when anyone looked.
    public mutating func advance(to now: Timestamp) -> [Transition] {
        window?.roll(to: now)
        var transitions: [Transition] = []
        while true {
            if state == .open, let due = openUntil, due <= now {
                transitions.append(move(to: .halfOpen, at: due, reason: .timeoutElapsed))
            } else if state == .halfOpen, let due = permits.values.min(), due <= now {
                metrics.count(.failure, times: 1, at: due)
                transitions.append(move(to: .open, at: due, reason: .permitExpired))
            } else {
                return transitions
            }
        }
    }

    /// Decides whether a call may go ahead. Grants at most `halfOpenMaxCalls` trials at once.
    /// In `metrics_only` mode a rejection becomes `.allow` (not counted as rejected); in
    /// `disabled` mode every call is allowed. An operator's force-open rejects in every mode:
    /// it is the explicit, later decision.
    public mutating func shouldAttempt(at now: Timestamp) -> AttemptResult {
        let transitions = advance(to: now)
        if config.mode == .disabled, state != .forcedOpen { return AttemptResult(decision: .allow, transitions: transitions) }
        var decision: Decision
        switch state {
        case .closed:
            decision = .allow
        case .open:
            decision = .reject(retryAfterMs: now.milliseconds(until: openUntil ?? now))
        case .forcedOpen:
            decision = .reject(retryAfterMs: Self.forcedRetryAfterMs)
        case .halfOpen:
            if permits.count < config.halfOpenMaxCalls {
                let permit = Permit(generation: generation, sequence: nextPermitSequence)
                nextPermitSequence += 1
                permits[permit] = now.adding(milliseconds: config.halfOpenPermitTimeoutMs)
                decision = .allowTrial(permit)
            } else {
                decision = .reject(retryAfterMs: now.milliseconds(until: permits.values.min() ?? now))
            }
        }
        if !decision.isAllowed {
            if config.mode == .metricsOnly, state != .forcedOpen { decision = .allow } else { metrics.rejectedCalls &+= 1 }
        }
        return AttemptResult(decision: decision, transitions: transitions)
    }

    /// Records `count` outcomes (k failures are k consecutive failures). Always counted in
    /// metrics; moves the state only when `token` belongs to the current state (see `OutcomeToken`).
    /// `durationMs` feeds the slow-call rule; `reporter` names the client for the quorum (nil is
    /// one anonymous reporter). In `disabled` mode nothing is counted.
    public mutating func record(
        _ outcome: Outcome, count: Int = 1, token: OutcomeToken = .none, durationMs: Int64? = nil,
        reporter: String? = nil, at now: Timestamp
    ) -> RecordResult {
        precondition(count >= 1, "count must be positive")
        if config.mode == .disabled { return RecordResult(stale: false, transitions: []) }
        var transitions = advance(to: now)
        metrics.count(outcome, times: count, at: now)
        let current: Bool
        switch (state, token) {
        case (.closed, .none): current = true
        case (.closed, .generation(let g)): current = g == generation
        case (.halfOpen, .permit(let p)): current = permits.removeValue(forKey: p) != nil
        default: current = false
        }
        guard current else { return RecordResult(stale: true, transitions: transitions) }

        switch (state, outcome) {
        case (.closed, _):
            let slow = config.slowCallDurationMs.map { (durationMs ?? 0) >= $0 } ?? false
            window?.record(failed: outcome == .failure, slow: slow, count: count, reporter: reporter ?? "-", at: now)
            if outcome == .success {
                failureCount = 0
            } else {
                // Capped at the threshold without ever computing a sum that could overflow.
                failureCount = count >= config.failureThreshold - failureCount ? config.failureThreshold : failureCount + count
            }
            if let reason = PolicyEvaluator.tripReason(config, failureCount: failureCount, window: window) {
                transitions.append(move(to: .open, at: now, reason: reason))
            }
        case (.halfOpen, .success):
            successCount = count >= config.successThreshold - successCount ? config.successThreshold : successCount + count
            if successCount >= config.successThreshold {
                transitions.append(move(to: .closed, at: now, reason: .successThreshold))
            }
        case (.halfOpen, .failure):
            transitions.append(move(to: .open, at: now, reason: .halfOpenFailure))
        case (.open, _), (.forcedOpen, _):
            break  // unreachable: an open breaker never accepts an outcome as current
        }
        return RecordResult(stale: false, transitions: transitions)
    }

    /// Hands a half-open trial's permit back without an outcome (its call was cancelled or never
    /// made): the place is free for another trial and nothing is counted. Stale when the permit
    /// is not held any more (already reported, expired, or the breaker has moved on).
    public mutating func returnPermit(_ token: OutcomeToken, at now: Timestamp) -> RecordResult {
        let transitions = advance(to: now)
        guard state == .halfOpen, case .permit(let permit) = token, permits.removeValue(forKey: permit) != nil else {
            return RecordResult(stale: true, transitions: transitions)
        }
        return RecordResult(stale: false, transitions: transitions)
    }

    /// Back to CLOSED with counts zeroed and a new generation (ending a force-open too); metrics
    /// are kept. Returns the transition, or nil when the breaker was already CLOSED (its counts
    /// are zeroed all the same).
    public mutating func reset(at now: Timestamp) -> (advanced: [Transition], reset: Transition?) {
        let advanced = advance(to: now)
        guard state != .closed else {
            failureCount = 0
            window = Self.freshWindow(config)
            generation += 1
            return (advanced, nil)
        }
        return (advanced, move(to: .closed, at: now, reason: .reset))
    }

    /// The operator's override: rejects everything until `release`. Forcing a breaker that is
    /// already forced only updates who, why and when.
    public mutating func forceOpen(_ info: ForcedOpen) -> [Transition] {
        var transitions = advance(to: info.at)
        if state != .forcedOpen {
            transitions.append(move(to: .forcedOpen, at: info.at, reason: .forcedOpen))
        }
        forced = info
        return transitions
    }

    /// Ends a force-open: back to CLOSED with a new generation. Releasing a breaker that is not
    /// forced changes nothing and returns no transition.
    public mutating func release(at now: Timestamp) -> [Transition] {
        guard state == .forcedOpen else { return advance(to: now) }
        return [move(to: .closed, at: now, reason: .released)]
    }

    /// Enters `target` as a new generation; counts and permits of the old state are dropped.
    /// A reopen from HALF_OPEN lengthens the backoff streak; closing ends it.
    private mutating func move(to target: BreakerState, at time: Timestamp, reason: TransitionReason) -> Transition {
        let transition = Transition(from: state, to: target, generation: generation + 1, at: time, reason: reason)
        switch (state, target) {
        case (.halfOpen, .open): reopenCount = min(reopenCount + 1, 64)
        case (_, .closed), (.closed, .open): reopenCount = 0
        default: break
        }
        if target == .closed { window = Self.freshWindow(config) }
        state = target
        generation += 1
        successCount = 0
        permits = [:]
        forced = nil
        lastTransition = LastTransition(from: transition.from, reason: reason)
        if target != .open { failureCount = 0 }
        openUntil = target == .open ? time.adding(milliseconds: config.openDurationMs(afterReopens: reopenCount)) : nil
        metrics.count(transition)
        return transition
    }
}
