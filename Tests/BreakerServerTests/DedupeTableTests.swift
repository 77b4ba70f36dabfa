@testable import BreakerServer
import BreakerStore
import Testing

/// The shard's expiry queue on its own: the registry tests cannot reach its compaction (it
/// starts at 1,024 popped keys) or a key remembered again after it expired.
@Suite struct DedupeTableTests {
    static func row(_ key: String, expiresMs: Int64, breaker: String = "b") -> DedupeRow {
        DedupeRow(breaker: breaker, key: key, state: .closed, generation: 1, stale: false, expiresMs: expiresMs)
    }

    @Test func sweepForgetsExactlyTheExpiredKeysAcrossCompactions() {
        var table = DedupeTable()
        for i in 0..<5_000 { table.remember(Self.row("k\(i)", expiresMs: Int64(i))) }
        #expect(table.sweep(now: -1) == 0)
        var remaining = 5_000
        // Uneven steps, so the popped prefix is dropped at various points.
        for now in stride(from: Int64(0), to: 5_000, by: 337) {
            let removed = table.sweep(now: now)
            remaining -= removed
            #expect(table.entries.count == remaining)
            #expect(table.entries.count == 5_000 - Int(now) - 1)
            #expect(table.entries[DedupeKey(breaker: "b", key: "k\(now)")] == nil)
            #expect(table.entries[DedupeKey(breaker: "b", key: "k\(now + 1)")] != nil || now + 1 == 5_000)
        }
        // Keys remembered after compactions are still found and swept in order.
        table.remember(Self.row("late", expiresMs: 9_000))
        #expect(table.sweep(now: 4_999) == remaining)
        #expect(table.entries.keys.map(\.key) == ["late"])
        #expect(table.sweep(now: 9_000) == 1)
        #expect(table.entries.isEmpty)
    }

    @Test func aKeyRememberedAgainIsNotForgottenByItsOldExpiry() {
        var table = DedupeTable()
        table.remember(Self.row("k", expiresMs: 10))
        // Expired but not yet popped, then remembered again with a later expiry (as
        // `dedupedRecord` does when the expired entry is still in the table).
        table.remember(Self.row("k", expiresMs: 30))
        #expect(table.sweep(now: 20) == 0, "the stale queue item must not remove the new entry")
        #expect(table.entries[DedupeKey(breaker: "b", key: "k")]?.expiresMs == 30)
        #expect(table.sweep(now: 30) == 1)
        #expect(table.entries.isEmpty)
    }
}
