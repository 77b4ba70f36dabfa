import BreakerWire

/// What a connection does with a request once the registry has handled it (see
/// `BreakerRegistry.handle`). The registry never does I/O; the connection never decides an op.
public enum RequestAction: Sendable {
    /// Answer now: decisions, reads, `ping`.
    case reply(Reply)
    /// Answer now with an error.
    case error(WireError)
    /// Answer once every change in `scope` so far is committed (see
    /// `BreakerRegistry.whenCommitted`): every change a client sees acknowledged is on disk.
    case replyAfterCommit(Reply, CommitScope)
    /// Answer with the breaker's transition log, read by the writer (`history`).
    case readHistory(breaker: String, limit: Int)
    /// Walk the breakers off the event loop and answer with them (`list`).
    case list(prefix: String?)
    /// An op about the connection itself rather than a breaker.
    case connectionOp(ConnectionOp)
}

/// The ops a connection carries out on itself.
public enum ConnectionOp: Sendable, Equatable {
    /// Push every transition (of breakers under `prefix`) on this connection from now on, and a
    /// heartbeat every `heartbeatMs` when set.
    case watch(prefix: String?, heartbeatMs: Int?)
    /// Act as an admin token's name.
    case auth(token: String)
    /// Count this connection's records as `client` for quorums; answer with the daemon's role.
    case hello(client: String, role: ServingRole)
}

/// Who is asking, as the connection (or the HTTP listener) knows its peer.
public struct Caller: Sendable, Equatable {
    /// Who may change breakers by hand: an admin token's name, `anonymous` when the daemon
    /// requires no tokens, nil when it does and the caller has not authenticated.
    public var actor: String?
    /// The reporter its records count as for `min_reporters` quorums.
    public var reporter: String?

    public init(actor: String?, reporter: String?) {
        self.actor = actor
        self.reporter = reporter
    }
}
