import BreakerCore
import BreakerServer
import BreakerTestSupport
import BreakerWire
import Testing

@Suite("State survives a restart on the same file")
struct PersistenceTests {
    @Test func acknowledgedRecordsConfigureAndResetSurviveARestart() async throws {
        try await withDaemon { daemon in
            var c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"kept","config":{"failure_threshold":7,"timeout_ms":45000}}"#)
            try c.request(#"{"op":"record-success","breaker":"kept","count":11}"#)
            try c.request(#"{"op":"record-failure","breaker":"kept","count":3}"#)
            try c.request(#"{"op":"record-failure","breaker":"was-open","count":5}"#)
            try c.request(#"{"op":"reset","breaker":"was-open"}"#)
            let before = try c.request(#"{"op":"list"}"#)
            try await daemon.restart()
            c = try daemon.client()
            #expect(try c.request(#"{"op":"list"}"#) == before)
            let kept = try c.request(#"{"op":"inspect","breaker":"kept"}"#)["breaker"]
            #expect(kept?["failure_count"] == .int(3))
            #expect(kept?["config"]?["timeout_ms"] == .int(45000))
            #expect(kept?["metrics"]?["total_calls"] == .int(14))
        }
    }

    @Test func anOpenBreakerStaysOpenUntilItsOriginalDeadline() async throws {
        let clock = ManualClock()
        try await withDaemon(clock: clock) { daemon in
            var c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"o","config":{"failure_threshold":1,"timeout_ms":6000}}"#)
            try c.request(#"{"op":"record-failure","breaker":"o"}"#)
            let openUntil = try c.request(#"{"op":"inspect","breaker":"o"}"#)["breaker"]?["open_until"]
            clock.advance(by: .milliseconds(2_000))
            try await daemon.restart()
            c = try daemon.client()
            let after = try c.request(#"{"op":"inspect","breaker":"o"}"#)["breaker"]
            #expect(after?["open_until"] == openUntil)
            let decision = try c.request(#"{"op":"should-attempt","breaker":"o"}"#)
            #expect(decision["allow"] == .bool(false))
            #expect(decision["retry_after_ms"] == .int(4_000))
            clock.advance(by: .milliseconds(3_999))
            #expect(try c.request(#"{"op":"inspect","breaker":"o"}"#)["breaker"]?["state"] == .string("open"))
            clock.advance(by: .milliseconds(1))
            #expect(try c.request(#"{"op":"inspect","breaker":"o"}"#)["breaker"]?["state"] == .string("half_open"))
        }
    }

    /// The load schedules every open breaker's deadline: when the clock crosses it the breaker
    /// moves to half-open on its own, and the move is logged, with no request to prompt it.
    @Test func anOpenBreakersDeadlineIsScheduledAgainByTheLoad() async throws {
        let clock = ManualClock()
        try await withDaemon(clock: clock) { daemon in
            var c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"o","config":{"failure_threshold":1,"timeout_ms":6000}}"#)
            try c.request(#"{"op":"record-failure","breaker":"o"}"#)
            clock.advance(by: .milliseconds(2_000))
            try await daemon.restart()
            c = try daemon.client()
            clock.advance(by: .milliseconds(4_000))
            let newest = try c.request(#"{"op":"history","breaker":"o"}"#)["transitions"]?.array?.first
            #expect(newest?["from"] == .string("open"))
            #expect(newest?["to"] == .string("half_open"))
        }
    }

    @Test func permitsGrantedBeforeARestartAreStaleAfterIt() async throws {
        let clock = ManualClock()
        try await withDaemon(clock: clock) { daemon in
            var c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"p","config":{"failure_threshold":1,"timeout_ms":20,"success_threshold":1}}"#)
            try c.request(#"{"op":"record-failure","breaker":"p"}"#)
            clock.advance(by: .milliseconds(20))
            let permit = try c.request(#"{"op":"should-attempt","breaker":"p"}"#)["permit"]?.string
            #expect(permit != nil)
            try await daemon.restart()
            c = try daemon.client()
            let reply = try c.request(#"{"op":"record-success","breaker":"p","permit":"\#(permit!)"}"#)
            #expect(reply["stale"] == .bool(true))
            #expect(reply["state"] == .string("half_open"))
            #expect(try c.request(#"{"op":"inspect","breaker":"p"}"#)["breaker"]?["half_open_in_flight"] == .int(0))
        }
    }
}
