import BreakerCore
import BreakerServer
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// Idempotent records: `"dedupe":"<key>"` counts a retried record once and answers it as the
/// first was, within the window, across a restart.
@Suite("Idempotent records")
struct DedupeTests {
    static func failed(_ client: LineClient, _ name: String) throws -> Int64? {
        try client.request(#"{"op":"inspect","breaker":"\#(name)"}"#)["breaker"]?["metrics"]?["failed_calls"]?.int
    }

    @Test func aRetryWithTheSameKeyIsCountedOnceAndAnsweredAsTheFirst() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            _ = try c.request(#"{"op":"configure","breaker":"d","config":{"failure_threshold":2}}"#)
            let first = try c.request(#"{"op":"record-failure","breaker":"d","dedupe":"req-1","id":1}"#)
            #expect(first["ok"] == .bool(true))
            let retry = try c.request(#"{"op":"record-failure","breaker":"d","dedupe":"req-1","id":2}"#)
            #expect(retry["state"] == first["state"] && retry["generation"] == first["generation"] && retry["stale"] == first["stale"])
            #expect(retry["id"] == .int(2))
            #expect(try Self.failed(c, "d") == 1)
            // Another key counts; it opens the breaker (threshold 2).
            let second = try c.request(#"{"op":"record-failure","breaker":"d","dedupe":"req-2"}"#)
            #expect(second["state"] == .string("open"))
            // The first key still answers with the first answer, though the breaker moved on.
            #expect(try c.request(#"{"op":"record-failure","breaker":"d","dedupe":"req-1"}"#)["state"] == first["state"])
            #expect(try Self.failed(c, "d") == 2)
            // The same key on another breaker is another record; no key, always counted.
            _ = try c.request(#"{"op":"record-failure","breaker":"e","dedupe":"req-1"}"#)
            _ = try c.request(#"{"op":"record-failure","breaker":"e"}"#)
            _ = try c.request(#"{"op":"record-failure","breaker":"e"}"#)
            #expect(try Self.failed(c, "e") == 3)
        }
    }

    @Test func theWindowSurvivesARestart() async throws {
        let daemon = try await TestDaemon.start()
        do {
            let c = try daemon.client()
            let first = try c.request(#"{"op":"record-success","breaker":"r","dedupe":"k","count":5}"#)
            try await daemon.restart()
            let c2 = try daemon.client()
            let retry = try c2.request(#"{"op":"record-success","breaker":"r","dedupe":"k","count":5}"#)
            #expect(retry["generation"] == first["generation"] && retry["state"] == first["state"])
            #expect(try c2.request(#"{"op":"inspect","breaker":"r"}"#)["breaker"]?["metrics"]?["successful_calls"] == .int(5))
        }
        await daemon.stop()
    }

    @Test func afterTheWindowTheKeyCountsAgain() async throws {
        var settings = BreakerRegistry.Settings()
        settings.dedupeWindowMs = 200
        let clock = ManualClock()
        try await withDaemon(settings: settings, clock: clock) { daemon in
            let c = try daemon.client()
            _ = try c.request(#"{"op":"record-failure","breaker":"w","dedupe":"k"}"#)
            clock.advance(by: .milliseconds(199))
            _ = try c.request(#"{"op":"record-failure","breaker":"w","dedupe":"k"}"#)
            #expect(try Self.failed(c, "w") == 1)
            clock.advance(by: .milliseconds(1))
            _ = try c.request(#"{"op":"record-failure","breaker":"w","dedupe":"k"}"#)
            #expect(try Self.failed(c, "w") == 2)
        }
    }

    @Test func concurrentRetriesCountOnce() async throws {
        try await withDaemon { daemon in
            let port = daemon.port
            let group = DispatchGroup()
            for _ in 0..<8 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    guard let c = try? LineClient(port: port) else { return }
                    for i in 0..<50 { _ = try? c.request(#"{"op":"record-failure","breaker":"c","dedupe":"k-\#(i)"}"#) }
                }.start()
            }
            group.wait()
            let client = try daemon.client()
            let failed = try Self.failed(client, "c")
            #expect(failed == 50)
        }
    }
}
