import BreakerCore
import BreakerPostgres
import BreakerStorageContract
import BreakerStore
import BreakerTestSupport
import Testing

/// `loadDedupe` reads each `record_dedupe` row straight from the cells' bytes
/// (`PostgresDedupeRow`): every value the writer can store comes back exactly, and a row it
/// could not have written, changed behind its back with psql, is `.corrupt`, naming the database.
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
