import BreakerServer
import BreakerStore
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// Leader/follower group commit end to end: an epoll loop whose replies wait for a commit,
/// with nobody else committing, commits on its own thread and answers in the same turn.
/// SQLite only: a PostgreSQL store's commits cross the network and never run on a loop.
@Suite("Inline commits on the event loop", .enabled(if: !PostgresTestStorage.enabled, "PostgreSQL never commits inline"))
struct InlineCommitOnLoopTests {
    @Test func recordsOnOneConnectionAreCommittedByTheirLoopAndAcknowledgedAfterIt() async throws {
        try await withDaemon { daemon in
            let writer = daemon.registry.storeWriterForTesting
            let client = try daemon.client()
            let before = writer.stats
            for i in 0..<50 {
                let reply = try client.request(#"{"op":"record-success","breaker":"inline-\#(i % 3)"}"#)
                #expect(reply["ok"] == .bool(true), "\(reply)")
            }
            let after = writer.stats
            // One commit per acknowledged record (one in flight at a time), every one made inline.
            #expect(after.batchesCommittedInline - before.batchesCommittedInline >= 50)
            #expect(after.batchesCommitted - before.batchesCommitted == after.batchesCommittedInline - before.batchesCommittedInline)
            let inspected = try client.request(#"{"op":"inspect","breaker":"inline-0"}"#)["breaker"]
            #expect(inspected?["metrics"]?["successful_calls"]?.int == 17)
        }
    }
}
