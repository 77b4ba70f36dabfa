import BreakerCore
import BreakerPostgres
import BreakerStorageContract
import BreakerStore
import BreakerTestSupport
import Foundation
import Testing

/// A standby keeps a copy of the committed breakers and, at takeover, reads only what changed
/// after it (`HotCopy`, `PostgresStore.catchUp`): the result must be exactly what a full load
/// reads, whatever wrote the changes.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct HotCopyTests {
    static func byName(_ breakers: some Sequence<StoredBreaker>) -> [String: StoredBreaker] {
        Dictionary(uniqueKeysWithValues: breakers.map { ($0.name, $0) })
    }

    static func renamed(_ stored: StoredBreaker, _ name: String) -> StoredBreaker {
        StoredBreaker(name: name, breaker: stored.breaker)
    }

    /// `name` as an SQL string literal.
    static func literal(_ name: String) -> String { "'\(name.replacingOccurrences(of: "'", with: "''"))'" }

    /// A leader that wrote `breakersInEveryState()` and a standby whose copy holds them.
    static func standbyWithCopy(_ url: String) throws -> (leader: PostgresStore, standby: PostgresStore, copy: HotCopy) {
        let leader = try leaderStore(url)
        let standby = try openStore(url)
        try leader.write(WriteBatch(breakers: breakersInEveryState()))
        var copy = HotCopy()
        try standby.catchUp(&copy, while: { true })
        return (leader, standby, copy)
    }

    @Test func aCatchUpReadsOnlyTheBreakersChangedSinceTheCopy() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        let leader = try leaderStore(url)
        let standby = try openStore(url)
        defer { leader.close(); standby.close() }
        let fixtures = breakersInEveryState()
        try leader.write(WriteBatch(breakers: fixtures))
        var copy = HotCopy()
        #expect(try standby.catchUp(&copy, while: { true }) == (fixtures.count, true))
        #expect(Self.byName(copy.breakers) == Self.byName(fixtures))

        // One breaker changes, one is new; the others are not read again.
        let changed = Self.renamed(fixtures[1], fixtures[0].name)
        let added = Self.renamed(fixtures[2], "added")
        try leader.write(WriteBatch(breakers: [changed, added]))
        #expect(try standby.catchUp(&copy, while: { true }) == (2, true))
        #expect(Self.byName(copy.breakers) == Self.byName(try leader.loadAll()))
        #expect(copy[fixtures[0].name] == changed)
        #expect(try standby.catchUp(&copy, while: { true }) == (0, true))
    }

    /// The trigger numbers an update the leader's upsert did not (a hand edit, an older
    /// breakerd during an upgrade), so no standby keeps the version before it.
    @Test func anUpdateByHandIsSeenByTheNextCatchUp() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        let (leader, standby, caughtUp) = try Self.standbyWithCopy(url)
        defer { leader.close(); standby.close() }
        var copy = caughtUp
        let target = breakersInEveryState()[0].name
        try cluster.sql("UPDATE breakers SET failure_count = 1 WHERE name = \(Self.literal(target))", database: name)
        #expect(try standby.catchUp(&copy, while: { true }) == (1, true))
        #expect(copy[target]?.breaker.failureCount == 1)
        #expect(Self.byName(copy.breakers) == Self.byName(try leader.loadAll()))
    }

    /// A takeover from the copy loads the same breakers as a full load, reading the changes
    /// made after the copy, up to the old leader's last commit.
    @Test func aTakeoverFromTheCopyLoadsWhatAFullLoadLoads() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        let (leader, standby, copy) = try Self.standbyWithCopy(url)
        defer { standby.close() }
        let fixtures = breakersInEveryState()
        try leader.write(WriteBatch(breakers: [Self.renamed(fixtures[3], fixtures[2].name), Self.renamed(fixtures[0], "late")]))
        leader.close()
        #expect(try LeaderLeaseTests.acquiresWithin(.seconds(5), standby, elapsed: .zero))
        let loaded = try standby.loadAll(startingFrom: copy)
        let full = try openStore(url)
        defer { full.close() }
        #expect(loaded.count == fixtures.count + 1)
        #expect(Self.byName(loaded) == Self.byName(try full.loadAll()))
    }

    /// Breakerd never deletes a breaker, but a hand `DELETE` or a restored backup can leave a
    /// copy with rows the table no longer has: the takeover notices and loads everything.
    @Test func aCopyThatNoLongerMatchesTheTableIsDroppedAtTakeover() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        let (leader, standby, copy) = try Self.standbyWithCopy(url)
        defer { standby.close() }
        let fixtures = breakersInEveryState()
        try cluster.sql("DELETE FROM breakers WHERE name = \(Self.literal(fixtures[1].name))", database: name)
        leader.close()
        #expect(try LeaderLeaseTests.acquiresWithin(.seconds(5), standby, elapsed: .zero))
        let loaded = try standby.loadAll(startingFrom: copy)
        #expect(Self.byName(loaded) == Self.byName(fixtures.filter { $0.name != fixtures[1].name }))
    }

    @Test func aCopyFromAnotherDatabaseStartsOver() throws {
        let cluster = try PostgresCluster.get()
        let (_, first) = try cluster.freshDatabase()
        let (_, second) = try cluster.freshDatabase()
        let one = try leaderStore(first), other = try leaderStore(second)
        defer { one.close(); other.close() }
        let fixtures = breakersInEveryState()
        try one.write(WriteBatch(breakers: fixtures))
        try other.write(WriteBatch(breakers: [Self.renamed(fixtures[0], "elsewhere")]))
        var copy = HotCopy()
        try one.catchUp(&copy, while: { true })
        #expect(try other.catchUp(&copy, while: { true }) == (1, true))
        #expect(Self.byName(copy.breakers) == Self.byName([Self.renamed(fixtures[0], "elsewhere")]))
    }

    /// A first fill may stop between pages; the next catch-up goes on where it stopped.
    @Test func aFillStoppedBetweenPagesGoesOnWhereItStopped() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        let leader = try leaderStore(url, sessionTimeout: bulkTimeout, queryTimeout: bulkTimeout)
        let standby = try openStore(url, sessionTimeout: bulkTimeout, queryTimeout: bulkTimeout)
        defer { leader.close(); standby.close() }
        let fixture = breakersInEveryState()[0]
        let written = (0..<25_000).map { Self.renamed(fixture, "b-\($0)") }
        try leader.write(WriteBatch(breakers: written))
        var copy = HotCopy()
        #expect(try standby.catchUp(&copy, while: { false }) == (20_000, false))
        #expect(copy.isCurrent == false)
        #expect(try standby.catchUp(&copy, while: { false }) == (5_000, true))
        #expect(copy.isCurrent)
        #expect(Self.byName(copy.breakers) == Self.byName(written))
    }
}
