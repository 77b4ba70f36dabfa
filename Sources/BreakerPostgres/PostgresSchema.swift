/// The PostgreSQL schema, as the ordered list of migrations that builds it. Like SQLite's
/// `Schema`: steps are never edited once released; a change appends a step. Each pending step
/// runs in one transaction with its version row, so a crash leaves the old version intact.
///
/// Types: every count, generation and time is BIGINT; unsigned 64-bit values (generations,
/// call counters) are stored by bit pattern and come back exactly; times are UTC milliseconds.
public enum PostgresSchema {
    public typealias Migration = (version: Int, sql: [String])

    public static let migrations: [Migration] = [
        (version: 1, sql: [
            """
            CREATE TABLE breakers (
                name TEXT NOT NULL PRIMARY KEY,
                failure_threshold BIGINT NOT NULL,
                success_threshold BIGINT NOT NULL,
                timeout_ms BIGINT NOT NULL,
                half_open_max_calls BIGINT NOT NULL,
                half_open_permit_timeout_ms BIGINT NOT NULL,
                state TEXT NOT NULL,
                generation BIGINT NOT NULL,
                failure_count BIGINT NOT NULL,
                success_count BIGINT NOT NULL,
                open_until_ms BIGINT,
                total_calls BIGINT NOT NULL,
                successful_calls BIGINT NOT NULL,
                failed_calls BIGINT NOT NULL,
                rejected_calls BIGINT NOT NULL,
                transitions TEXT NOT NULL,
                last_failure_ms BIGINT,
                last_state_change_ms BIGINT NOT NULL,
                forced_reason TEXT,
                forced_by TEXT,
                forced_at_ms BIGINT,
                policy TEXT NOT NULL,
                window_kind TEXT NOT NULL,
                window_size BIGINT NOT NULL,
                failure_rate_threshold BIGINT NOT NULL,
                minimum_calls BIGINT NOT NULL,
                slow_call_duration_ms BIGINT,
                slow_call_rate_threshold BIGINT NOT NULL,
                backoff_multiplier DOUBLE PRECISION,
                backoff_max_ms BIGINT,
                min_reporters BIGINT,
                mode TEXT NOT NULL,
                reopen_count BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE transitions (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                breaker TEXT NOT NULL,
                from_state TEXT NOT NULL,
                to_state TEXT NOT NULL,
                generation BIGINT NOT NULL,
                at_ms BIGINT NOT NULL,
                reason TEXT NOT NULL,
                actor TEXT,
                note TEXT
            )
            """,
            "CREATE INDEX transitions_by_breaker ON transitions (breaker, id)",
            """
            CREATE TABLE record_dedupe (
                breaker TEXT NOT NULL,
                key TEXT NOT NULL,
                state TEXT NOT NULL,
                generation BIGINT NOT NULL,
                stale BOOLEAN NOT NULL,
                expires_ms BIGINT NOT NULL,
                PRIMARY KEY (breaker, key)
            )
            """,
            "CREATE INDEX record_dedupe_by_expiry ON record_dedupe (expires_ms)",
            // The leader's advertised address, per cluster name, for standbys' not_leader replies.
            """
            CREATE TABLE leaders (
                cluster TEXT NOT NULL PRIMARY KEY,
                address TEXT NOT NULL,
                elected_ms BIGINT NOT NULL
            )
            """,
        ]),
        // The last transition's origin and reason (its target and time are `state` and
        // `last_state_change_ms`); NULL for a breaker that never changed state. Existing breakers
        // take them from their newest history row, once, here.
        (version: 2, sql: [
            "ALTER TABLE breakers ADD COLUMN last_from TEXT, ADD COLUMN last_reason TEXT",
            """
            UPDATE breakers b SET last_from = t.from_state, last_reason = t.reason
            FROM (SELECT DISTINCT ON (breaker) breaker, from_state, reason FROM transitions ORDER BY breaker, id DESC) t
            WHERE t.breaker = b.name
            """,
        ]),
        // Hot standbys (DESIGN.md, "Hot standbys"): every stored version of a breaker gets a
        // new number from one sequence, so a standby reads only what changed since its copy.
        // Existing rows are numbered once, here. The leader's upsert numbers its rows itself
        // (the insert's default, kept on conflict); the trigger numbers any other update that
        // leaves the number as it was (an older breakerd during an upgrade, a hand edit), and
        // costs the leader only its `WHEN` test.
        (version: 3, sql: [
            "CREATE SEQUENCE breaker_changes AS BIGINT",
            "ALTER TABLE breakers ADD COLUMN change_seq BIGINT NOT NULL DEFAULT nextval('breaker_changes')",
            "ALTER SEQUENCE breaker_changes OWNED BY breakers.change_seq",
            "CREATE UNIQUE INDEX breakers_by_change ON breakers (change_seq)",
            """
            CREATE FUNCTION breakers_number_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.change_seq := nextval('breaker_changes'); RETURN NEW; END $$
            """,
            """
            CREATE TRIGGER breakers_number_change BEFORE UPDATE ON breakers FOR EACH ROW
            WHEN (NEW.change_seq = OLD.change_seq) EXECUTE FUNCTION breakers_number_change()
            """,
            // Which database a standby's copy came from: a replica has the same value, an
            // unrelated server another (the timeline tells a promoted replica apart).
            "CREATE TABLE breakerd_identity (id TEXT NOT NULL PRIMARY KEY)",
            "INSERT INTO breakerd_identity SELECT gen_random_uuid()::text",
        ]),
    ]

    /// The version this code writes and understands.
    public static var currentVersion: Int { migrations.last?.version ?? 0 }

    /// The table that records each applied version (one row per step).
    static let versionTable = "breakerd_schema_version"

    /// Serializes migrations of one database between daemons starting together (a transaction
    /// lock, released at commit): "breakerd-migrate" as a 64-bit key.
    static let migrationLockKey = LeaderLease.key(for: "breakerd-migrate")
}
