import CSQLite

/// One step of the schema's history: the statements that take a database from `version - 1` to
/// `version`. Steps are never edited once released; a change to the schema appends a step.
package typealias Migration = (version: Int, sql: [String])

/// The schema, as the ordered list of migrations that builds it, and the runner that applies them.
///
/// The version lives in `PRAGMA user_version` (a header field, so reading it needs no table and
/// works on any SQLite file). 0 with no tables is a new database.
package enum Schema {
    package static let migrations: [Migration] = [
        (version: 1, sql: [
            """
            CREATE TABLE breakers (
                name TEXT NOT NULL PRIMARY KEY,
                failure_threshold INTEGER NOT NULL,
                success_threshold INTEGER NOT NULL,
                timeout_ms INTEGER NOT NULL,
                half_open_max_calls INTEGER NOT NULL,
                half_open_permit_timeout_ms INTEGER NOT NULL,
                state TEXT NOT NULL,
                generation INTEGER NOT NULL,
                failure_count INTEGER NOT NULL,
                success_count INTEGER NOT NULL,
                open_until_ms INTEGER,
                total_calls INTEGER NOT NULL,
                successful_calls INTEGER NOT NULL,
                failed_calls INTEGER NOT NULL,
                rejected_calls INTEGER NOT NULL,
                transitions TEXT NOT NULL,
                last_failure_ms INTEGER,
                last_state_change_ms INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE transitions (
                id INTEGER PRIMARY KEY,
                breaker TEXT NOT NULL,
                from_state TEXT NOT NULL,
                to_state TEXT NOT NULL,
                generation INTEGER NOT NULL,
                at_ms INTEGER NOT NULL,
                reason TEXT NOT NULL,
                actor TEXT,
                note TEXT
            )
            """,
            "CREATE INDEX transitions_by_breaker ON transitions (breaker, id)",
        ]),
        // An operator's force-open: why, who and when (NULL unless the state is forced_open).
        (version: 2, sql: [
            "ALTER TABLE breakers ADD COLUMN forced_reason TEXT",
            "ALTER TABLE breakers ADD COLUMN forced_by TEXT",
            "ALTER TABLE breakers ADD COLUMN forced_at_ms INTEGER",
        ]),
        // Trip policies: rate windows, slow calls, open-duration backoff, quorum, mode. The
        // defaults reproduce the behaviour before this step, so existing breakers are unchanged.
        // Window contents are not stored (they restart empty); the backoff streak is.
        (version: 3, sql: [
            "ALTER TABLE breakers ADD COLUMN policy TEXT NOT NULL DEFAULT 'consecutive'",
            "ALTER TABLE breakers ADD COLUMN window_kind TEXT NOT NULL DEFAULT 'count'",
            "ALTER TABLE breakers ADD COLUMN window_size INTEGER NOT NULL DEFAULT 100",
            "ALTER TABLE breakers ADD COLUMN failure_rate_threshold INTEGER NOT NULL DEFAULT 50",
            "ALTER TABLE breakers ADD COLUMN minimum_calls INTEGER NOT NULL DEFAULT 20",
            "ALTER TABLE breakers ADD COLUMN slow_call_duration_ms INTEGER",
            "ALTER TABLE breakers ADD COLUMN slow_call_rate_threshold INTEGER NOT NULL DEFAULT 100",
            "ALTER TABLE breakers ADD COLUMN backoff_multiplier REAL",
            "ALTER TABLE breakers ADD COLUMN backoff_max_ms INTEGER",
            "ALTER TABLE breakers ADD COLUMN min_reporters INTEGER",
            "ALTER TABLE breakers ADD COLUMN mode TEXT NOT NULL DEFAULT 'normal'",
            "ALTER TABLE breakers ADD COLUMN reopen_count INTEGER NOT NULL DEFAULT 0",
        ]),
        // Idempotent records: the first answer to each (breaker, dedupe key), until it expires.
        (version: 4, sql: [
            """
            CREATE TABLE record_dedupe (
                breaker TEXT NOT NULL,
                key TEXT NOT NULL,
                state TEXT NOT NULL,
                generation INTEGER NOT NULL,
                stale INTEGER NOT NULL,
                expires_ms INTEGER NOT NULL,
                PRIMARY KEY (breaker, key)
            ) WITHOUT ROWID
            """,
            "CREATE INDEX record_dedupe_by_expiry ON record_dedupe (expires_ms)",
        ]),
        // The last transition's origin and reason (its target and time are `state` and
        // `last_state_change_ms`); NULL for a breaker that never changed state. Existing breakers
        // take them from their newest history row, once, here.
        (version: 5, sql: [
            "ALTER TABLE breakers ADD COLUMN last_from TEXT",
            "ALTER TABLE breakers ADD COLUMN last_reason TEXT",
            """
            UPDATE breakers SET
                last_from = (SELECT from_state FROM transitions t WHERE t.breaker = breakers.name ORDER BY id DESC LIMIT 1),
                last_reason = (SELECT reason FROM transitions t WHERE t.breaker = breakers.name ORDER BY id DESC LIMIT 1)
            """,
        ]),
    ]

    /// The version this code writes and understands.
    package static var currentVersion: Int { migrations.last?.version ?? 0 }

    /// Applies every step newer than the database's version, and the new version number, in one
    /// transaction: a crash midway leaves the old version intact, never a half-built schema.
    /// The caller has already refused versions newer than `migrations` knows.
    static func migrate(_ db: OpaquePointer, from version: Int, with migrations: [Migration]) throws(StoreError) {
        let numbered = migrations.enumerated().allSatisfy { $0.element.version == $0.offset + 1 }
        precondition(numbered, "migrations must be numbered 1, 2, 3, …")
        let pending = migrations.filter { $0.version > version }
        guard let target = pending.last?.version else { return }
        try sqliteExecute(db, "BEGIN IMMEDIATE")
        do {
            for migration in pending {
                for sql in migration.sql { try sqliteExecute(db, sql) }
            }
            // PRAGMA takes no bound parameters; `target` is an integer from the list above.
            try sqliteExecute(db, "PRAGMA user_version = \(target)")
            try sqliteExecute(db, "COMMIT")
        } catch {
            if sqlite3_get_autocommit(db) == 0 { _ = try? sqliteExecute(db, "ROLLBACK") }
            throw error
        }
    }
}
