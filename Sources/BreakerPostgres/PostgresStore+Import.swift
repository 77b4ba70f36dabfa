import BreakerStore
import PostgresNIO

/// What `breakerd migrate` needs of a PostgreSQL target beyond `BreakerStorage`: to know whether
/// the database already holds breaker data, and to make the whole copy one transaction that may
/// first empty the tables (`--force`).
extension PostgresStore {
    /// How many rows the breaker tables hold (the schema and the published leader aside).
    public struct Contents: Sendable, Hashable, CustomStringConvertible {
        public var breakers: Int64
        public var transitions: Int64
        public var dedupeKeys: Int64

        public var isEmpty: Bool { breakers == 0 && transitions == 0 && dedupeKeys == 0 }

        public var description: String {
            "\(breakers) breakers, \(transitions) history rows and \(dedupeKeys) dedupe keys"
        }
    }

    /// The rows in `breakers`, `transitions` and `record_dedupe` now.
    public func contents() throws(PostgresStoreError) -> Contents {
        let rows = try session.query("""
            SELECT (SELECT count(*) FROM breakers), (SELECT count(*) FROM transitions), (SELECT count(*) FROM record_dedupe)
            """, "count the stored rows")
        guard case let (breakers, transitions, dedupeKeys)? = try? rows.first?.decode((Int64, Int64, Int64).self) else {
            throw PostgresStoreError(code: .server, message: "count the stored rows at \(url.server): no row came back")
        }
        return Contents(breakers: breakers, transitions: transitions, dedupeKeys: dedupeKeys)
    }

    /// Runs `body` inside one transaction: every `write` it makes joins it, and it commits only
    /// if `body` returns, so on any error nothing of it is visible. With `replacing`, the
    /// transaction first empties the breaker tables (`TRUNCATE breakers, transitions,
    /// record_dedupe`; the schema and the published leader stay): until it commits, the old
    /// contents stay whole and readable. Needs the lease, like every write.
    public func importing<T>(replacing: Bool, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        do throws(PostgresStoreError) {
            try session.checkOpen()
            guard leaseHeld else {
                throw PostgresStoreError(code: .notLeader, message:
                    "this store does not hold the lease of cluster \"\(options.cluster)\"")
            }
            try session.query("BEGIN", "begin the import")
            if replacing {
                try session.query("TRUNCATE breakers, transitions, record_dedupe", "empty the breaker tables")
            }
        } catch {
            rollBack()
            throw StoreError(code: error.storeError.code, message: "import into database \(location) failed: \(error.message)")
        }
        logCounts = [:]
        inOuterTransaction = true
        defer { inOuterTransaction = false }
        let result: T
        do {
            result = try body()
        } catch {
            rollBack()
            throw error
        }
        do throws(PostgresStoreError) {
            try session.query("COMMIT", "commit the import")
            return result
        } catch {
            rollBack()
            throw StoreError(code: error.storeError.code, message: "import into database \(location) failed: \(error.message)")
        }
    }

    private func rollBack() {
        if session.isOpen { _ = try? session.query("ROLLBACK", "roll back the import") }
        logCounts = [:]
    }
}

extension PostgresStore {
    /// The clusters other than this store's whose published leader holds its lock right now:
    /// breaker tables are per database, so a copy into them must not run under any leader.
    public func otherServingClusters() throws(PostgresStoreError) -> [(cluster: String, address: String)] {
        let rows = try session.query("SELECT cluster FROM leaders ORDER BY cluster", "read the published leaders")
        var serving: [(cluster: String, address: String)] = []
        for row in rows {
            guard let cluster = try? row.decode(String.self), cluster != options.cluster,
                  let record = try currentLeader(cluster: cluster), record.lockHeld else { continue }
            serving.append((cluster, record.address))
        }
        return serving
    }
}
