import BreakerCore
import BreakerStore
import Testing

/// `loadDedupe` under a limit: the daemon's memory for dedupe keys is bounded, so start-up reads
/// only as many rows as it may keep, the ones that would live longest.
@Suite struct DedupeLoadTests {
    static func row(_ key: Int, expiresMs: Int64) -> DedupeRow {
        DedupeRow(breaker: "b\(key % 3)", key: "k\(key)", state: .closed, generation: 1, stale: false, expiresMs: expiresMs)
    }

    @Test func loadsAtMostTheLimitNewestExpiryFirstAndNothingExpired() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let database = try openDatabase(folder.file("db.sqlite3"))
        defer { database.close() }
        let rows = (0..<20).map { Self.row($0, expiresMs: 1_000 + Int64($0) * 10) }
        try database.write(WriteBatch(dedupes: rows.shuffled()))

        // Unlimited: every unexpired row (expires_ms > now), newest first.
        let all = try database.loadDedupe(nowMs: 1_050)
        #expect(all.map(\.key) == (6..<20).reversed().map { "k\($0)" })
        #expect(all.first == rows[19])

        let limited = try database.loadDedupe(nowMs: 1_050, limit: 4)
        #expect(limited.map(\.key) == ["k19", "k18", "k17", "k16"])
        #expect(try database.loadDedupe(nowMs: 1_050, limit: 0).isEmpty)
        #expect(try database.loadDedupe(nowMs: 5_000, limit: 100).isEmpty)
    }
}
