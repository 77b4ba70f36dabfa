import BreakerCore
import BreakerServer
import BreakerTestSupport
import BreakerWire
import Foundation
import Synchronization
import Testing

/// `maxDedupeKeys`: memory for dedupe keys is bounded daemon-wide. Beyond the bound a record is
/// still counted and answered; only its key is not remembered (and counted as dropped).
@Suite("Dedupe key limit")
struct DedupeLimitTests {
    static func successes(_ client: LineClient, _ name: String) throws -> Int64? {
        try client.request(#"{"op":"inspect","breaker":"\#(name)"}"#)["breaker"]?["metrics"]?["successful_calls"]?.int
    }

    static func settings(limit: Int, windowMs: Int64 = 600_000) -> BreakerRegistry.Settings {
        var settings = BreakerRegistry.Settings()
        settings.maxDedupeKeys = limit
        settings.dedupeWindowMs = windowMs
        return settings
    }

    /// Spread over 16 breakers, so over many shards: the bound is one daemon-wide count, and the
    /// numbers below hold whichever shards the names land in.
    static func record(_ client: LineClient, key: Int) throws -> JSONValue {
        try client.request(#"{"op":"record-success","breaker":"cap-\#(key % 16)","dedupe":"k-\#(key)"}"#)
    }

    static func totalSuccesses(_ client: LineClient) throws -> Int64 {
        try (0..<16).reduce(0) { $0 + (try successes(client, "cap-\($1)") ?? 0) }
    }

    @Test func beyondTheLimitRecordsAreCountedButKeysNotRemembered() async throws {
        try await withDaemon(settings: Self.settings(limit: 24)) { daemon in
            let c = try daemon.client()
            for key in 0..<100 {
                let reply = try Self.record(c, key: key)
                #expect(reply["ok"] == .bool(true) && reply["state"] == .string("closed"), "\(reply)")
            }
            #expect(try Self.totalSuccesses(c) == 100)
            #expect(daemon.registry.dedupeKeyCount == 24)
            #expect(daemon.registry.dedupeKeysDropped == 76)
            // The first 24 keys were remembered: their retries are not counted.
            for key in 0..<24 { #expect(try Self.record(c, key: key)["ok"] == .bool(true)) }
            #expect(try Self.totalSuccesses(c) == 100)
            #expect(daemon.registry.dedupeKeysDropped == 76)
            // A retry of a key that was not remembered is counted again (documented), and its
            // key is again not remembered.
            #expect(try Self.record(c, key: 50)["ok"] == .bool(true))
            #expect(try Self.totalSuccesses(c) == 101)
            #expect(daemon.registry.dedupeKeyCount == 24)
            #expect(daemon.registry.dedupeKeysDropped == 77)
        }
    }

    @Test func concurrentRecordersNeverPassTheLimitAndEveryRecordCounts() async throws {
        try await withDaemon(settings: Self.settings(limit: 40)) { daemon in
            let port = daemon.port
            let failures = FailureCount()
            let group = DispatchGroup()
            for thread in 0..<6 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    guard let c = try? LineClient(port: port) else { failures.count.add(1, ordering: .relaxed); return }
                    for i in 0..<30 {
                        let reply = try? Self.record(c, key: thread * 1_000 + i)
                        if reply?["ok"] != .bool(true) { failures.count.add(1, ordering: .relaxed) }
                    }
                }.start()
            }
            group.wait()
            #expect(failures.count.load(ordering: .relaxed) == 0)
            let c = try daemon.client()
            #expect(try Self.totalSuccesses(c) == 180)
            #expect(daemon.registry.dedupeKeyCount == 40)
            #expect(daemon.registry.dedupeKeysDropped == 140)
        }
    }

    @Test func expiredKeysMakeRoom() async throws {
        let clock = ManualClock()
        try await withDaemon(settings: Self.settings(limit: 4, windowMs: 1_500), clock: clock) { daemon in
            let c = try daemon.client()
            for key in 0..<5 {
                _ = try c.request(#"{"op":"record-success","breaker":"exp","dedupe":"old-\#(key)"}"#)
            }
            #expect(daemon.registry.dedupeKeyCount == 4)
            #expect(daemon.registry.dedupeKeysDropped == 1)
            clock.advance(by: .milliseconds(1_500))
            // The same shard: swept by the record itself, so the new keys are remembered.
            for key in 0..<4 {
                _ = try c.request(#"{"op":"record-success","breaker":"exp","dedupe":"new-\#(key)"}"#)
                _ = try c.request(#"{"op":"record-success","breaker":"exp","dedupe":"new-\#(key)"}"#)
            }
            #expect(try Self.successes(c, "exp") == 9)
            #expect(daemon.registry.dedupeKeysDropped == 1)
            #expect(daemon.registry.dedupeKeyCount == 4)
        }
    }

    @Test func aScrapeSweepsExpiredKeysInEveryShard() async throws {
        let clock = ManualClock()
        try await withDaemon(settings: Self.settings(limit: 100, windowMs: 300), clock: clock) { daemon in
            let c = try daemon.client()
            for key in 0..<32 { _ = try Self.record(c, key: key) }
            #expect(daemon.registry.dedupeKeyCount == 32)
            clock.advance(by: .milliseconds(299))
            await withCheckedContinuation { done in daemon.registry.refreshScrapeGauges { done.resume() } }
            #expect(daemon.registry.dedupeKeyCount == 32)
            clock.advance(by: .milliseconds(1))
            await withCheckedContinuation { done in daemon.registry.refreshScrapeGauges { done.resume() } }
            #expect(daemon.registry.dedupeKeyCount == 0)
        }
    }

    @Test func aRestartLoadsNoMoreThanTheLimit() async throws {
        let daemon = try await TestDaemon.start(settings: Self.settings(limit: 1_000))
        do {
            let c = try daemon.client()
            for key in 0..<100 { _ = try Self.record(c, key: key) }
            #expect(daemon.registry.dedupeKeyCount == 100)
            try await daemon.restart(settings: Self.settings(limit: 10))
            #expect(daemon.registry.dedupeKeyCount == 10)
            // Exactly the 10 loaded keys still dedupe; the other 90 retries are counted.
            let c2 = try daemon.client()
            for key in 0..<100 { #expect(try Self.record(c2, key: key)["ok"] == .bool(true)) }
            #expect(try Self.totalSuccesses(c2) == 190)
            #expect(daemon.registry.dedupeKeyCount == 10)
            #expect(daemon.registry.dedupeKeysDropped == 90)
        }
        await daemon.stop()
    }

    @Test func zeroTurnsDedupeOff() async throws {
        let daemon = try await TestDaemon.start(settings: Self.settings(limit: 1_000))
        do {
            let c = try daemon.client()
            _ = try Self.record(c, key: 1)
            try await daemon.restart(settings: Self.settings(limit: 0))
            let c2 = try daemon.client()
            // Nothing is loaded, the key is accepted and ignored: every record counts.
            #expect(daemon.registry.dedupeKeyCount == 0)
            #expect(try Self.record(c2, key: 1)["ok"] == .bool(true))
            #expect(try Self.record(c2, key: 1)["ok"] == .bool(true))
            #expect(try Self.successes(c2, "cap-1") == 3)
            #expect(daemon.registry.dedupeKeyCount == 0)
            #expect(daemon.registry.dedupeKeysDropped == 0, "off is not overload")
        }
        await daemon.stop()
    }
}

/// Failed requests seen by the recorder threads.
final class FailureCount: Sendable {
    let count = Atomic<Int>(0)
}
