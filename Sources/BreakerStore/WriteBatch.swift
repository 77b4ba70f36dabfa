import BreakerCore

/// Everything one transaction writes. Grouping many breakers into one commit is what makes the
/// writer fast: the cost of a commit (and its fsync under `.full`) is paid once per batch.
public struct WriteBatch: Sendable, Hashable {
    /// Full snapshots, upserted by name; at most one per name.
    public var breakers: [StoredBreaker]
    /// Appended to the log in this order, after the snapshots.
    public var transitions: [LoggedTransition]
    /// Idempotency keys remembered in the same transaction as the counts they guard.
    public var dedupes: [DedupeRow]
    /// When set, expired dedupe keys (`expiresMs` at or before it) are deleted too.
    public var pruneDedupeBefore: Timestamp?

    public init(breakers: [StoredBreaker] = [], transitions: [LoggedTransition] = [], dedupes: [DedupeRow] = [],
                pruneDedupeBefore: Timestamp? = nil) {
        self.breakers = breakers
        self.transitions = transitions
        self.dedupes = dedupes
        self.pruneDedupeBefore = pruneDedupeBefore
    }

    public var isEmpty: Bool { breakers.isEmpty && transitions.isEmpty && dedupes.isEmpty && pruneDedupeBefore == nil }
}

/// A breaker as stored: the name lives beside the value because `CircuitBreaker` does not know
/// its own name. Half-open permits and window contents are not stored; they are stale after a
/// restart.
///
/// A class (immutable, so `Sendable`): a snapshot travels from the registry's journal through
/// the writer's pending batches to the store, and copying a reference there costs one retain
/// where copying a breaker value would retain each of its buffers.
public final class StoredBreaker: Sendable, Hashable {
    public let name: String
    public let breaker: CircuitBreaker

    public init(name: String, breaker: CircuitBreaker) {
        self.name = name
        self.breaker = breaker
    }

    public static func == (a: StoredBreaker, b: StoredBreaker) -> Bool { a.name == b.name && a.breaker == b.breaker }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(breaker)
    }
}

/// One row of a breaker's transition log, with who asked for it when a person did (a `reset`).
public struct LoggedTransition: Sendable, Hashable {
    public var breaker: String
    public var transition: Transition
    public var actor: String?
    public var note: String?

    public init(breaker: String, transition: Transition, actor: String? = nil, note: String? = nil) {
        self.breaker = breaker
        self.transition = transition
        self.actor = actor
        self.note = note
    }
}
