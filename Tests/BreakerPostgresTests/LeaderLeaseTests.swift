import BreakerCore
import BreakerPostgres
import BreakerStorageContract
import BreakerStore
import BreakerTestSupport
import Foundation
import Testing

@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct LeaderLeaseTests {
    /// Ends whichever session holds `cluster`'s lock, and waits (up to 5 s, PostgreSQL's own
    /// wait) until that backend is gone; returns how many it ended.
    static func terminateHolder(of cluster: String, database: String, in pg: PostgresCluster) throws -> String {
        let bits = UInt64(bitPattern: LeaderLease.key(for: cluster))
        return try pg.sql("""
            SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_locks WHERE locktype = 'advisory'
            AND granted AND objsubid = 1 AND classid = \(bits >> 32) AND objid = \(bits & 0xFFFF_FFFF)
            AND database = (SELECT oid FROM pg_database WHERE datname = '\(database)')
            """)
    }

    /// Tries the lease, as a standby does, until it is taken or `limit` has passed.
    static func acquiresWithin(_ limit: Duration, _ store: PostgresStore, elapsed: Duration) throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try store.tryAcquire(elapsed: elapsed) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    @Test func exactlyOneOfTwoStoresLeadsAndTheOtherTakesOverAfterAClose() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        let first = try openStore(url)
        let second = try openStore(url)
        defer { second.close() }
        #expect(try first.tryAcquire(elapsed: .seconds(1)) == true)
        #expect(try second.tryAcquire(elapsed: .seconds(1)) == false)
        #expect((first.isLeader, second.isLeader) == (true, false))
        #expect(first.lastConfirmed == .seconds(1))
        #expect(second.lastConfirmed == nil)
        first.close()
        // The server frees the lock when the closed session's backend exits, just after close().
        #expect(try Self.acquiresWithin(.seconds(5), second, elapsed: .seconds(2)))
        #expect(second.lastConfirmed == .seconds(2))
    }

    @Test func clustersWithOtherNamesDoNotContend() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        let east = try openStore(url, cluster: "east")
        let west = try openStore(url, cluster: "west")
        defer { east.close(); west.close() }
        #expect(try east.tryAcquire(elapsed: .zero) == true)
        #expect(try west.tryAcquire(elapsed: .zero) == true)
        #expect(LeaderLease.key(for: "east") != LeaderLease.key(for: "west"))
    }

    @Test func renewConfirmsTheSessionAtTheCallersTime() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        let leader = try openStore(url)
        let standby = try openStore(url)
        defer { leader.close(); standby.close() }
        try #require(try leader.tryAcquire(elapsed: .milliseconds(100)))
        try leader.renew(elapsed: .milliseconds(600))
        #expect(leader.lastConfirmed == .milliseconds(600))
        let error = thrown(PostgresStoreError.self) { try standby.renew(elapsed: .seconds(1)) }
        #expect(error?.code == .notLeader)
        #expect(standby.lastConfirmed == nil)
    }

    @Test func aTerminatedLeaderIsFencedAndItsSuccessorTakesOver() throws {
        let pg = try PostgresCluster.get()
        let (name, url) = try pg.freshDatabase()
        let leader = try openStore(url)
        let standby = try openStore(url)
        defer { leader.close(); standby.close() }
        try #require(try leader.tryAcquire(elapsed: .zero))
        let committed = StoredBreaker(name: "committed", breaker: CircuitBreaker(createdAt: at(0)))
        try leader.write(WriteBatch(breakers: [committed]))

        #expect(try Self.terminateHolder(of: "test", database: name, in: pg) == "1")
        let late = WriteBatch(breakers: [StoredBreaker(name: "late", breaker: CircuitBreaker(createdAt: at(1)))],
                              transitions: [LoggedTransition(breaker: "late", transition: transition(
                                  .closed, .open, generation: 2, at: 1, reason: .failureThreshold))])
        let writeError = thrown(StoreError.self) { try leader.write(late) }
        #expect(writeError?.code == .locked)
        #expect(leader.isLeader == false)
        // Nothing reconnects behind the caller's back: the old store stays fenced.
        #expect(thrown(PostgresStoreError.self) { _ = try leader.tryAcquire(elapsed: .seconds(1)) }?.code == .sessionLost)
        #expect(thrown(StoreError.self) { try leader.write(late) }?.code == .locked)

        #expect(try standby.tryAcquire(elapsed: .seconds(1)) == true)
        #expect(try standby.loadAll() == [committed])
        #expect(try standby.history(breaker: "late", limit: 10) == [])
    }

    @Test func aStoreWithoutTheLeaseCannotWrite() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        let store = try openStore(url, cluster: "ops")
        defer { store.close() }
        let error = thrown(StoreError.self) {
            try store.write(WriteBatch(breakers: [StoredBreaker(name: "a", breaker: CircuitBreaker(createdAt: at(0)))]))
        }
        #expect(error == StoreError(code: .locked, message: "write to database \(store.location) failed: "
                                    + "this store does not hold the lease of cluster \"ops\""))
        #expect(try store.loadAll() == [])
    }

    @Test func idleSessionTimeoutEndsAFrozenLeaderBetweenTransactions() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        // The standby first: opened second, the frozen store's session idled through its
        // connection and, in a slow ThreadSanitizer run, was ended before it took the lock.
        let standby = try openStore(url)
        let frozen = try openStore(url, sessionTimeout: .seconds(1))
        defer { frozen.close(); standby.close() }
        try #require(try frozen.tryAcquire(elapsed: .zero))
        Thread.sleep(forTimeInterval: 1.5)  // PostgreSQL's own 1 s idle_session_timeout is under test
        #expect(try standby.tryAcquire(elapsed: .seconds(2)) == true)
        #expect(thrown(PostgresStoreError.self) { try frozen.renew(elapsed: .seconds(2)) }?.code == .sessionLost)
        #expect(frozen.isLeader == false)
    }

    /// A takeover idles between the load's pages and while the registry is built (seconds, for a
    /// million breakers on a busy machine): the load lifts the idle timeout to the query timeout,
    /// and the renewal before serving puts the lease's timeout back.
    @Test func aLoadOutlivesTheIdleTimeoutUntilTheNextRenewalRestoresIt() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        // 3 s, not 1 s: the steps before the load must not idle that long on a busy test machine
        // (and the standby is opened first, so the leader's session does not idle through it).
        let standby = try openStore(url)
        let leader = try openStore(url, sessionTimeout: .seconds(3), queryTimeout: .seconds(10))
        defer { leader.close(); standby.close() }
        try #require(try leader.tryAcquire(elapsed: .zero))
        try leader.write(WriteBatch(breakers: breakersInEveryState()))
        #expect(try leader.loadAll().count == breakersInEveryState().count)
        Thread.sleep(forTimeInterval: 4)  // longer than the 3 s idle_session_timeout, as a slow registry build
        try leader.renew(elapsed: .seconds(4))
        #expect(try standby.tryAcquire(elapsed: .seconds(4)) == false)
        // Serving: the lease's 3 s apply again, so a leader that freezes now loses the lock.
        Thread.sleep(forTimeInterval: 4)  // PostgreSQL's own idle_session_timeout is under test
        #expect(thrown(PostgresStoreError.self) { try leader.renew(elapsed: .seconds(8)) }?.code == .sessionLost)
        #expect(try standby.tryAcquire(elapsed: .seconds(8)) == true)
    }

    @Test func idleInTransactionTimeoutEndsALeaderFrozenInsideATransaction() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        // The standby first: opened second, the frozen store's session idled through its
        // connection and, in a slow ThreadSanitizer run, was ended before it took the lock.
        let standby = try openStore(url)
        let frozen = try openStore(url, sessionTimeout: .seconds(1))
        defer { frozen.close(); standby.close() }
        try #require(try frozen.tryAcquire(elapsed: .zero))
        try frozen.executeForTesting("BEGIN")
        Thread.sleep(forTimeInterval: 1.5)  // PostgreSQL's own 1 s idle_in_transaction_session_timeout
        #expect(try standby.tryAcquire(elapsed: .seconds(2)) == true)
        #expect(thrown(StoreError.self) { try frozen.write(WriteBatch(pruneDedupeBefore: at(0))) }?.code == .locked)
    }

    @Test func standbysReadThePublishedLeaderAndWhetherItStillHoldsTheLock() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        let leader = try openStore(url)
        let standby = try openStore(url)
        defer { standby.close() }
        #expect(try standby.currentLeader(cluster: "test") == nil)
        try #require(try leader.tryAcquire(elapsed: .zero))
        try leader.publishLeader(address: "10.0.0.7:7070", at: at(5))
        #expect(try standby.currentLeader(cluster: "test")
                == LeaderRecord(address: "10.0.0.7:7070", electedAt: at(5), lockHeld: true))
        #expect(thrown(PostgresStoreError.self) { try standby.publishLeader(address: "10.0.0.8:7070", at: at(6)) }?.code
                == .notLeader)
        leader.close()
        // The lock goes when the closed session's backend exits, just after close().
        let deadline = ContinuousClock.now + .seconds(5)
        while try standby.currentLeader(cluster: "test")?.lockHeld == true, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(try standby.currentLeader(cluster: "test")
                == LeaderRecord(address: "10.0.0.7:7070", electedAt: at(5), lockHeld: false))
        try #require(try standby.tryAcquire(elapsed: .zero))
        try standby.publishLeader(address: "10.0.0.8:7070", at: at(9))
        #expect(try standby.currentLeader(cluster: "test")
                == LeaderRecord(address: "10.0.0.8:7070", electedAt: at(9), lockHeld: true))
    }
}
