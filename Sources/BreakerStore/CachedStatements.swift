import CSQLite

/// The statements every batch and every history read use, prepared once per connection so the
/// writer never re-parses SQL on the hot path. Every one takes only bound parameters.
struct CachedStatements {
    let begin: SQLiteStatement
    let commit: SQLiteStatement
    let rollback: SQLiteStatement
    let upsert: SQLiteStatement
    let insertTransition: SQLiteStatement
    let countLog: SQLiteStatement
    let pruneLog: SQLiteStatement
    let history: SQLiteStatement
    let insertDedupe: SQLiteStatement
    let pruneDedupe: SQLiteStatement
    let selectDedupe: SQLiteStatement

    init(db: OpaquePointer) throws(StoreError) {
        var prepared: [SQLiteStatement] = []
        func prepare(_ label: String, _ sql: String) throws(StoreError) -> SQLiteStatement {
            let statement = try SQLiteStatement(db: db, sql: sql, label: label, persistent: true)
            prepared.append(statement)
            return statement
        }
        do {
            // IMMEDIATE takes the write lock up front, so a batch can never fail halfway for
            // lack of it.
            begin = try prepare("begin transaction", "BEGIN IMMEDIATE")
            commit = try prepare("commit", "COMMIT")
            rollback = try prepare("rollback", "ROLLBACK")
            upsert = try prepare("upsert breaker", BreakerRow.upsertSQL)
            insertTransition = try prepare("append transition", """
                INSERT INTO transitions (breaker, from_state, to_state, generation, at_ms, reason, actor, note)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """)
            countLog = try prepare("count transition log", "SELECT count(*) FROM transitions WHERE breaker = ?1")
            // Oldest first through the (breaker, id) index: touches only the rows it deletes.
            pruneLog = try prepare("prune transition log", """
                DELETE FROM transitions WHERE id IN
                    (SELECT id FROM transitions WHERE breaker = ?1 ORDER BY id LIMIT ?2)
                """)
            history = try prepare("read transition log", """
                SELECT from_state, to_state, generation, at_ms, reason, actor, note
                FROM transitions WHERE breaker = ?1 ORDER BY id DESC LIMIT ?2
                """)
            insertDedupe = try prepare("remember dedupe key", """
                INSERT OR REPLACE INTO record_dedupe (breaker, key, state, generation, stale, expires_ms)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                """)
            pruneDedupe = try prepare("prune dedupe keys", "DELETE FROM record_dedupe WHERE expires_ms <= ?1")
            // Newest expiry first through the expiry index, so a start-up under a smaller
            // `--max-dedupe-keys` than the table holds keeps the keys that would live longest.
            selectDedupe = try prepare("load dedupe keys", """
                SELECT breaker, key, state, generation, stale, expires_ms FROM record_dedupe WHERE expires_ms > ?1
                ORDER BY expires_ms DESC LIMIT ?2
                """)
        } catch {
            for statement in prepared { statement.finalize() }
            throw error
        }
    }

    func finalizeAll() {
        for statement in [begin, commit, rollback, upsert, insertTransition, countLog, pruneLog, history,
                          insertDedupe, pruneDedupe, selectDedupe] {
            statement.finalize()
        }
    }
}
