import BreakerCore
import BreakerServer
import BreakerTestSupport
import BreakerWire
import Testing

/// `inspect`, `list` (and so `/metrics`, which renders the same views) show a breaker as of the
/// moment they are asked, even when the timer that applies a deadline has not run yet.
@Suite("Views are as of now")
struct ViewAsOfNowTests {
    @Test func inspectAndListApplyAnExpiredDeadlineTheirTimerHasNotReachedYet() async throws {
        let clock = ManualClock()
        try await withDaemon(clock: clock) { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"db","config":{"failure_threshold":1,"timeout_ms":1000}}"#)
            try c.request(#"{"op":"record-failure","breaker":"db"}"#)
            // The deadline passes; its timer is late (a busy machine).
            clock.advance(by: .milliseconds(1_000), runningDueWork: false)
            let inspected = try c.request(#"{"op":"inspect","breaker":"db"}"#)["breaker"]
            #expect(inspected?["state"] == .string("half_open"))
            #expect(inspected?["generation"] == .int(3))
            let listed = try c.request(#"{"op":"list"}"#)["breakers"]?.array?.first
            #expect(listed?["state"] == .string("half_open"))
            clock.runDueWork()  // the late timer finds nothing left to do
            #expect(try c.request(#"{"op":"inspect","breaker":"db"}"#)["breaker"]?["generation"] == .int(3))
        }
    }

    @Test func aTimeWindowIsShownAsOfNowNotAsOfItsLastChange() async throws {
        let clock = ManualClock()
        try await withDaemon(clock: clock) { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"api","config":{"policy":"rate","window":{"kind":"time","seconds":1},"failure_rate_threshold":100,"minimum_calls":5}}"#)
            try c.request(#"{"op":"hello","client":"orders-1"}"#)
            try c.request(#"{"op":"record-failure","breaker":"api"}"#)
            let during = try c.request(#"{"op":"inspect","breaker":"api"}"#)["breaker"]
            #expect(during?["failure_rate"] == .double(100))
            #expect(during?["reporters"] == .array([.string("orders-1")]))
            // 1.05 s after the only outcome in a 1 s window, nothing is in it.
            clock.advance(by: .milliseconds(1_050))
            let after = try c.request(#"{"op":"inspect","breaker":"api"}"#)["breaker"]
            #expect(after?["failure_rate"] == nil)
            #expect(after?["reporters"] == .array([]))
            let listed = try c.request(#"{"op":"list","prefix":"api"}"#)["breakers"]?.array?.first
            #expect(listed?["failure_rate"] == nil)
            #expect(listed?["reporters"] == .array([]))
        }
    }
}
