import BreakerCore
import PostgresNIO

/// The leader lease's identity: a session-level advisory lock whose 64-bit key is derived from
/// the cluster name, stably (FNV-1a of `breakerd:NAME`, the same on every host and version).
public enum LeaderLease {
    public static func key(for cluster: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "breakerd:\(cluster)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// The lock as `pg_locks` shows a bigint key: high half in classid, low half in objid,
    /// objsubid 1. Selecting it is the heartbeat's proof that this session still holds it.
    static func heldBySessionQuery(_ key: Int64) -> PostgresQuery {
        let (high, low) = halves(key)
        return """
            SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
            AND classid = \(high)::int8::oid AND objid = \(low)::int8::oid AND pid = pg_backend_pid()
            """
    }

    static func halves(_ key: Int64) -> (high: Int64, low: Int64) {
        let bits = UInt64(bitPattern: key)
        return (Int64(bits >> 32), Int64(bits & 0xFFFF_FFFF))
    }
}

/// Who leads a cluster, as the leader published it, and whether its lock is held right now.
public struct LeaderRecord: Sendable, Hashable {
    /// The leader's `--advertise` HOST:PORT.
    public var address: String
    /// When it published the address (its clock).
    public var electedAt: Timestamp
    /// Whether some session holds the cluster's lock at the moment of the read; false means the
    /// published leader is gone and no successor has taken over yet.
    public var lockHeld: Bool

    public init(address: String, electedAt: Timestamp, lockHeld: Bool) {
        self.address = address
        self.electedAt = electedAt
        self.lockHeld = lockHeld
    }
}

extension PostgresStore {
    /// The lease's lock key for this store's cluster.
    public var leaseKey: Int64 { LeaderLease.key(for: options.cluster) }

    /// Whether this store holds the lease, as of its last round trip (`lastConfirmed`).
    public var isLeader: Bool { leaseHeld && session.isOpen }

    /// Takes the cluster's lease if nobody holds it (`pg_try_advisory_lock`, never waiting).
    /// `elapsed` is the caller's monotonic clock read just before the call; on success it becomes
    /// `lastConfirmed`. Right after taking the lock a second statement must see it in
    /// `pg_locks` for this backend: if not, the statements ran on different server sessions (a
    /// transaction-mode pooler) and the store refuses with `.poolerDetected`.
    @discardableResult
    public func tryAcquire(elapsed: Duration) throws(PostgresStoreError) -> Bool {
        if isLeader {
            try renew(elapsed: elapsed)
            return true
        }
        let key = leaseKey
        guard try session.value("SELECT pg_try_advisory_lock(\(key))", as: Bool.self, "take the leader lease") else {
            return false
        }
        guard try session.value(LeaderLease.heldBySessionQuery(key), as: Int64.self, "confirm the leader lease") == 1 else {
            let error = PostgresStoreError(code: .poolerDetected, message:
                "PostgreSQL at \(url.server): the leader lock taken by one statement is not held by the next one's "
                + "session; a transaction-mode pooler (PgBouncer?) is in between. Connect to PostgreSQL directly or "
                + "through a session-mode pooler")
            session.end(error)
            throw error
        }
        leaseHeld = true
        lastConfirmed = elapsed
        return true
    }

    /// The heartbeat: one round trip confirming this session still holds the lease. Keeps the
    /// session from `idle_session_timeout`. On success `lastConfirmed` becomes `elapsed` (read by
    /// the caller just before the call); on failure the lease is gone for this store for good.
    public func renew(elapsed: Duration) throws(PostgresStoreError) {
        guard leaseHeld else {
            try session.checkOpen()
            throw PostgresStoreError(code: .notLeader, message:
                "PostgreSQL at \(url.server): this store does not hold the lease of cluster \"\(options.cluster)\"")
        }
        let held: Int64
        do {
            // Before the confirmation, so the session a leader serves on ends `sessionTimeout`
            // after its last statement, as the lease argument needs.
            if idleTimeoutLifted {
                try PostgresConnector.configure(session, options: options)
                idleTimeoutLifted = false
            }
            held = try session.value(LeaderLease.heldBySessionQuery(leaseKey), as: Int64.self, "renew the leader lease")
        } catch {
            leaseHeld = false
            throw error
        }
        guard held == 1 else {
            leaseHeld = false
            let error = PostgresStoreError(code: .sessionLost, message:
                "PostgreSQL at \(url.server): the session no longer holds the lease of cluster \"\(options.cluster)\"")
            session.end(error)
            throw error
        }
        lastConfirmed = elapsed
    }

    /// Publishes this leader's address for standbys to name in `not_leader` replies.
    public func publishLeader(address: String, at now: Timestamp) throws(PostgresStoreError) {
        guard isLeader else {
            try session.checkOpen()
            throw PostgresStoreError(code: .notLeader, message:
                "PostgreSQL at \(url.server): only the lease holder of cluster \"\(options.cluster)\" publishes its address")
        }
        try session.query("""
            INSERT INTO leaders (cluster, address, elected_ms) VALUES (\(options.cluster), \(address), \(now.millisecondsSinceEpoch))
            ON CONFLICT (cluster) DO UPDATE SET address = excluded.address, elected_ms = excluded.elected_ms
            """, "publish the leader address")
    }

    /// The address the leader of `cluster` published, if any; any store may read it.
    public func currentLeader(cluster: String) throws(PostgresStoreError) -> LeaderRecord? {
        let (high, low) = LeaderLease.halves(LeaderLease.key(for: cluster))
        let rows = try session.query("""
            SELECT address, elected_ms, EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
            AND objsubid = 1 AND classid = \(high)::int8::oid AND objid = \(low)::int8::oid \
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) \
            FROM leaders WHERE cluster = \(cluster)
            """, "read the leader address")
        guard let row = rows.first else { return nil }
        guard case let (address, elected, held)? = try? row.decode((String, Int64, Bool).self) else {
            throw PostgresStoreError(code: .corrupt, message: "database \(location): unreadable leaders row for \"\(cluster)\"")
        }
        return LeaderRecord(address: address, electedAt: Timestamp(millisecondsSinceEpoch: elected), lockHeld: held)
    }
}
