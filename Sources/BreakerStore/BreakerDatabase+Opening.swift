import CSQLite

extension BreakerDatabase {
    /// Checks, opens and migrates. A refused file (newer schema, not a database, someone else's
    /// database) is never modified: the checks run on a separate read-only connection, because
    /// a read-write one would rewrite the header for `journal_mode=WAL` and, on close,
    /// checkpoint a WAL left by a crashed newer breakerd into the main file.
    static func openConnection(
        path: String, synchronous: SynchronousMode, migrations: [Migration]
    ) throws(StoreError) -> (OpaquePointer, Int) {
        let version = try checkedVersion(path: path, migrations: migrations)
        let db = try connect(path, flags: SQLITE_OPEN_READWRITE)
        do throws(StoreError) {
            let mode = try sqliteQueryText(db, "PRAGMA journal_mode=WAL")
            guard mode?.lowercased() == "wal" else {
                throw StoreError(code: .io, message: "database \(path) could not switch to WAL journal mode "
                                 + "(got \(mode ?? "nothing"))")
            }
            switch synchronous {
            case .normal: try sqliteExecute(db, "PRAGMA synchronous=NORMAL")
            case .full: try sqliteExecute(db, "PRAGMA synchronous=FULL")
            }
            try sqliteExecute(db, "PRAGMA foreign_keys=ON")
            // Nobody can have changed the version since the check: we hold the flock.
            try Schema.migrate(db, from: version, with: migrations)
            return (db, version)
        } catch {
            sqlite3_close_v2(db)
            throw error
        }
    }

    /// The file's schema version, if this code can use the file at all. The first reads are
    /// where SQLite finds out a file is not a database, so they decide `.corrupt`.
    private static func checkedVersion(path: String, migrations: [Migration]) throws(StoreError) -> Int {
        let db = try connect(path, flags: SQLITE_OPEN_READONLY)
        defer { sqlite3_close_v2(db) }
        let version: Int64
        let objects: Int64
        do {
            version = try sqliteQueryInt(db, "PRAGMA user_version", label: "read the schema version")
            objects = try sqliteQueryInt(db, "SELECT count(*) FROM sqlite_schema", label: "read the schema")
        } catch where error.code == .corrupt {
            throw StoreError(code: .corrupt, message: "database \(path) is not a SQLite database or is corrupt: \(error.message)")
        }
        let known = migrations.last?.version ?? 0
        if version > known {
            throw StoreError(code: .newerSchema,
                             message: "database schema version \(version) is newer than this breakerd supports (\(known))")
        }
        if version < 0 || (version == 0 && objects > 0) {
            throw StoreError(code: .corrupt, message: "database \(path) is a SQLite database but not a breakerd one "
                             + "(user_version \(version), \(objects) schema objects); refusing to touch it")
        }
        return Int(version)
    }

    /// No SQLite mutexes (one owner at a time, see the type's doc), extended result codes so
    /// errors say exactly what failed, and no busy waiting: the flock makes this process the
    /// only writer, so waiting for a lock could only hide a bug.
    private static func connect(_ path: String, flags: Int32) throws(StoreError) -> OpaquePointer {
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        guard rc == SQLITE_OK, let db = handle else {
            let error = StoreError.sqlite(rc, db: handle, while: "open database \(path)")
            sqlite3_close_v2(handle)
            throw error
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 0)
        return db
    }
}
