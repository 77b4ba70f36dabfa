import BreakerCore

/// One decoded request line.
public struct Request: Sendable, Equatable {
    /// The caller's `id` (a number or a string), echoed in the reply.
    public var id: JSONValue?
    public var command: Command

    public init(id: JSONValue? = nil, command: Command) {
        self.id = id
        self.command = command
    }
}

/// The operations of protocol v1.
public enum Command: Sendable, Hashable {
    case ping
    case shouldAttempt(breaker: String)
    /// Boxed (`indirect`): a record is ~100 bytes, which made every `Request` (decisions too)
    /// a large value that the hot decoder built and then copied into its result through value
    /// witnesses; boxed, a `Request` is small enough to pass in registers (BENCHMARKS.md,
    /// "Eighth round").
    indirect case record(RecordCommand)
    case inspect(breaker: String)
    case list(prefix: String?)
    /// Boxed (`indirect`): a patch is ~200 bytes, and every request (the hot ones too) would
    /// otherwise carry and copy that size.
    indirect case configure(breaker: String, patch: BreakerConfigPatch)
    case reset(breaker: String)
    /// `heartbeatMs`: push a heartbeat event this often (nil: never).
    case watch(prefix: String?, heartbeatMs: Int? = nil)
    case auth(token: String)
    case forceOpen(breaker: String, reason: String?)
    case release(breaker: String)
    case history(breaker: String, limit: Int)
    /// Names the connection's client; its records count as that reporter for quorums.
    case hello(client: String)
    /// Records of several breakers in one line, committed together; each entry is answered on
    /// its own (an entry that is not a valid record is answered with its error).
    case recordBatch([BatchEntry])
    /// Hands back a half-open permit whose call was never made (or was cancelled): it frees
    /// the trial's place without counting an outcome.
    case returnPermit(breaker: String, permit: String)

    /// The operation, for the encoder, logs and metrics. Inlinable: the server asks it for
    /// every request.
    @inlinable
    public var op: Op {
        switch self {
        case .ping: .ping
        case .shouldAttempt: .shouldAttempt
        case .record(let r): r.outcome == .success ? .recordSuccess : .recordFailure
        case .returnPermit: .returnPermit
        case .recordBatch: .recordBatch
        case .inspect: .inspect
        case .list: .list
        case .configure: .configure
        case .reset: .reset
        case .watch: .watch
        case .auth: .auth
        case .forceOpen: .forceOpen
        case .release: .release
        case .history: .history
        case .hello: .hello
        }
    }

    /// Ops that change a breaker by hand (see `Op.isAdminChange`).
    public var isAdminChange: Bool { op.isAdminChange }
}

/// One entry of a `record-batch`: a record, or why the entry is not one.
public enum BatchEntry: Sendable, Hashable {
    case record(RecordCommand)
    case invalid(WireError)

    /// Most entries one batch may carry.
    public static let maxCount = 1_000
}

/// `record-success` / `record-failure`.
public struct RecordCommand: Sendable, Hashable {
    public var breaker: String
    public var outcome: Outcome
    /// How many outcomes this record stands for (1...`maxCount`).
    public var count: Int
    /// The half-open permit the outcome follows, as the daemon handed it out.
    public var permit: String?
    /// The generation of the decision the outcome follows.
    public var generation: UInt64?
    /// How long the call took, for the slow-call rule.
    public var durationMs: Int64?
    /// The client's idempotency key: a retry with the same key (within the daemon's dedupe
    /// window) is counted once and answered as the first was.
    public var dedupe: String?

    public static let maxCount = 1_000_000
    /// The longest `duration_ms` accepted (30 days): longer is a client bug, not a slow call.
    public static let maxDurationMs: Int64 = 2_592_000_000
    /// Longest `dedupe` key, in bytes of printable ASCII.
    public static let maxDedupeLength = 128

    public init(breaker: String, outcome: Outcome, count: Int = 1, permit: String? = nil, generation: UInt64? = nil,
                durationMs: Int64? = nil, dedupe: String? = nil) {
        self.breaker = breaker
        self.outcome = outcome
        self.count = count
        self.permit = permit
        self.generation = generation
        self.durationMs = durationMs
        self.dedupe = dedupe
    }
}
