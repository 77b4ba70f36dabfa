import BreakerCore
import BreakerStorageContract
import BreakerStore
import Testing

/// Schema v3: the policy settings and the backoff streak are stored; v2 databases gain them
/// with defaults that keep their breakers behaving exactly as before.
@Suite struct PolicyColumnsTests {
    @Test func aVersion2DatabaseIsMigratedWithDefaultPolicies() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let v2 = Schema.migrations[0...1].flatMap(\.sql).joined(separator: ";\n")
        RawSQLite.execute(path, v2 + """
            ;
            INSERT INTO breakers VALUES ('payments', 3, 2, 20000, 1, 30000, 'forced_open', 4, 0, 0, NULL,
                7, 4, 3, 9, 'closed_to_open=1,closed_to_forced_open=1', 1700000000000, 1700000005000,
                'maintenance', 'ops', 1700000005000);
            PRAGMA user_version = 2;
            """)
        let database = try openDatabase(path)
        defer { database.close() }
        #expect(database.openedAtVersion == 2)
        let changed = Timestamp(millisecondsSinceEpoch: 1_700_000_005_000)
        let expected = CircuitBreaker(
            config: BreakerConfig(failureThreshold: 3, timeoutMs: 20_000), state: .forcedOpen, generation: 4,
            failureCount: 0, successCount: 0, openUntil: nil,
            metrics: BreakerMetrics(totalCalls: 7, successfulCalls: 4, failedCalls: 3, rejectedCalls: 9,
                                    transitions: [TransitionKind(from: .closed, to: .open): 1,
                                                  TransitionKind(from: .closed, to: .forcedOpen): 1],
                                    lastFailureTime: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000),
                                    lastStateChange: changed),
            forced: ForcedOpen(reason: "maintenance", actor: "ops", at: changed))
        let loaded = try database.loadAll()
        #expect(loaded == [StoredBreaker(name: "payments", breaker: expected)])
        #expect(loaded.first?.breaker.config.policy == .consecutive && loaded.first?.breaker.config.mode == .normal)
        #expect(loaded.first?.breaker.reopenCount == 0)
        #expect(RawSQLite.column(path, "PRAGMA user_version") == ["\(Schema.currentVersion)"])
    }

    @Test func everyPolicySettingAndTheBackoffStreakLoadBack() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let t = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)
        let configs = [
            BreakerConfig(policy: .rate, window: .time(seconds: 60), failureRateThreshold: 35, minimumCalls: 40,
                          slowCallDurationMs: 2_500, slowCallRateThreshold: 70,
                          timeoutBackoff: TimeoutBackoff(multiplier: 1.5, maxMs: 600_000), minReporters: 3, mode: .metricsOnly),
            BreakerConfig(policy: .rate, window: .count(size: 50), minimumCalls: 50, mode: .disabled),
        ]
        let written = configs.enumerated().map { i, config in
            StoredBreaker(name: "b\(i)", breaker: CircuitBreaker(
                config: config, state: .open, generation: 9, failureCount: 0, successCount: 0,
                openUntil: t.adding(milliseconds: 90_000), metrics: BreakerMetrics(createdAt: t), reopenCount: 2))
        }
        let database = try openDatabase(path)
        try database.write(WriteBatch(breakers: written))
        database.close()
        let reopened = try openDatabase(path)
        defer { reopened.close() }
        #expect(try reopened.loadAll() == written)
    }

    /// SQLite types values, not columns: an integer stands for a REAL multiplier. (A NULL where a
    /// value belongs is one more wrong type: BreakerDatabaseTests' corrupt rows.)
    @Test func anIntegerMultiplierLoads() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let database = try openDatabase(path)
        try database.write(WriteBatch(breakers: breakersInEveryState()))
        database.close()
        RawSQLite.execute(path, "UPDATE breakers SET backoff_multiplier = 2, backoff_max_ms = 60000 WHERE name = 'payments-api'")
        var expected = breakersInEveryState()
        let index = try #require(expected.firstIndex { $0.name == "payments-api" })
        var breaker = expected[index].breaker
        breaker.config.timeoutBackoff = TimeoutBackoff(multiplier: 2, maxMs: 60_000)
        expected[index] = StoredBreaker(name: "payments-api", breaker: breaker)
        let reopened = try openDatabase(path)
        defer { reopened.close() }
        #expect(try reopened.loadAll() == expected)
    }
}
