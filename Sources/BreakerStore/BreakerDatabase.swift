import BreakerCore
import CSQLite
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How hard a commit tries to reach the disk. Both survive a crash or `kill -9` of breakerd.
public enum SynchronousMode: String, Sendable, CaseIterable {
    /// The WAL is synced only at checkpoints: a power loss can drop the last commits.
    case normal
    /// Every commit syncs the WAL: survives power loss, at the cost of one fsync per batch.
    case full
}

/// The breakerd database: one SQLite connection, in WAL mode, with the schema of `Schema`; the
/// embedded `BreakerStorage`.
///
/// Not `Sendable`, and not meant to be: the connection is opened without SQLite's mutexes and
/// the statement cache and transition-log counts are plain properties, so exactly one thread
/// may own an instance at a time. In the daemon that thread is `StoreWriter`'s; a database is
/// handed to it at init and never touched elsewhere again.
///
/// Opening also takes an exclusive `flock` on the file (see `DatabaseFileLock`), so two
/// daemons can never share one database, and never modifies a file it refuses (see
/// `openConnection`).
public final class BreakerDatabase: BreakerStorage {
    public let path: String
    public var location: String { path }
    public let synchronous: SynchronousMode
    /// At `synchronous=NORMAL` a commit is a write to the WAL (microseconds, no fsync), cheap
    /// enough for the event loop waiting for it to make; at `FULL` each commit fsyncs, which
    /// stays on the writer thread.
    public var commitsInline: Bool { synchronous == .normal }
    /// Rows of transition log kept per breaker; older rows are pruned as new ones arrive.
    public let transitionLogLimit: Int
    /// The schema version found on disk before any migration ran (0 for a new file).
    public let openedAtVersion: Int

    let logger: Logger
    private var db: OpaquePointer?
    var connection: OpaquePointer? { db }
    /// Notes the WAL's size after each commit; the writer thread checkpoints (see the type).
    let walHook = WALCheckpointHook()
    private var lock: DatabaseFileLock?
    private var statements: CachedStatements?
    var cachedStatements: CachedStatements? { statements }
    /// Log rows per breaker, learned on first append and kept exact afterwards (this connection
    /// is the only writer), so pruning costs nothing until a breaker actually exceeds the limit.
    private var logCounts: [String: Int] = [:]

    public convenience init(
        path: String, synchronous: SynchronousMode = .normal, transitionLogLimit: Int = 1000, logger: Logger
    ) throws(StoreError) {
        try self.init(path: path, synchronous: synchronous, transitionLogLimit: transitionLogLimit,
                      migrations: Schema.migrations, logger: logger)
    }

    /// `migrations` is replaceable so tests can prove that a future step is one more list entry.
    package init(
        path: String, synchronous: SynchronousMode, transitionLogLimit: Int, migrations: [Migration], logger: Logger
    ) throws(StoreError) {
        precondition(transitionLogLimit >= 1, "transitionLogLimit must be positive")
        let lock = try DatabaseFileLock.acquire(path: path)
        let db: OpaquePointer
        let version: Int
        do {
            (db, version) = try Self.openConnection(path: path, synchronous: synchronous, migrations: migrations)
        } catch {
            lock.release()
            throw error
        }
        let statements: CachedStatements
        do {
            statements = try CachedStatements(db: db)
        } catch {
            sqlite3_close_v2(db)  // before the lock: see DatabaseFileLock
            lock.release()
            throw error
        }
        self.statements = statements
        self.path = path
        self.synchronous = synchronous
        self.transitionLogLimit = transitionLogLimit
        self.openedAtVersion = version
        self.logger = logger
        self.db = db
        self.lock = lock
        walHook.install(on: db)
        logger.info("opened database", metadata: [
            "path": "\(path)", "schema_version": "\(migrations.last?.version ?? 0)",
            "found_version": "\(version)", "synchronous": "\(synchronous.rawValue)",
        ])
    }

    deinit {
        close()
    }

    // MARK: Reading

    /// Every stored breaker, by name. Built for start-up: one statement, columns read in place.
    public func loadAll() throws(StoreError) -> [StoredBreaker] {
        guard let db else { throw StoreError.closed(path) }
        let statement = try SQLiteStatement(db: db, sql: BreakerRow.selectAllSQL, label: "load breakers")
        defer { statement.finalize() }
        var result: [StoredBreaker] = []
        while try statement.step() {
            result.append(try BreakerRow.read(statement, path: path))
        }
        return result
    }

    /// The newest `limit` log rows of one breaker, newest first.
    public func history(breaker: String, limit: Int) throws(StoreError) -> [LoggedTransition] {
        guard let statements else { throw StoreError.closed(path) }
        guard limit > 0 else { return [] }
        let row = statements.history
        defer { row.reset() }
        try row.bind(breaker, at: 1)
        try row.bind(Int64(limit), at: 2)
        var result: [LoggedTransition] = []
        while try row.step() {
            guard let from = row.text(0).flatMap(BreakerState.init(wireName:)),
                  let to = row.text(1).flatMap(BreakerState.init(wireName:)),
                  let reason = row.text(4).flatMap(TransitionReason.init(rawValue:)),
                  row.isInteger(2), row.isInteger(3)
            else {
                throw StoreError(code: .corrupt,
                                 message: "database \(path): unreadable transition log row for breaker \"\(breaker)\"")
            }
            let transition = Transition(
                from: from, to: to, generation: UInt64(bitPattern: row.int64(2)),
                at: Timestamp(millisecondsSinceEpoch: row.int64(3)), reason: reason)
            result.append(LoggedTransition(breaker: breaker, transition: transition,
                                           actor: row.text(5), note: row.text(6)))
        }
        return result
    }

    /// Bytes on disk: the main file as SQLite sees it, plus the WAL not yet checkpointed.
    public func sizeBytes() -> Int64 {
        var total = Self.sizeOnDisk(path)
        if let db, let pages = try? sqliteQueryInt(db, "PRAGMA page_count"),
           let pageSize = try? sqliteQueryInt(db, "PRAGMA page_size") {
            total = pages * pageSize
        }
        return total + Self.sizeOnDisk(path + "-wal")
    }

    private static func sizeOnDisk(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    // MARK: Writing

    /// Writes the whole batch in one transaction, or nothing. On error the transaction is rolled
    /// back and the error keeps SQLite's message and extended code.
    public func write(_ batch: WriteBatch) throws(StoreError) {
        guard let db, let statements else { throw StoreError.closed(path) }
        guard !batch.isEmpty else { return }
        var countsAfter: [String: Int] = [:]
        do {
            try statements.begin.run()
            for stored in batch.breakers {
                try BreakerRow.bind(stored, to: statements.upsert)
                try statements.upsert.run()
            }
            var appended: [String: Int] = [:]
            for entry in batch.transitions {
                try bind(entry, to: statements.insertTransition)
                try statements.insertTransition.run()
                appended[entry.breaker, default: 0] += 1
            }
            for (name, added) in appended {
                countsAfter[name] = try pruneLog(of: name, added: added, statements: statements)
            }
            for row in batch.dedupes {
                try Self.bind(row, to: statements.insertDedupe)
                try statements.insertDedupe.run()
            }
            if let before = batch.pruneDedupeBefore {
                try statements.pruneDedupe.bind(before.millisecondsSinceEpoch, at: 1)
                try statements.pruneDedupe.run()
            }
            try statements.commit.run()
        } catch {
            if sqlite3_get_autocommit(db) == 0 { try? statements.rollback.run() }
            throw StoreError(code: error.code, message: "write to database \(path) failed: \(error.message)")
        }
        // Only now: a rolled-back batch must not leave counts that no longer match the table.
        logCounts.merge(countsAfter) { $1 }
    }

    private func bind(_ entry: LoggedTransition, to statement: SQLiteStatement) throws(StoreError) {
        let transition = entry.transition
        try statement.bind(entry.breaker, at: 1)
        try statement.bind(transition.from.wireName, at: 2)
        try statement.bind(transition.to.wireName, at: 3)
        try statement.bind(Int64(bitPattern: transition.generation), at: 4)
        try statement.bind(transition.at.millisecondsSinceEpoch, at: 5)
        try statement.bind(transition.reason.wireName, at: 6)
        try statement.bind(entry.actor, at: 7)
        try statement.bind(entry.note, at: 8)
    }

    /// Trims one breaker's log to the newest `transitionLogLimit` rows and returns its new size.
    /// Counts rows only the first time a breaker is seen; deletes oldest-first, walking just the
    /// rows it removes.
    private func pruneLog(of name: String, added: Int, statements: CachedStatements) throws(StoreError) -> Int {
        var total: Int
        if let known = logCounts[name] {
            total = known + added
        } else {
            defer { statements.countLog.reset() }
            try statements.countLog.bind(name, at: 1)
            _ = try statements.countLog.step()
            total = Int(statements.countLog.int64(0))
        }
        if total > transitionLogLimit {
            try statements.pruneLog.bind(name, at: 1)
            try statements.pruneLog.bind(Int64(total - transitionLogLimit), at: 2)
            try statements.pruneLog.run()
            total = transitionLogLimit
        }
        return total
    }

    // MARK: Closing

    /// Finalizes statements, folds the WAL back into the main file, closes the connection and
    /// only then releases the lock (see `DatabaseFileLock` on why that order). Idempotent.
    public func close() {
        guard let db else { return }
        statements?.finalizeAll()
        statements = nil
        let checkpoint = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
        if checkpoint != SQLITE_OK {
            logger.warning("WAL checkpoint at close failed", metadata: [
                "path": "\(path)", "error": "\(StoreError.sqlite(checkpoint, db: db, while: "checkpoint"))",
            ])
        }
        let closed = sqlite3_close_v2(db)
        if closed != SQLITE_OK {
            logger.error("closing database failed", metadata: ["path": "\(path)", "code": "\(closed)"])
        }
        self.db = nil
        lock?.release()
        lock = nil
        logCounts = [:]
    }

    /// Runs constant SQL (a pragma such as `query_only` or `max_page_count`) so tests can make
    /// writes fail for real reasons without root-proof file permissions.
    package func executeForTesting(_ sql: String) throws(StoreError) {
        guard let db else { throw StoreError.closed(path) }
        try sqliteExecute(db, sql)
    }
}

extension StoreWriter {
    /// Runs `body` with the writer's database on its thread, e.g. to flip `query_only` in a test.
    package func withDatabaseForTesting(_ body: @escaping @Sendable (BreakerDatabase) -> Void) {
        withStorageForTesting { storage in
            if let database = storage as? BreakerDatabase { body(database) }
        }
    }
}
