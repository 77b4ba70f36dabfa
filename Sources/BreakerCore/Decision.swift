/// What a caller reports after a call it was allowed to make.
public enum Outcome: Sendable, Hashable {
    case success
    case failure
}

/// A half-open trial slot, bound to the generation it was granted in.
public struct Permit: Sendable, Hashable {
    public var generation: UInt64
    public var sequence: UInt64

    public init(generation: UInt64, sequence: UInt64) {
        self.generation = generation
        self.sequence = sequence
    }
}

/// What a record says about the decision it follows. Only outcomes that belong to the current
/// state may move it; everything else is counted in metrics only.
public enum OutcomeToken: Sendable, Hashable {
    /// No reference: moves a CLOSED breaker only.
    case none
    /// The generation of the decision: moves a CLOSED breaker of that generation only.
    case generation(UInt64)
    /// A half-open trial: moves a HALF_OPEN breaker holding that permit only.
    case permit(Permit)
    /// A permit that cannot be outstanding any more (granted before a restart): metrics only.
    case expiredPermit
}

/// The answer to "may I call the dependency now?". A rejection is a value, not an error.
public enum Decision: Sendable, Hashable {
    /// CLOSED: go ahead.
    case allow
    /// HALF_OPEN: go ahead as a trial, and report the outcome with this permit.
    case allowTrial(Permit)
    /// OPEN, or HALF_OPEN with every trial slot taken: ask again after this long.
    case reject(retryAfterMs: Int64)

    public var isAllowed: Bool {
        if case .reject = self { return false }
        return true
    }
}

/// The result of `shouldAttempt`: the decision and any time-driven transitions it applied first.
public struct AttemptResult: Sendable, Hashable {
    public var decision: Decision
    public var transitions: [Transition]
}

/// The result of `record`. `stale` outcomes were counted in metrics but did not move the state.
public struct RecordResult: Sendable, Hashable {
    public var stale: Bool
    public var transitions: [Transition]
}

/// An operator's force-open: kept with the breaker, shown by `inspect`, logged with the transition.
public struct ForcedOpen: Sendable, Hashable {
    public var reason: String?
    /// The admin token's name, when the daemon requires tokens.
    public var actor: String?
    public var at: Timestamp

    public init(reason: String?, actor: String?, at: Timestamp) {
        self.reason = reason
        self.actor = actor
        self.at = at
    }
}
