import PostgresNIO

/// Applies `PostgresSchema`'s pending steps, each in its own transaction together with its row
/// in the version table, under a transaction-level advisory lock so two daemons starting at once
/// cannot both apply a step. A database written by a newer breakerd is refused untouched.
enum PostgresMigrator {
    /// Returns the version found before migrating.
    static func migrate(_ session: PostgresSession, to migrations: [PostgresSchema.Migration]) throws(PostgresStoreError) -> Int {
        let numbered = migrations.enumerated().allSatisfy { $0.element.version == $0.offset + 1 }
        precondition(numbered, "migrations must be numbered 1, 2, 3, …")
        let known = migrations.last?.version ?? 0
        var found: Int?
        for migration in [(version: 0, sql: [String]())] + migrations {
            try session.query("BEGIN", "begin migration")
            do throws(PostgresStoreError) {
                try session.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLockKey))", "lock the schema")
                try session.query(PostgresQuery(unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS \(PostgresSchema.versionTable) (
                        version INTEGER NOT NULL PRIMARY KEY,
                        applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                    """), "create the schema version table")
                let version = Int(try session.value(PostgresQuery(unsafeSQL:
                    "SELECT coalesce(max(version), 0)::int8 FROM \(PostgresSchema.versionTable)"),
                    as: Int64.self, "read the schema version"))
                if found == nil { found = version }
                if version > known {
                    throw PostgresStoreError(code: .newerSchema, message: "PostgreSQL database \(session.url): schema "
                                             + "version \(version) is newer than this breakerd supports (\(known))")
                }
                if migration.version > version {
                    for sql in migration.sql { try session.query(PostgresQuery(unsafeSQL: sql), "migrate to version \(migration.version)") }
                    try session.query(PostgresQuery(unsafeSQL:
                        "INSERT INTO \(PostgresSchema.versionTable) (version) VALUES (\(migration.version))"),
                        "record schema version \(migration.version)")
                }
                try session.query("COMMIT", "commit migration")
            } catch {
                if session.isOpen { _ = try? session.query("ROLLBACK", "roll back migration") }
                throw error
            }
        }
        return found ?? 0
    }
}
