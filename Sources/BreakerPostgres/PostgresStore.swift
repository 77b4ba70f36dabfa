import BreakerCore
import BreakerStore
import Logging
import PostgresNIO

/// breakerd's storage in PostgreSQL: the same `BreakerStorage` contract as SQLite's
/// `BreakerDatabase`, over one session that also holds the cluster's leader lease (see
/// `PostgresStore+Lease.swift`), so the connection that commits is the one that holds the lock.
///
/// Not `Sendable`: like `BreakerDatabase`, one thread owns it at a time (the store writer's);
/// every call blocks that thread on postgres-nio's futures, never an event loop.
///
/// **Fencing.** Writes need the lease (`tryAcquire`). A store whose session ended (dropped,
/// `pg_terminate_backend`, `idle_session_timeout`) fails every later call and never reconnects:
/// a new leader term is a new `PostgresStore` that acquires the lease again.
public final class PostgresStore: BreakerStorage {
    public struct Options: Sendable {
        /// Daemons with the same cluster name share one lease; one of them leads.
        public var cluster: String
        /// Rows of transition log kept per breaker; older rows go as new ones arrive.
        public var transitionLogLimit: Int
        /// How long one server may take to accept a connection before the next URL is tried.
        public var connectTimeout: Duration
        /// `idle_session_timeout` and `idle_in_transaction_session_timeout` of the session:
        /// PostgreSQL ends a frozen owner's session (and so frees the lease) after this long,
        /// whether it froze between transactions or inside one. The owner's heartbeat
        /// (`renew`) must come more often. nil leaves the server's settings.
        public var sessionTimeout: Duration?
        /// How long one statement may take; a session that overruns it is abandoned
        /// (`session_lost`), as one the server ended.
        public var queryTimeout: Duration

        public init(cluster: String = "default", transitionLogLimit: Int = 1000, connectTimeout: Duration = .seconds(5),
                    sessionTimeout: Duration? = .seconds(2), queryTimeout: Duration = .seconds(10)) {
            precondition(transitionLogLimit >= 1, "transitionLogLimit must be positive")
            self.cluster = cluster
            self.transitionLogLimit = transitionLogLimit
            self.connectTimeout = connectTimeout
            self.sessionTimeout = sessionTimeout
            self.queryTimeout = queryTimeout
        }
    }

    /// The server this store is connected to (the first primary of the list).
    public let url: PostgresURL
    public var location: String { url.description }
    public let options: Options
    public var transitionLogLimit: Int { options.transitionLogLimit }
    /// The schema version found before any migration ran (0 for an empty database).
    public let openedAtVersion: Int

    let session: PostgresSession
    let logger: Logger
    /// Whether this session holds the cluster's lease, and when (on the caller's clock) that
    /// was last confirmed by a round trip.
    var leaseHeld = false
    public internal(set) var lastConfirmed: Duration?
    /// Log rows per breaker, learned on first append and kept exact afterwards: only the lease
    /// holder writes, so nobody else changes them while this store lives.
    var logCounts: [String: Int] = [:]
    /// Inside `importing`: writes join its transaction instead of making their own.
    var inOuterTransaction = false
    /// `loadAll` lifted `idle_session_timeout` to the query timeout; the next `renew` puts the
    /// session timeouts back before it confirms the lease.
    var idleTimeoutLifted = false
    /// Whether this session has the batch procedure (nil: not tried yet).
    var batchProcedure: Bool?
    /// The database and timeline of this session (`origin()`), once asked.
    var cachedOrigin: HotCopy.Origin?

    /// Connects to the first primary of `urls` (in order; standbys and unreachable servers are
    /// skipped), sets the session's timeouts and migrates the schema. Wrong password, unknown
    /// database and a bad TLS setup stop at once: they are configuration errors.
    public static func connect(_ urls: [PostgresURL], options: Options = Options(), logger: Logger) throws(PostgresStoreError) -> PostgresStore {
        try connect(urls, options: options, migrations: PostgresSchema.migrations, logger: logger)
    }

    /// `migrations` is replaceable so tests can prove that a future step is one more list entry.
    package static func connect(_ urls: [PostgresURL], options: Options, migrations: [PostgresSchema.Migration],
                                logger: Logger) throws(PostgresStoreError) -> PostgresStore {
        let session = try PostgresConnector.connectToPrimary(urls, options: options, logger: logger)
        do {
            let version = try PostgresMigrator.migrate(session, to: migrations)
            return PostgresStore(session: session, options: options, openedAtVersion: version, logger: logger)
        } catch {
            session.close()
            throw error
        }
    }

    private init(session: PostgresSession, options: Options, openedAtVersion: Int, logger: Logger) {
        self.session = session
        self.url = session.url
        self.options = options
        self.openedAtVersion = openedAtVersion
        self.logger = logger
        logger.info("opened PostgreSQL store", metadata: [
            "url": "\(url)", "cluster": "\(options.cluster)", "found_version": "\(openedAtVersion)",
            "schema_version": "\(PostgresSchema.currentVersion)",
        ])
    }

    deinit { session.close() }

    // MARK: Reading

    public func loadDedupe(notExpiredAt now: Timestamp, limit: Int) throws(StoreError) -> [DedupeRow] {
        do throws(PostgresStoreError) {
            try session.checkOpen()
            guard limit > 0 else { return [] }
            return try PostgresDedupeRow.load(from: session, notExpiredAt: now, limit: limit, location: self.location)
        } catch { throw error.storeError }
    }

    public func history(breaker: String, limit: Int) throws(StoreError) -> [LoggedTransition] {
        do throws(PostgresStoreError) {
            try session.checkOpen()
            guard limit > 0 else { return [] }
            let rows = try session.query("""
                SELECT from_state, to_state, generation, at_ms, reason, actor, note FROM transitions \
                WHERE breaker = \(breaker) ORDER BY id DESC LIMIT \(Int64(limit))
                """, "read transition log")
            return try rows.map { row throws(PostgresStoreError) in
                guard case let (from, to, generation, at, reason, actor, note)? =
                        try? row.decode((String, String, Int64, Int64, String, String?, String?).self),
                      let from = BreakerState(wireName: from), let to = BreakerState(wireName: to),
                      let reason = TransitionReason(rawValue: reason) else {
                    throw PostgresStoreError(code: .corrupt, message:
                        "database \(location): unreadable transition log row for breaker \"\(breaker)\"")
                }
                let transition = Transition(from: from, to: to, generation: UInt64(bitPattern: generation),
                                            at: Timestamp(millisecondsSinceEpoch: at), reason: reason)
                return LoggedTransition(breaker: breaker, transition: transition, actor: actor, note: note)
            }
        } catch { throw error.storeError }
    }

    /// The tables with their indexes and TOAST data, as PostgreSQL counts them (0 if unreadable).
    public func sizeBytes() -> Int64 {
        (try? session.value("""
            SELECT pg_total_relation_size('breakers') + pg_total_relation_size('transitions') \
            + pg_total_relation_size('record_dedupe')
            """, as: Int64.self, "measure the tables")) ?? 0
    }

    // MARK: Writing

    /// One transaction, or nothing. Normally one `CALL` of the session's batch procedure,
    /// which commits before it returns (`PostgresBatchProcedure`); without it, a statement per
    /// kind of row between BEGIN and COMMIT. Refused without the lease, and on a session that
    /// ended.
    public func write(_ batch: WriteBatch) throws(StoreError) {
        do throws(PostgresStoreError) {
            try session.checkOpen()
            guard leaseHeld else {
                throw PostgresStoreError(code: .notLeader, message:
                    "this store does not hold the lease of cluster \"\(options.cluster)\"")
            }
            guard !batch.isEmpty else { return }
            let writer = PostgresBatchWriter(session: session, limit: transitionLogLimit, logCounts: logCounts)
            if inOuterTransaction {
                // The outer transaction commits or rolls back; its failure resets the counts.
                logCounts.merge(try writer.write(batch)) { $1 }
                return
            }
            if try batchProcedureReady() {
                do throws(PostgresStoreError) {
                    // Only after the call returned: a failed batch must not leave counts that no
                    // longer match the table.
                    logCounts.merge(try writer.commitInOneCall(batch)) { $1 }
                } catch {
                    // Whatever failed, the next write makes sure the procedure is there (CREATE
                    // OR REPLACE): one that was rolled back with a transaction is made again.
                    batchProcedure = nil
                    throw error
                }
                return
            }
            // Always BEGIN … COMMIT, never one autocommitted statement: in the extended protocol
            // a lone statement's CommandComplete comes before its implicit commit (at Sync),
            // so its success would be acknowledged before it is durable.
            let countsAfter: [String: Int]
            try session.query("BEGIN", "begin transaction")
            do throws(PostgresStoreError) {
                countsAfter = try writer.write(batch)
                try session.query("COMMIT", "commit")
            } catch {
                if session.isOpen { _ = try? session.query("ROLLBACK", "roll back") }
                throw error
            }
            logCounts.merge(countsAfter) { $1 }
        } catch {
            throw StoreError(code: error.storeError.code, message: "write to database \(location) failed: \(error.message)")
        }
    }

    /// Creates the batch procedure on this session's first write (and after a failed call).
    /// A server that cannot have it (no TEMPORARY privilege on the database for this user, no
    /// PL/pgSQL) is logged once, and this session writes with BEGIN … COMMIT. Any other failure
    /// fails this write, and the next one tries again.
    private func batchProcedureReady() throws(PostgresStoreError) -> Bool {
        if let batchProcedure { return batchProcedure }
        let possible = try session.value("""
            SELECT has_database_privilege(current_database(), 'TEMPORARY') \
            AND EXISTS (SELECT 1 FROM pg_language WHERE lanname = 'plpgsql')
            """, as: Bool.self, "check for the batch procedure")
        if possible {
            try session.query(PostgresQuery(unsafeSQL: PostgresBatchProcedure.createSQL), "create the batch procedure")
        } else {
            logger.warning("no TEMPORARY privilege or no PL/pgSQL: committing each batch with BEGIN … COMMIT, a round trip per statement",
                           metadata: ["url": "\(url)"])
        }
        batchProcedure = possible
        return possible
    }

    // MARK: Closing

    /// Ends the session, which releases the lease. Idempotent.
    public func close() {
        session.close()
        leaseHeld = false
        idleTimeoutLifted = false
        logCounts = [:]
    }

    /// Runs constant SQL on the store's own session (a `SET` that makes writes fail for a real
    /// reason, say), for tests.
    package func executeForTesting(_ sql: String) throws(PostgresStoreError) {
        try session.query(PostgresQuery(unsafeSQL: sql), "test statement")
    }
}
