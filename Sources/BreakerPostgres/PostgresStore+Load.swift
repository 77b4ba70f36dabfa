import BreakerCore
import BreakerStore
import PostgresNIO

/// Reading breakers: a whole load and a standby's catch-up are one loop, over the pages of
/// breakers changed after a change number (`PostgresBreakerRow.selectChangesSQL`).
extension PostgresStore {
    public func loadAll() throws(StoreError) -> [StoredBreaker] {
        try loadAll(startingFrom: HotCopy())
    }

    /// Every breaker, starting from a standby's `copy`: only the changes after it are read.
    /// A copy from another database or timeline is dropped; one that does not match the table
    /// once caught up (rows deleted by hand, a database restored from an older backup) is
    /// logged and dropped, and everything is read again.
    public func loadAll(startingFrom copy: HotCopy) throws(StoreError) -> [StoredBreaker] {
        do throws(PostgresStoreError) {
            // The session idles between pages and while the caller builds its registry, which
            // on a busy machine outlasted a 2 s lease: PostgreSQL ended the session and the
            // takeover failed, again and again. So the idle timeout is the query timeout until
            // the next `renew`, which a leader runs before it serves (nothing is served meanwhile).
            if leaseHeld, !idleTimeoutLifted {
                try PostgresConnector.liftIdleTimeout(session, options: options)
                idleTimeoutLifted = true
            }
            if copy.count == 0, leaseHeld {
                // Under the lease nobody else writes, so every breaker comes exactly once:
                // straight into the array, without a copy's table.
                var loaded: [StoredBreaker] = []
                _ = try readPages(after: 0, while: { true }) { breaker, _ in loaded.append(breaker) }
                return loaded
            }
            var copy = copy
            let handed = copy.count
            let read = try catchUp(&copy, while: { true }).read
            if handed > 0 {
                let (stored, last) = try tableSummary()
                if stored != copy.count || last < copy.applied {
                    logger.warning("the standby's copy does not match the database; loading every breaker", metadata: [
                        "copy_breakers": "\(copy.count)", "stored_breakers": "\(stored)",
                        "copy_change": "\(copy.applied)", "last_change": "\(last)",
                    ])
                    copy = HotCopy()
                    _ = try catchUp(&copy, while: { true })
                } else {
                    logger.info("loaded from the standby's copy", metadata: [
                        "copy_breakers": "\(handed)", "changes_read": "\(read)", "breakers": "\(copy.count)",
                    ])
                }
            }
            return copy.breakers
        } catch { throw error.storeError }
    }

    /// Reads the breakers changed after `copy.applied` into `copy`, a page at a time, while
    /// `more()` says so between pages; returns how many rows it read and whether it read up to
    /// the newest committed change (also `copy.isCurrent`). A copy from another database or
    /// timeline starts over.
    ///
    /// Exact because only the lease holder writes breakers, one transaction after another on
    /// its one session, so change numbers commit in order: once a row numbered `n` is visible,
    /// so is every change numbered below it (DESIGN.md, "Hot standbys").
    @discardableResult
    public func catchUp(_ copy: inout HotCopy, while more: () -> Bool) throws(PostgresStoreError) -> (read: Int, current: Bool) {
        copy.resume(from: try origin())
        let (read, current) = try readPages(after: copy.applied, while: more) { copy.apply($0, change: $1) }
        copy.isCurrent = current
        return (read, current)
    }

    /// The pages of breakers changed after `change`, each row handed to `body` (within a page in
    /// any order; pages in change order) while `more()` says so between pages; how many rows
    /// were read, and whether the last page was the newest.
    private func readPages(after change: Int64, while more: () -> Bool,
                           _ body: (StoredBreaker, Int64) -> Void) throws(PostgresStoreError) -> (read: Int, current: Bool) {
        var cells = PostgresBreakerRow.Cells()
        let location = self.location
        var read = 0
        var pending = try sendPage(after: change)
        while true {
            let rows = try session.wait(pending)
            read += rows.count
            guard let tail = rows.last else { return (read, true) }
            // The last row names the next page; it is asked for before this one is decoded, so
            // PostgreSQL and postgres-nio's event loop fetch it while this thread decodes.
            let last = try PostgresBreakerRow.read(tail, into: &cells, location: location)
            let full = rows.count == PostgresBreakerRow.pageSize
            let next = full && more() ? try sendPage(after: last.change) : nil
            for row in rows.dropLast() {
                let (breaker, change) = try PostgresBreakerRow.read(row, into: &cells, location: location)
                body(breaker, change)
            }
            body(last.breaker, last.change)
            guard let next else { return (read, !full) }
            pending = next
        }
    }

    private func sendPage(after change: Int64) throws(PostgresStoreError) -> PostgresSession.Pending {
        var binds = PostgresBindings(capacity: 1)
        binds.append(change)
        return try session.send(PostgresQuery(unsafeSQL: PostgresBreakerRow.selectChangesSQL, binds: binds), "load breakers")
    }

    /// The database and timeline this session reads (see `HotCopy.Origin`), asked once.
    func origin() throws(PostgresStoreError) -> HotCopy.Origin {
        if let cachedOrigin { return cachedOrigin }
        let rows = try session.query("""
            SELECT (SELECT id FROM breakerd_identity), substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)
            """, "read the database's identity")
        guard case let (database, timeline)? = try? rows.first?.decode((String, String).self) else {
            throw PostgresStoreError(code: .corrupt, message: "database \(location): no breakerd_identity row")
        }
        let origin = HotCopy.Origin(database: database, timeline: timeline)
        cachedOrigin = origin
        return origin
    }

    /// How many breakers are stored, and the last change number drawn.
    private func tableSummary() throws(PostgresStoreError) -> (breakers: Int, lastChange: Int64) {
        let rows = try session.query("""
            SELECT (SELECT count(*) FROM breakers), (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM breaker_changes)
            """, "count the breakers")
        guard case let (count, last)? = try? rows.first?.decode((Int64, Int64).self) else {
            throw PostgresStoreError(code: .server, message: "count the breakers at \(url.server): no row came back")
        }
        return (Int(count), last)
    }
}
