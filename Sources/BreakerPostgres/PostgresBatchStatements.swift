import BreakerStore
import PostgresNIO

/// The statements a batch is made of, each with its parameters numbered from `first` (so the
/// batch procedure can name its arguments `$n` and a lone statement starts at `$1`), and the
/// binders that fill them in the same order. The snapshot upsert is `PostgresBreakerRow`'s.
enum PostgresBatchStatements {
    /// Types of the procedure's arguments in order: snapshot columns, log rows (8), trimming
    /// (2), dedupe keys (6), prune bound (1).
    static let parameterTypes: [String] =
        PostgresBreakerRow.columns.map { "\($0.kind.rawValue)[]" } + logTypes + ["text[]", "int8[]"] + dedupeTypes + ["int8"]

    /// Where each kind's parameters start in the procedure's list.
    static let firstLog = PostgresBreakerRow.columns.count + 1
    static let firstTrim = firstLog + logTypes.count
    static let firstDedupe = firstTrim + 2
    static let prune = firstDedupe + dedupeTypes.count

    private static let logTypes = ["text[]", "text[]", "text[]", "int8[]", "int8[]", "text[]", "text[]", "text[]"]
    private static let dedupeTypes = ["text[]", "text[]", "text[]", "int8[]", "bool[]", "int8[]"]

    /// Appends in batch order: ids follow `WITH ORDINALITY`.
    static func appendLogSQL(first: Int) -> String {
        let p = params(first, logTypes)
        return """
            INSERT INTO transitions (breaker, from_state, to_state, generation, at_ms, reason, actor, note)
            SELECT b, f, t, g, a, r, ac, n FROM unnest(\(p.joined(separator: ", "))) WITH ORDINALITY AS u(b, f, t, g, a, r, ac, n, ord)
            ORDER BY ord
            """
    }

    static func bindLog(_ entries: [LoggedTransition], into binds: inout PostgresBindings) {
        binds.append(entries.map(\.breaker))
        binds.append(entries.map(\.transition.from.wireName))
        binds.append(entries.map(\.transition.to.wireName))
        binds.append(entries.map { Int64(bitPattern: $0.transition.generation) })
        binds.append(entries.map(\.transition.at.millisecondsSinceEpoch))
        binds.append(entries.map(\.transition.reason.wireName))
        binds.append(NullableArray(elements: entries.map(\.actor)))
        binds.append(NullableArray(elements: entries.map(\.note)))
    }

    /// Deletes each named breaker's oldest `excess` log rows, through the (breaker, id) index.
    /// Runs after the batch's append, so the newest rows are the ones kept.
    static func trimLogSQL(first: Int) -> String {
        let p = params(first, ["text[]", "int8[]"])
        return """
            DELETE FROM transitions WHERE id IN (
                SELECT x.id FROM unnest(\(p[0]), \(p[1])) AS p(breaker, excess)
                CROSS JOIN LATERAL (SELECT id FROM transitions WHERE breaker = p.breaker ORDER BY id LIMIT p.excess) x)
            """
    }

    /// Upserts keys; a key twice in one batch keeps its last row (as SQLite's INSERT OR REPLACE).
    static func rememberSQL(first: Int) -> String {
        """
        INSERT INTO record_dedupe (breaker, key, state, generation, stale, expires_ms)
        SELECT * FROM unnest(\(params(first, dedupeTypes).joined(separator: ", ")))
        ON CONFLICT (breaker, key) DO UPDATE SET state = excluded.state, generation = excluded.generation,
            stale = excluded.stale, expires_ms = excluded.expires_ms
        """
    }

    static func bindDedupe(_ rows: [DedupeRow], into binds: inout PostgresBindings) {
        var last: [String: Int] = [:]
        for (index, row) in rows.enumerated() { last["\(row.breaker)\u{0}\(row.key)"] = index }
        let kept = rows.indices.filter { last["\(rows[$0].breaker)\u{0}\(rows[$0].key)"] == $0 }.map { rows[$0] }
        binds.append(kept.map(\.breaker))
        binds.append(kept.map(\.key))
        binds.append(kept.map(\.state.wireName))
        binds.append(kept.map { Int64(bitPattern: $0.generation) })
        binds.append(kept.map(\.stale))
        binds.append(kept.map(\.expiresMs))
    }

    static func pruneSQL(first: Int) -> String {
        "DELETE FROM record_dedupe WHERE expires_ms <= $\(first)::int8"
    }

    /// `$first::type`, `$first+1::type`, … for `types`.
    private static func params(_ first: Int, _ types: [String]) -> [String] {
        types.enumerated().map { "$\(first + $0.offset)::\($0.element)" }
    }
}
