import BreakerCore

/// One remembered idempotent record: the key a client sent with `"dedupe"`, the answer the
/// first record got, and when the memory of it ends (wall-clock milliseconds since the epoch,
/// so the window survives a restart). Kept in table `record_dedupe`, keyed by (breaker, key).
public struct DedupeRow: Sendable, Hashable {
    public var breaker: String
    public var key: String
    public var state: BreakerState
    public var generation: UInt64
    public var stale: Bool
    public var expiresMs: Int64

    public init(breaker: String, key: String, state: BreakerState, generation: UInt64, stale: Bool, expiresMs: Int64) {
        self.breaker = breaker
        self.key = key
        self.state = state
        self.generation = generation
        self.stale = stale
        self.expiresMs = expiresMs
    }
}

extension BreakerDatabase {
    /// The remembered records whose window has not ended at `now`, newest expiry first, at most
    /// `limit` of them: the daemon's memory for keys is bounded (`--max-dedupe-keys`), so a table
    /// written under a larger limit must not be read into memory whole.
    public func loadDedupe(notExpiredAt now: Timestamp, limit: Int = .max) throws(StoreError) -> [DedupeRow] {
        guard let statements = cachedStatements else { throw StoreError.closed(path) }
        guard limit > 0 else { return [] }
        let select = statements.selectDedupe
        defer { select.reset() }
        try select.bind(now.millisecondsSinceEpoch, at: 1)
        try select.bind(Int64(clamping: limit), at: 2)
        var rows: [DedupeRow] = []
        while try select.step() {
            guard let breaker = select.text(0), let key = select.text(1),
                  let state = select.text(2).flatMap(BreakerState.init(wireName:)) else {
                throw StoreError(code: .corrupt, message: "database \(path): unreadable record_dedupe row")
            }
            rows.append(DedupeRow(breaker: breaker, key: key, state: state, generation: UInt64(bitPattern: select.int64(3)),
                                  stale: select.int64(4) != 0, expiresMs: select.int64(5)))
        }
        return rows
    }

    static func bind(_ row: DedupeRow, to statement: SQLiteStatement) throws(StoreError) {
        try statement.bind(row.breaker, at: 1)
        try statement.bind(row.key, at: 2)
        try statement.bind(row.state.wireName, at: 3)
        try statement.bind(Int64(bitPattern: row.generation), at: 4)
        try statement.bind(Int64(row.stale ? 1 : 0), at: 5)
        try statement.bind(row.expiresMs, at: 6)
    }
}
