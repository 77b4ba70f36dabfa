import CSQLite

/// Moves SQLite's automatic WAL checkpoint off whichever thread commits. SQLite checkpoints
/// inside the commit that takes the WAL past 1,000 pages, and at `synchronous=NORMAL` a
/// checkpoint fsyncs the WAL and the database: on an event loop committing inline (see
/// `StorageOwnership`) that would stall every connection of the loop. Installing a WAL hook
/// turns the automatic checkpoint off (SQLite implements it as the default hook); this one only
/// notes the WAL's size after each commit, and the writer thread checkpoints
/// (`BreakerStorage.maintain`) once it passes the same threshold.
///
/// Owned by its `BreakerDatabase` and touched only by the database's current holder (the hook
/// runs inside `write`), so it needs no lock of its own.
final class WALCheckpointHook {
    /// SQLite's own default for `wal_autocheckpoint`.
    static let threshold = 1_000
    /// Frames in the WAL after the latest commit.
    private(set) var frames = 0

    /// Registers the hook on `db`; `self` must outlive the connection (the database owns both
    /// and closes the connection first).
    func install(on db: OpaquePointer) {
        sqlite3_wal_hook(db, { context, _, _, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<WALCheckpointHook>.fromOpaque(context).takeUnretainedValue().frames = Int(frames)
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    var due: Bool { frames >= Self.threshold }

    /// A passive checkpoint, as the automatic one would have run.
    func checkpoint(_ db: OpaquePointer) -> Int32 {
        let result = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        frames = 0
        return result
    }
}

extension BreakerDatabase {
    public var needsMaintenance: Bool { walHook.due }

    /// Checkpoints the WAL (on the writer thread, see `WALCheckpointHook`).
    public func maintain() {
        guard let db = connection, walHook.due else { return }
        let result = walHook.checkpoint(db)
        if result != SQLITE_OK {
            logger.warning("WAL checkpoint failed", metadata: [
                "path": "\(path)", "error": "\(StoreError.sqlite(result, db: db, while: "checkpoint"))",
            ])
        }
    }
}
