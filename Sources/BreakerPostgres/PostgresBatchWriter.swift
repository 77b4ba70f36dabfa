import BreakerStore
import PostgresNIO

/// The statements of one `WriteBatch`, inside the transaction `PostgresStore.write` opened: one
/// per kind of row (snapshots, log rows, log trimming, dedupe keys, pruning), whatever the batch
/// size, because each kind's rows are bound as arrays and `unnest`ed.
struct PostgresBatchWriter {
    let session: PostgresSession
    let limit: Int
    let logCounts: [String: Int]

    /// Writes everything, a statement per kind of row, inside the caller's transaction; returns
    /// the log sizes afterwards of the breakers it appended to.
    func write(_ batch: WriteBatch) throws(PostgresStoreError) -> [String: Int] {
        if !batch.breakers.isEmpty {
            var binds = PostgresBindings(capacity: PostgresBreakerRow.columns.count)
            PostgresBreakerRow.bindUpsert(batch.breakers, into: &binds)
            try session.query(PostgresQuery(unsafeSQL: PostgresBreakerRow.upsertSQL(first: 1), binds: binds), "upsert breakers")
        }
        var countsAfter: [String: Int] = [:]
        if !batch.transitions.isEmpty {
            var binds = PostgresBindings(capacity: 8)
            let sql = Self.appendLog(batch.transitions, into: &binds)
            try session.query(PostgresQuery(unsafeSQL: sql, binds: binds), "append transitions")
            countsAfter = try trimLog(batch.transitions)
        }
        if !batch.dedupes.isEmpty {
            var binds = PostgresBindings(capacity: 6)
            let sql = Self.remember(batch.dedupes, into: &binds)
            try session.query(PostgresQuery(unsafeSQL: sql, binds: binds), "remember dedupe keys")
        }
        if let before = batch.pruneDedupeBefore {
            try session.query("DELETE FROM record_dedupe WHERE expires_ms <= \(before.millisecondsSinceEpoch)",
                              "prune dedupe keys")
        }
        return countsAfter
    }

    /// Appends in batch order: ids follow `WITH ORDINALITY`. Binds its 8 arrays after those in
    /// `binds` and returns the statement naming them.
    private static func appendLog(_ entries: [LoggedTransition], into binds: inout PostgresBindings) -> String {
        let first = binds.count + 1
        binds.append(entries.map(\.breaker))
        binds.append(entries.map(\.transition.from.wireName))
        binds.append(entries.map(\.transition.to.wireName))
        binds.append(entries.map { Int64(bitPattern: $0.transition.generation) })
        binds.append(entries.map(\.transition.at.millisecondsSinceEpoch))
        binds.append(entries.map(\.transition.reason.wireName))
        binds.append(NullableArray(elements: entries.map(\.actor)))
        binds.append(NullableArray(elements: entries.map(\.note)))
        let p = (first..<first + 8).map { "$\($0)" }
        return """
            INSERT INTO transitions (breaker, from_state, to_state, generation, at_ms, reason, actor, note)
            SELECT b, f, t, g, a, r, ac, n FROM unnest(\(p[0])::text[], \(p[1])::text[], \(p[2])::text[], \(p[3])::int8[],
                \(p[4])::int8[], \(p[5])::text[], \(p[6])::text[], \(p[7])::text[]) WITH ORDINALITY AS u(b, f, t, g, a, r, ac, n, ord)
            ORDER BY ord
            """
    }

    /// Trims each appended-to breaker's log to the newest `limit` rows, oldest first through the
    /// (breaker, id) index. Counts rows only for breakers this store has not seen yet.
    private func trimLog(_ entries: [LoggedTransition]) throws(PostgresStoreError) -> [String: Int] {
        var totals: [String: Int] = [:]
        for entry in entries { totals[entry.breaker, default: 0] += 1 }
        let unknown = totals.keys.filter { logCounts[$0] == nil }
        for name in totals.keys where logCounts[name] != nil { totals[name]! += logCounts[name]! }
        if !unknown.isEmpty {
            let rows = try session.query("""
                SELECT breaker, count(*) FROM transitions WHERE breaker = ANY(\(unknown)) GROUP BY breaker
                """, "count transition log")
            for row in rows {
                guard case let (name, count)? = try? row.decode((String, Int64).self) else { continue }
                totals[name] = Int(count)
            }
        }
        let over = totals.filter { $0.value > limit }
        if !over.isEmpty {
            let names = Array(over.keys)
            let excess = names.map { Int64(over[$0]! - limit) }
            try session.query("""
                DELETE FROM transitions WHERE id IN (
                    SELECT x.id FROM unnest(\(names)::text[], \(excess)::int8[]) AS p(breaker, excess)
                    CROSS JOIN LATERAL (SELECT id FROM transitions WHERE breaker = p.breaker ORDER BY id LIMIT p.excess) x)
                """, "trim transition log")
            for name in names { totals[name] = limit }
        }
        return totals
    }

    /// Upserts keys; a key twice in one batch keeps its last row (as SQLite's INSERT OR REPLACE).
    /// Binds its 6 arrays after those in `binds` and returns the statement naming them.
    private static func remember(_ rows: [DedupeRow], into binds: inout PostgresBindings) -> String {
        var last: [String: Int] = [:]
        for (index, row) in rows.enumerated() { last["\(row.breaker)\u{0}\(row.key)"] = index }
        let kept = rows.indices.filter { last["\(rows[$0].breaker)\u{0}\(rows[$0].key)"] == $0 }.map { rows[$0] }
        let first = binds.count + 1
        binds.append(kept.map(\.breaker))
        binds.append(kept.map(\.key))
        binds.append(kept.map(\.state.wireName))
        binds.append(kept.map { Int64(bitPattern: $0.generation) })
        binds.append(kept.map(\.stale))
        binds.append(kept.map(\.expiresMs))
        let p = (first..<first + 6).map { "$\($0)" }
        return """
            INSERT INTO record_dedupe (breaker, key, state, generation, stale, expires_ms)
            SELECT * FROM unnest(\(p[0])::text[], \(p[1])::text[], \(p[2])::text[], \(p[3])::int8[], \(p[4])::bool[], \(p[5])::int8[])
            ON CONFLICT (breaker, key) DO UPDATE SET state = excluded.state, generation = excluded.generation,
                stale = excluded.stale, expires_ms = excluded.expires_ms
            """
    }
}
