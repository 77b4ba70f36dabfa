import BreakerCore
import BreakerPostgres
import BreakerStorageContract
import BreakerStore
import BreakerTestSupport
import Foundation
import Testing

/// Not a timed test: prints how many snapshots per second `write` sustains against the local
/// cluster (fsync on, synchronous_commit on) for batches of 1, 64 and 1000, and checks only that
/// every snapshot arrived.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct WriteThroughputTests {
    @Test(arguments: [(batch: 1, batches: 400), (batch: 64, batches: 150), (batch: 1000, batches: 20)])
    func snapshotsPerSecond(_ shape: (batch: Int, batches: Int)) throws {
        let pg = try PostgresCluster.get()
        let (_, url) = try pg.freshDatabase()
        #expect(try pg.sql("SHOW fsync") == "on")
        let store = try leaderStore(url)
        defer { store.close() }
        var breaker = CircuitBreaker(createdAt: at(0))
        let names = (0..<1000).map { "service-\($0)" }
        let clock = ContinuousClock()
        let started = clock.now
        for round in 0..<shape.batches {
            _ = breaker.record(.success, at: at(Int64(round)))
            let batch = (0..<shape.batch).map { StoredBreaker(name: names[(round * shape.batch + $0) % names.count], breaker: breaker) }
            try store.write(WriteBatch(breakers: batch))
        }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(shape.batch * shape.batches) / seconds
        print("PostgresStore.write, batches of \(shape.batch): \(Int(rate)) snapshots/s, "
              + "\(Int(Double(shape.batches) / seconds)) commits/s (\(shape.batches) batches in \(String(format: "%.2f", seconds)) s)")
        #expect(try store.loadAll().count == min(names.count, shape.batch * shape.batches))
    }
}
