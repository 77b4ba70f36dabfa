import BreakerCore
import BreakerPostgres
import BreakerStorageContract
import BreakerStore
import BreakerTestSupport
import Testing

/// `loadDedupe` reads each `record_dedupe` row straight from the cells' bytes
/// (`PostgresDedupeRow`): every value the writer can store comes back exactly, and a row it
/// could not have written, changed behind its back with psql, is `.corrupt`, naming the database.
/// It reads pages of 20,000 keys (`PostgresDedupeRow.pageSize`), keyed on (expiry, breaker, key).
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct PostgresDedupeRowTests {
    static let keys = BreakerState.allCases.enumerated().map { index, state in
        DedupeRow(breaker: "payments-api", key: "rec-\(index)-ключ-🔑-\(String(repeating: "x", count: 40))", state: state,
                  generation: [0, 1, UInt64(Int64.max) + 1, .max][index], stale: index % 2 == 1,
                  expiresMs: at(9_000 - Int64(index)).millisecondsSinceEpoch)
    }

    @Test func everyStateGenerationAndStaleFlagComesBackExactly() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        let store = try leaderStore(url)
        defer { store.close() }
        try store.write(WriteBatch(dedupes: Self.keys))
        #expect(try store.loadDedupe(notExpiredAt: at(0), limit: 10) == Self.keys)
    }

    /// 45,001 keys in groups of 7,000 with the same expiry, so pages end inside a group and the
    /// next page must go on by (breaker, key); and a limit that ends inside the third page.
    @Test func pagesEndingInsideOneExpiryGiveEveryKeyOnceNewestFirstUpToTheLimit() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        // A page of 20,000 rows takes a while to collect in a debug build on a busy machine.
        let store = try leaderStore(url, sessionTimeout: bulkTimeout, queryTimeout: bulkTimeout)
        defer { store.close() }
        let written = (0..<45_001).map { index in
            DedupeRow(breaker: "b\(index % 3)", key: "k\(String(100_000 + index))", state: .closed, generation: UInt64(index),
                      stale: false, expiresMs: at(10_000 + Int64(index / 7_000)).millisecondsSinceEpoch)
        }
        for start in stride(from: 0, to: written.count, by: 5_000) {
            try store.write(WriteBatch(dedupes: Array(written[start..<min(start + 5_000, written.count)])))
        }
        // Byte order is collation order for these names (lowercase letters, then digits).
        let newestFirst = written.sorted { ($1.expiresMs, $0.breaker, $0.key) < ($0.expiresMs, $1.breaker, $1.key) }
        #expect(try store.loadDedupe(notExpiredAt: at(0), limit: .max) == newestFirst)
        #expect(try store.loadDedupe(notExpiredAt: at(0), limit: 45_001) == newestFirst)
        #expect(try store.loadDedupe(notExpiredAt: at(0), limit: 40_000) == Array(newestFirst.prefix(40_000)))
        #expect(try store.loadDedupe(notExpiredAt: at(0), limit: 43_210) == Array(newestFirst.prefix(43_210)))
        // Expired at `now`: the four newest expiry groups' keys only.
        #expect(try store.loadDedupe(notExpiredAt: at(10_002), limit: .max) == Array(newestFirst.prefix(45_001 - 21_000)))
    }

    @Test func aRowWithAnUnknownStateIsCorruptNamingTheDatabase() throws {
        let pg = try PostgresCluster.get()
        let (name, url) = try pg.freshDatabase()
        let store = try leaderStore(url)
        defer { store.close() }
        try store.write(WriteBatch(dedupes: Self.keys))
        try pg.sql("UPDATE record_dedupe SET state = 'ajar' WHERE key = '\(Self.keys[2].key)'", database: name)
        #expect(throws: StoreError(code: .corrupt, message: "database \(store.location): unreadable record_dedupe row")) {
            try store.loadDedupe(notExpiredAt: at(0), limit: 10)
        }
    }

    /// A column whose type changed (an int4 where the writer keeps int8) is not read as a guess.
    @Test func aColumnOfAnotherTypeIsCorruptNamingTheDatabase() throws {
        let pg = try PostgresCluster.get()
        let (name, url) = try pg.freshDatabase()
        let store = try leaderStore(url)
        defer { store.close() }
        try store.write(WriteBatch(dedupes: [Self.keys[0]]))
        try pg.sql("ALTER TABLE record_dedupe ALTER COLUMN generation TYPE integer", database: name)
        #expect(throws: StoreError(code: .corrupt, message: "database \(store.location): unreadable record_dedupe row")) {
            try store.loadDedupe(notExpiredAt: at(0), limit: 10)
        }
    }
}
