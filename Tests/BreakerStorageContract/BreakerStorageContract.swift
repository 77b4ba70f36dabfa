import BreakerCore
import BreakerStore
import Testing

/// What every `BreakerStorage` promises, written once: each implementation's test target runs
/// every entry of `checks` against its `StorageUnderTest` (one parameterized `@Test`).
/// Implementation details (error texts, files, schema) are tested beside each implementation.
public struct BreakerStorageContract: Sendable, CustomTestStringConvertible {
    public let name: String
    let body: @Sendable (BreakerStorageContract.Checks) -> (StorageUnderTest) throws -> Void

    public var testDescription: String { name }

    /// Runs this check against `implementation`; failures are recorded as issues of the caller's test.
    public func run(against implementation: StorageUnderTest) throws {
        try body(Checks())(implementation)
    }

    public static let all: [BreakerStorageContract] = [
        .init(name: "everyFieldRoundTripsAcrossAReopen", body: Checks.everyFieldRoundTripsAcrossAReopen),
        .init(name: "aSnapshotReplacesTheStoredOne", body: Checks.aSnapshotReplacesTheStoredOne),
        .init(name: "aFailingBatchChangesNothing", body: Checks.aFailingBatchChangesNothing),
        .init(name: "historyIsNewestFirstAndKeepsTheNewestRowsPerBreaker",
              body: Checks.historyIsNewestFirstAndKeepsTheNewestRowsPerBreaker),
        .init(name: "dedupeKeysLoadUnexpiredLatestExpiryFirstUpToTheLimit",
              body: Checks.dedupeKeysLoadUnexpiredLatestExpiryFirstUpToTheLimit),
        .init(name: "pruningDeletesOnlyKeysExpiredAtTheGivenTime", body: Checks.pruningDeletesOnlyKeysExpiredAtTheGivenTime),
        .init(name: "sizeGrowsWithWhatIsStored", body: Checks.sizeGrowsWithWhatIsStored),
        .init(name: "aClosedStoreRefusesWorkAndClosesOnlyOnce", body: Checks.aClosedStoreRefusesWorkAndClosesOnlyOnce),
    ]
}

extension BreakerStorageContract {
    struct Checks: Sendable {
        static func logged(_ breaker: String, _ generations: ClosedRange<UInt64>, actor: String? = nil) -> [LoggedTransition] {
            generations.map { generation in
                LoggedTransition(breaker: breaker,
                                 transition: transition(.closed, .open, generation: generation, at: Int64(generation) * 10,
                                                        reason: .failureThreshold),
                                 actor: actor, note: actor.map { "note \($0) \(generation)" })
            }
        }

        static func key(_ index: Int, expiresMs: Int64) -> DedupeRow {
            DedupeRow(breaker: "b\(index % 3)", key: "k\(index)", state: index % 2 == 0 ? .open : .halfOpen,
                      generation: UInt64(index) + 1, stale: index % 4 == 0, expiresMs: expiresMs)
        }

        func withStore(_ implementation: StorageUnderTest, transitionLogLimit: Int = 1000,
                       _ body: (any BreakerStorage, StorageUnderTest.Place) throws -> Void) throws {
            let (storage, place) = try implementation.create(transitionLogLimit)
            defer {
                storage.close()
                place.remove()
            }
            try body(storage, place)
        }

        func everyFieldRoundTripsAcrossAReopen(_ implementation: StorageUnderTest) throws {
            try withStore(implementation) { storage, place in
                let breakers = breakersInEveryState()
                let log = Self.logged("payments-api", 1...3) + Self.logged("paiements-été ⚡️", 4...4, actor: "ops ✓")
                let keys = (0..<4).map { Self.key($0, expiresMs: at(100 + Int64($0)).millisecondsSinceEpoch) }
                try storage.write(WriteBatch(breakers: breakers, transitions: log, dedupes: keys))
                storage.close()

                let reopened = try place.reopen(1000)
                defer { reopened.close() }
                #expect(try reopened.loadAll().sorted { $0.name < $1.name } == breakers)
                #expect(try reopened.history(breaker: "payments-api", limit: 10) == log.prefix(3).reversed())
                #expect(try reopened.history(breaker: "paiements-été ⚡️", limit: 10) == [log[3]])
                #expect(try reopened.loadDedupe(notExpiredAt: at(0), limit: 10) == keys.reversed())
            }
        }

        func aSnapshotReplacesTheStoredOne(_ implementation: StorageUnderTest) throws {
            try withStore(implementation) { storage, _ in
                var breaker = CircuitBreaker(createdAt: at(0))
                try storage.write(WriteBatch(breakers: [StoredBreaker(name: "a", breaker: breaker)]))
                breaker.config.timeoutMs = 1_234
                _ = breaker.record(.failure, count: 5, at: at(10))
                try storage.write(WriteBatch(breakers: [StoredBreaker(name: "a", breaker: breaker)]))
                #expect(try storage.loadAll() == [StoredBreaker(name: "a", breaker: breaker)])
            }
        }

        func aFailingBatchChangesNothing(_ implementation: StorageUnderTest) throws {
            try withStore(implementation) { storage, place in
                let before = breakersInEveryState()
                try storage.write(WriteBatch(breakers: before, dedupes: [Self.key(1, expiresMs: at(50).millisecondsSinceEpoch)]))
                let big = LoggedTransition(
                    breaker: "new", transition: transition(.closed, .open, generation: 2, at: 5, reason: .failureThreshold),
                    note: String(repeating: "x", count: 64 * 1024))
                var counted = before[0].breaker
                _ = counted.record(.failure, count: 3, at: at(20))
                let changed = StoredBreaker(name: before[0].name, breaker: counted)
                let batch = WriteBatch(breakers: [changed, StoredBreaker(name: "new", breaker: CircuitBreaker(createdAt: at(0)))],
                                       transitions: [big], dedupes: [Self.key(2, expiresMs: at(60).millisecondsSinceEpoch)],
                                       pruneDedupeBefore: at(1_000))
                try implementation.failWrites(storage)
                #expect(throws: StoreError.self) { try storage.write(batch) }
                try implementation.allowWrites(storage)

                #expect(try storage.loadAll().sorted { $0.name < $1.name } == before)
                #expect(try storage.history(breaker: "new", limit: 10) == [])
                #expect(try storage.loadDedupe(notExpiredAt: at(0), limit: 10) == [Self.key(1, expiresMs: at(50).millisecondsSinceEpoch)])
                storage.close()
                let reopened = try place.reopen(1000)
                defer { reopened.close() }
                #expect(try reopened.loadAll().sorted { $0.name < $1.name } == before)
            }
        }

        func historyIsNewestFirstAndKeepsTheNewestRowsPerBreaker(_ implementation: StorageUnderTest) throws {
            try withStore(implementation, transitionLogLimit: 5) { storage, place in
                try storage.write(WriteBatch(transitions: Self.logged("a", 1...3) + Self.logged("b", 1...2, actor: "ops")))
                try storage.write(WriteBatch(transitions: Self.logged("a", 4...7)))

                #expect(try storage.history(breaker: "a", limit: 10) == Self.logged("a", 3...7).reversed())
                #expect(try storage.history(breaker: "a", limit: 2) == Self.logged("a", 6...7).reversed())
                #expect(try storage.history(breaker: "b", limit: 10) == Self.logged("b", 1...2, actor: "ops").reversed())
                #expect(try storage.history(breaker: "unknown", limit: 10) == [])
                #expect(try storage.history(breaker: "a", limit: 0) == [])
                storage.close()

                // The limit holds across a reopen too.
                let reopened = try place.reopen(5)
                defer { reopened.close() }
                try reopened.write(WriteBatch(transitions: Self.logged("a", 8...8)))
                #expect(try reopened.history(breaker: "a", limit: 10) == Self.logged("a", 4...8).reversed())
            }
        }

        func dedupeKeysLoadUnexpiredLatestExpiryFirstUpToTheLimit(_ implementation: StorageUnderTest) throws {
            try withStore(implementation) { storage, _ in
                let keys = (0..<20).map { Self.key($0, expiresMs: 1_000 + Int64($0) * 10) }
                try storage.write(WriteBatch(dedupes: keys.shuffled()))
                let now = Timestamp(millisecondsSinceEpoch: 1_050)
                #expect(try storage.loadDedupe(notExpiredAt: now, limit: .max) == keys[6...].reversed())
                #expect(try storage.loadDedupe(notExpiredAt: now, limit: 4) == keys[16...].reversed())
                #expect(try storage.loadDedupe(notExpiredAt: now, limit: 0) == [])
                #expect(try storage.loadDedupe(notExpiredAt: Timestamp(millisecondsSinceEpoch: 5_000), limit: 100) == [])
            }
        }

        func pruningDeletesOnlyKeysExpiredAtTheGivenTime(_ implementation: StorageUnderTest) throws {
            try withStore(implementation) { storage, _ in
                let keys = (0..<6).map { Self.key($0, expiresMs: 1_000 + Int64($0) * 10) }
                try storage.write(WriteBatch(dedupes: keys))
                try storage.write(WriteBatch(pruneDedupeBefore: Timestamp(millisecondsSinceEpoch: 1_020)))
                // Read as of long before: only what the prune left is still there.
                #expect(try storage.loadDedupe(notExpiredAt: Timestamp(millisecondsSinceEpoch: 0), limit: .max)
                        == keys[3...].reversed())
            }
        }

        func sizeGrowsWithWhatIsStored(_ implementation: StorageUnderTest) throws {
            try withStore(implementation) { storage, _ in
                let empty = storage.sizeBytes()
                try storage.write(WriteBatch(breakers: (0..<500).map {
                    StoredBreaker(name: "breaker-\($0)", breaker: CircuitBreaker(createdAt: at(0)))
                }))
                #expect(storage.sizeBytes() > empty + 500 * 50)
            }
        }

        func aClosedStoreRefusesWorkAndClosesOnlyOnce(_ implementation: StorageUnderTest) throws {
            try withStore(implementation) { storage, _ in
                storage.close()
                storage.close()
                #expect(throws: StoreError.self) { try storage.write(WriteBatch(breakers: breakersInEveryState())) }
                #expect(throws: StoreError.self) { try storage.loadAll() }
                #expect(throws: StoreError.self) { try storage.history(breaker: "a", limit: 1) }
                #expect(throws: StoreError.self) { try storage.loadDedupe(notExpiredAt: at(0), limit: 1) }
            }
        }
    }
}
