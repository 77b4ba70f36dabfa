import BreakerCore

/// Copies what one `BreakerStorage` holds into another, through the contract only (`breakerd
/// migrate` copies SQLite into PostgreSQL with it): every breaker as stored (config, state, open
/// deadline, forced open, generation, counts), each breaker's whole transition log in its order
/// with actor and note, and the dedupe keys whose window has not ended.
///
/// The target gets the rows in batches (one `write` each; a breaker's snapshot and its log rows in
/// the same batch). Whether the batches form one transaction is the target's business: a
/// PostgreSQL target wraps the copy in one (`PostgresStore.importing`), so a failed copy leaves
/// nothing behind. Time is handed in, as everywhere in storage: `now` decides which dedupe keys
/// are still alive.
public enum StorageCopy {
    /// What one copy carried.
    public struct Totals: Sendable, Hashable, CustomStringConvertible {
        public var breakers = 0
        public var transitions = 0
        public var dedupeKeys = 0

        public init(breakers: Int = 0, transitions: Int = 0, dedupeKeys: Int = 0) {
            self.breakers = breakers
            self.transitions = transitions
            self.dedupeKeys = dedupeKeys
        }

        public var description: String {
            "\(breakers) breakers, \(transitions) history rows and \(dedupeKeys) dedupe keys"
        }
    }

    /// Rows (snapshots plus log rows, or dedupe keys) per `write`: enough to pay a network round
    /// trip rarely, small enough that one statement's arrays stay a few megabytes.
    public static let defaultBatchRows = 5_000

    /// Copies everything in `source` into `target` (which should be empty: rows already there are
    /// overwritten by name, log rows appended after theirs). The source is only read.
    @discardableResult
    public static func copy(from source: any BreakerStorage, to target: any BreakerStorage, now: Timestamp,
                            batchRows: Int = defaultBatchRows) throws(StoreError) -> Totals {
        precondition(batchRows > 0, "batchRows must be positive")
        var totals = Totals()
        var batch = WriteBatch()
        var rows = 0
        func flush() throws(StoreError) {
            guard !batch.isEmpty else { return }
            try target.write(batch)
            batch = WriteBatch()
            rows = 0
        }
        for stored in try source.loadAll().sorted(by: { $0.name < $1.name }) {
            // Newest first from the store; the log is appended oldest first, as it was written.
            let log = try source.history(breaker: stored.name, limit: .max).reversed()
            batch.breakers.append(stored)
            batch.transitions.append(contentsOf: log)
            rows += 1 + log.count
            totals.breakers += 1
            totals.transitions += log.count
            if rows >= batchRows { try flush() }
        }
        try flush()
        for key in try source.loadDedupe(notExpiredAt: now, limit: .max) {
            batch.dedupes.append(key)
            rows += 1
            totals.dedupeKeys += 1
            if rows >= batchRows { try flush() }
        }
        try flush()
        return totals
    }

    /// Where `target` differs from `source` in what `copy` carries: breakers (whole values) and
    /// live dedupe keys, and the log of each breaker (whole rows, in order) when `history` is
    /// true (a round trip per breaker on a networked store). Empty when they hold the same.
    /// Each line names what differs.
    public static func differences(between source: any BreakerStorage, and target: any BreakerStorage, now: Timestamp,
                                   history: Bool) throws(StoreError) -> [String] {
        var found: [String] = []
        let expected = Dictionary(uniqueKeysWithValues: try source.loadAll().map { ($0.name, $0) })
        let actual = Dictionary(uniqueKeysWithValues: try target.loadAll().map { ($0.name, $0) })
        for name in Set(expected.keys).union(actual.keys).sorted() where expected[name] != actual[name] {
            let what = switch (expected[name], actual[name]) {
            case (nil, _): "is in the target only"
            case (_, nil): "is missing from the target"
            default: "differs"
            }
            found.append("breaker \"\(name)\" \(what)")
        }
        let keys = Set(try source.loadDedupe(notExpiredAt: now, limit: .max))
        let copied = Set(try target.loadDedupe(notExpiredAt: now, limit: .max))
        if keys != copied {
            found.append("dedupe keys differ: \(keys.subtracting(copied).count) missing, "
                         + "\(copied.subtracting(keys).count) in the target only")
        }
        if history {
            for name in expected.keys.sorted() {
                let log = try source.history(breaker: name, limit: .max)
                if try target.history(breaker: name, limit: .max) != log {
                    found.append("the history of breaker \"\(name)\" differs")
                }
            }
        }
        return found
    }
}
