import BreakerCore

/// A successful reply's body; `ReplyEncoder` adds `ok`, `id` and the line terminator.
public enum Reply: Sendable, Hashable {
    case pong(version: String)
    case decision(DecisionReply)
    case recorded(state: BreakerState, generation: UInt64, stale: Bool)
    /// `inspect`, `configure` and `reset` answer with the breaker as it is after the request.
    /// Boxed (`indirect`): a breaker is hundreds of bytes, and every reply would carry that size.
    indirect case breaker(BreakerView)
    case list([BreakerView])
    /// `watch`: events follow on this connection.
    case watching
    /// `auth`: the connection now acts as the token's `name`.
    case authenticated(name: String)
    /// `hello`: the connection's records now count as this client, and the daemon's role
    /// (`{"ok":true,"role":"leader"}`); nil (left out) only from daemons that predate roles.
    case hello(role: ServingRole?)
    /// `history`: newest first.
    case history([HistoryEntry])
    /// `record-batch`: one result per record, in the order sent.
    case recordedBatch([BatchRecordResult])
}

/// What a daemon is to its cluster, as `hello` tells it. A daemon on SQLite is always the
/// `leader` (of a cluster of one); on PostgreSQL one daemon of the cluster leads and the others
/// are `standby` (they answer every op but `ping` and `hello` with `not_leader`).
public enum ServingRole: String, Sendable, Hashable, CaseIterable {
    case leader
    case standby
}

/// One record's answer inside a `record-batch` reply.
public enum BatchRecordResult: Sendable, Hashable {
    case recorded(state: BreakerState, generation: UInt64, stale: Bool)
    case error(WireError)
}

/// One entry of a breaker's transition log.
public struct HistoryEntry: Sendable, Hashable {
    public var transition: Transition
    /// For admin actions: the token's name (or `anonymous` when the daemon requires none).
    public var actor: String?
    /// For admin actions: the reason given.
    public var note: String?

    public init(transition: Transition, actor: String?, note: String?) {
        self.transition = transition
        self.actor = actor
        self.note = note
    }
}

/// The answer to `should-attempt`.
public struct DecisionReply: Sendable, Hashable {
    public var allow: Bool
    public var state: BreakerState
    public var generation: UInt64
    /// How long a client may reuse this decision without asking again.
    public var cacheMs: Int64
    public var permit: String?
    public var retryAfterMs: Int64?
    /// The answer may be held until a pushed event says otherwise, by a client whose `watch`
    /// stream is live (heartbeats arriving): a closed breaker's `allow`.
    public var untilPushed: Bool

    public init(allow: Bool, state: BreakerState, generation: UInt64, cacheMs: Int64, permit: String? = nil,
                retryAfterMs: Int64? = nil, untilPushed: Bool = false) {
        self.allow = allow
        self.state = state
        self.generation = generation
        self.cacheMs = cacheMs
        self.permit = permit
        self.retryAfterMs = retryAfterMs
        self.untilPushed = untilPushed
    }
}

/// A breaker as `inspect` and `list` show it: the effective state, config, counts and metrics.
public struct BreakerView: Sendable, Hashable {
    public var name: String
    public var breaker: CircuitBreaker

    public init(name: String, breaker: CircuitBreaker) {
        self.name = name
        self.breaker = breaker
    }
}

/// A pushed event on a watching connection.
public enum Event: Sendable, Hashable {
    case transition(breaker: String, Transition)
    /// A `reset` of a breaker that was already closed: no transition, but its counts are zero and
    /// its generation moved, so answers held for an earlier generation are void.
    case reset(breaker: String, generation: UInt64, at: Timestamp)
    /// Sent every `heartbeat_ms` to a watcher that asked: the stream is live and everything
    /// before it was delivered.
    case heartbeat(at: Timestamp)
}
