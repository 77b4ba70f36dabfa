import BreakerStore
import PostgresNIO

/// How one `WriteBatch` reaches PostgreSQL. Each kind of row (snapshots, log rows, log trimming,
/// dedupe keys, pruning) is one statement whatever the batch size, its rows bound as arrays and
/// `unnest`ed (`PostgresBatchStatements`). Two ways to run them:
/// - `commitInOneCall`: one `CALL` of the session's batch procedure (`PostgresBatchProcedure`),
///   which runs the statements and then `COMMIT`s inside the procedure, so the call's reply
///   comes only after the commit is durable. One round trip per batch.
/// - `write`: the statements one by one inside a transaction the caller opened (an import's).
struct PostgresBatchWriter {
    let session: PostgresSession
    let limit: Int
    let logCounts: [String: Int]

    /// Every kind of row in one transaction, committed by the procedure before the call returns;
    /// returns the log sizes afterwards of the breakers it appended to. Must not run inside a
    /// transaction block (PostgreSQL refuses the procedure's COMMIT there: `invalid transaction
    /// termination`, and nothing is written).
    func commitInOneCall(_ batch: WriteBatch) throws(PostgresStoreError) -> [String: Int] {
        let plan = try planLog(batch.transitions)
        var binds = PostgresBindings(capacity: PostgresBatchStatements.parameterTypes.count)
        PostgresBreakerRow.bindUpsert(batch.breakers, into: &binds)
        PostgresBatchStatements.bindLog(batch.transitions, into: &binds)
        binds.append(plan.trimNames)
        binds.append(plan.trimExcess)
        PostgresBatchStatements.bindDedupe(batch.dedupes, into: &binds)
        if let before = batch.pruneDedupeBefore { binds.append(before.millisecondsSinceEpoch) } else { binds.appendNull() }
        try session.query(PostgresQuery(unsafeSQL: PostgresBatchProcedure.callSQL, binds: binds), "commit batch")
        return plan.countsAfter
    }

    /// Writes everything, a statement per kind of row, inside the caller's transaction; returns
    /// the log sizes afterwards of the breakers it appended to.
    func write(_ batch: WriteBatch) throws(PostgresStoreError) -> [String: Int] {
        typealias S = PostgresBatchStatements
        if !batch.breakers.isEmpty {
            var binds = PostgresBindings(capacity: PostgresBreakerRow.columns.count)
            PostgresBreakerRow.bindUpsert(batch.breakers, into: &binds)
            try session.query(PostgresQuery(unsafeSQL: PostgresBreakerRow.upsertSQL(first: 1), binds: binds), "upsert breakers")
        }
        let plan = try planLog(batch.transitions)
        if !batch.transitions.isEmpty {
            var binds = PostgresBindings(capacity: 8)
            S.bindLog(batch.transitions, into: &binds)
            try session.query(PostgresQuery(unsafeSQL: S.appendLogSQL(first: 1), binds: binds), "append transitions")
        }
        if !plan.trimNames.isEmpty {
            var binds = PostgresBindings(capacity: 2)
            binds.append(plan.trimNames)
            binds.append(plan.trimExcess)
            try session.query(PostgresQuery(unsafeSQL: S.trimLogSQL(first: 1), binds: binds), "trim transition log")
        }
        if !batch.dedupes.isEmpty {
            var binds = PostgresBindings(capacity: 6)
            S.bindDedupe(batch.dedupes, into: &binds)
            try session.query(PostgresQuery(unsafeSQL: S.rememberSQL(first: 1), binds: binds), "remember dedupe keys")
        }
        if let before = batch.pruneDedupeBefore {
            var binds = PostgresBindings(capacity: 1)
            binds.append(before.millisecondsSinceEpoch)
            try session.query(PostgresQuery(unsafeSQL: S.pruneSQL(first: 1), binds: binds), "prune dedupe keys")
        }
        return plan.countsAfter
    }

    /// The log sizes after appending `entries`, and how many of the oldest rows to delete per
    /// breaker to keep each at `limit`.
    struct LogPlan {
        var countsAfter: [String: Int] = [:]
        var trimNames: [String] = []
        var trimExcess: [Int64] = []
    }

    /// Counts the existing rows (one query) only of breakers this store has not seen yet; the
    /// counts are exact without a transaction around them because only the lease holder, this
    /// session, writes the log. Called before the batch's own rows are appended.
    private func planLog(_ entries: [LoggedTransition]) throws(PostgresStoreError) -> LogPlan {
        guard !entries.isEmpty else { return LogPlan() }
        var appended: [String: Int] = [:]
        for entry in entries { appended[entry.breaker, default: 0] += 1 }
        var before: [String: Int] = [:]
        let unknown = appended.keys.filter { logCounts[$0] == nil }
        if !unknown.isEmpty {
            let rows = try session.query("""
                SELECT breaker, count(*) FROM transitions WHERE breaker = ANY(\(unknown)) GROUP BY breaker
                """, "count transition log")
            for row in rows {
                guard case let (name, count)? = try? row.decode((String, Int64).self) else { continue }
                before[name] = Int(count)
            }
        }
        var plan = LogPlan()
        for (name, added) in appended {
            let total = (logCounts[name] ?? before[name] ?? 0) + added
            plan.countsAfter[name] = min(total, limit)
            if total > limit {
                plan.trimNames.append(name)
                plan.trimExcess.append(Int64(total - limit))
            }
        }
        return plan
    }
}
