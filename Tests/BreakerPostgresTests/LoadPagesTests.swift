import BreakerCore
import BreakerPostgres
import BreakerStorageContract
import BreakerStore
import BreakerTestSupport
import Testing

/// `loadAll` reads page by page (a million rows in one query outlasted the query timeout, and a
/// new leader never finished loading): across page boundaries every breaker comes back once,
/// whole, in name order.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct LoadPagesTests {
    @Test func moreThanTwoPagesComeBackWholeAndOnce() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        // A page of 20,000 rows takes a while to collect in a debug build on a busy machine.
        let store = try leaderStore(url, sessionTimeout: bulkTimeout, queryTimeout: bulkTimeout)
        defer { store.close() }
        let fixtures = breakersInEveryState()
        // 2.5 pages of 20,000, with names whose byte order and collation order could differ.
        let written = (0..<50_001).map { index in
            let fixture = fixtures[index % fixtures.count]
            return StoredBreaker(name: "\(fixture.name)-\(index)", breaker: fixture.breaker)
        }
        for start in stride(from: 0, to: written.count, by: 5_000) {
            try store.write(WriteBatch(breakers: Array(written[start..<min(start + 5_000, written.count)])))
        }
        let loaded = try store.loadAll()
        #expect(loaded.count == written.count)
        #expect(Set(loaded.map(\.name)).count == written.count)
        #expect(loaded.sorted { $0.name < $1.name } == written.sorted { $0.name < $1.name })
    }
}
