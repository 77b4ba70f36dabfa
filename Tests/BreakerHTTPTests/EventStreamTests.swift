@testable import BreakerHTTP
import BreakerServer
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

@Suite("status page event stream", .serialized)
struct EventStreamTests {
    /// A reader that never reads while tens of thousands of transitions happen: the daemon
    /// queues at most `EventStream.maxPendingBytes` for it, drops the rest, and once the reader
    /// reads again it is told to `resync`.
    @Test func aSlowReaderIsBoundedAndToldToResync() async throws {
        try await withStatusPageDaemon { daemon in
            let events = try daemon.openEvents()
            // Wait until the stream is registered (its opening comment arrives).
            while try events.readLine() != ": breakerd events" {}
            let transitions = 40_000
            for i in 0..<(transitions / 2) {
                let name = "slow-\(i % 50)"
                _ = daemon.registry.handle(.forceOpen(breaker: name, reason: "load"), caller: Caller(actor: "test", reporter: nil))
                _ = daemon.registry.handle(.release(breaker: name), caller: Caller(actor: "test", reporter: nil))
            }
            let stats = daemon.endpoints.statusPage!.events.stats
            #expect(stats.maxPendingBytes <= EventStream.maxPendingBytes)
            #expect(stats.droppedEvents > 0, "40,000 transitions (~7 MB) fit in the kernel's buffers?")
            // Reading again: the stream goes on, with a resync before what came after the drop.
            _ = try events.nextEvent("resync")
            #expect(stats.resyncs >= 1)
        }
    }

    @Test func closingTheStreamUnwatches() async throws {
        try await withStatusPageDaemon { daemon in
            var events: LineClient? = try daemon.openEvents()
            while try events!.readLine() != ": breakerd events" {}
            let hub = daemon.endpoints.statusPage!.events
            #expect(hub.streamCount == 1)
            events = nil
            for _ in 0..<100 where hub.streamCount > 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(hub.streamCount == 0)
        }
    }
}
