import BreakerCore
import BreakerServer
import BreakerTestSupport
import BreakerWire
import Testing

@Suite("Every op over a real TCP connection")
struct OperationTests {
    @Test func pingAnswersWithVersionAndEchoesID() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            #expect(try c.request(#"{"op":"ping","id":7}"#) == .object(JSONObject([("ok", .bool(true)), ("id", .int(7)), ("version", .string("0.1.0"))])))
            #expect(try c.request(#"{"op":"ping","id":"a-b"}"#)["id"] == .string("a-b"))
        }
    }

    @Test func shouldAttemptCreatesAClosedBreakerWithDefaults() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let reply = try c.request(#"{"op":"should-attempt","breaker":"postgresql-primary"}"#)
            #expect(reply == .object(JSONObject([
                ("ok", .bool(true)), ("allow", .bool(true)), ("state", .string("closed")),
                ("generation", .int(1)), ("cache_ms", .int(100)), ("until_pushed", .bool(true)),
            ])))
            let config = try c.request(#"{"op":"inspect","breaker":"postgresql-primary"}"#)["breaker"]?["config"]
            #expect(config == .object(JSONObject([
                ("failure_threshold", .int(5)), ("success_threshold", .int(2)), ("timeout_ms", .int(60000)),
                ("half_open_max_calls", .int(1)), ("half_open_permit_timeout_ms", .int(30000)),
                ("policy", .string("consecutive")),
                ("window", .object(JSONObject([("kind", .string("count")), ("size", .int(100))]))),
                ("failure_rate_threshold", .int(50)), ("minimum_calls", .int(20)), ("slow_call_duration_ms", .null),
                ("slow_call_rate_threshold", .int(100)), ("timeout_backoff", .null), ("min_reporters", .null),
                ("mode", .string("normal")),
            ])))
        }
    }

    @Test func failuresOpenTheBreakerAndDecisionsCarryRetryAfter() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            for _ in 0..<4 { #expect(try c.request(#"{"op":"record-failure","breaker":"db"}"#)["state"] == .string("closed")) }
            let fifth = try c.request(#"{"op":"record-failure","breaker":"db"}"#)
            #expect(fifth == .object(JSONObject([("ok", .bool(true)), ("state", .string("open")), ("generation", .int(2))])))
            let decision = try c.request(#"{"op":"should-attempt","breaker":"db"}"#)
            #expect(decision["allow"] == .bool(false))
            #expect(decision["state"] == .string("open"))
            let retry = try #require(decision["retry_after_ms"]?.int)
            #expect((59_000...60_000).contains(retry))
            #expect(decision["cache_ms"]?.int == retry)
            let late = try c.request(#"{"op":"record-failure","breaker":"db"}"#)
            #expect(late["stale"] == .bool(true))
            #expect(late["state"] == .string("open"))
        }
    }

    @Test func countReportsManyOutcomesAtOnce() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"bulk","config":{"failure_threshold":10}}"#)
            #expect(try c.request(#"{"op":"record-success","breaker":"bulk","count":40}"#)["state"] == .string("closed"))
            #expect(try c.request(#"{"op":"record-failure","breaker":"bulk","count":9}"#)["state"] == .string("closed"))
            #expect(try c.request(#"{"op":"record-failure","breaker":"bulk","count":3}"#)["state"] == .string("open"))
            let metrics = try c.request(#"{"op":"inspect","breaker":"bulk"}"#)["breaker"]?["metrics"]
            #expect(metrics?["total_calls"] == .int(52))
            #expect(metrics?["successful_calls"] == .int(40))
            #expect(metrics?["failed_calls"] == .int(12))
            #expect(metrics?["state_transitions"]?["closed_to_open"] == .int(1))
        }
    }

    @Test func halfOpenTrialsNeedPermitsAndCloseTheBreaker() async throws {
        let clock = ManualClock()
        try await withDaemon(clock: clock) { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"api","config":{"failure_threshold":1,"timeout_ms":50}}"#)
            try c.request(#"{"op":"record-failure","breaker":"api"}"#)
            clock.advance(by: .milliseconds(50))
            #expect(try c.request(#"{"op":"inspect","breaker":"api"}"#)["breaker"]?["state"] == .string("half_open"))
            let trial = try c.request(#"{"op":"should-attempt","breaker":"api"}"#)
            #expect(trial["allow"] == .bool(true))
            #expect(trial["cache_ms"] == .int(0))
            let permit = try #require(trial["permit"]?.string)
            let second = try c.request(#"{"op":"should-attempt","breaker":"api"}"#)
            #expect(second["allow"] == .bool(false))
            #expect(second["permit"] == nil)
            // Without the permit a success is counted but moves nothing.
            #expect(try c.request(#"{"op":"record-success","breaker":"api"}"#)["stale"] == .bool(true))
            #expect(try c.request(#"{"op":"record-success","breaker":"api","permit":"\#(permit)"}"#)["state"] == .string("half_open"))
            let next = try #require(try c.request(#"{"op":"should-attempt","breaker":"api"}"#)["permit"]?.string)
            let closed = try c.request(#"{"op":"record-success","breaker":"api","permit":"\#(next)"}"#)
            #expect(closed["state"] == .string("closed"))
            #expect(closed["stale"] == nil)
        }
    }

    @Test func staleGenerationDoesNotMoveTheBreaker() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"gen","config":{"failure_threshold":1}}"#)
            let generation = try #require(try c.request(#"{"op":"should-attempt","breaker":"gen"}"#)["generation"]?.int)
            try c.request(#"{"op":"reset","breaker":"gen"}"#)
            let reply = try c.request(#"{"op":"record-failure","breaker":"gen","generation":\#(generation)}"#)
            #expect(reply["state"] == .string("closed"))
            #expect(reply["stale"] == .bool(true))
        }
    }

    @Test func inspectShowsEveryField() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"full","config":{"failure_threshold":2,"timeout_ms":30000}}"#)
            try c.request(#"{"op":"record-failure","breaker":"full","count":2}"#)
            try c.request(#"{"op":"should-attempt","breaker":"full"}"#)
            let b = try #require(try c.request(#"{"op":"inspect","breaker":"full"}"#)["breaker"])
            #expect(b["name"] == .string("full"))
            #expect(b["state"] == .string("open"))
            #expect(b["failure_count"] == .int(2))
            #expect(b["success_count"] == .int(0))
            #expect(b["half_open_in_flight"] == .int(0))
            #expect(b["generation"] == .int(2))
            let openUntil = try #require(b["open_until"]?.string.flatMap(RFC3339.parse))
            let changed = try #require(b["metrics"]?["last_state_change"]?.string.flatMap(RFC3339.parse))
            #expect(openUntil.millisecondsSinceEpoch - changed.millisecondsSinceEpoch == 30_000)
            #expect(b["metrics"]?["rejected_calls"] == .int(1))
            #expect(b["metrics"]?["last_failure_time"]?.string != nil)
            #expect(b["metrics"]?["state_transitions"] == .object(JSONObject([
                ("closed_to_open", .int(1)), ("open_to_half_open", .int(0)), ("half_open_to_closed", .int(0)),
                ("half_open_to_open", .int(0)), ("open_to_closed", .int(0)), ("closed_to_forced_open", .int(0)),
                ("open_to_forced_open", .int(0)), ("half_open_to_forced_open", .int(0)), ("forced_open_to_closed", .int(0)),
            ])))
        }
    }

    @Test func listFiltersByPrefixInNameOrder() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            for name in ["kafka-topic-b", "db", "kafka-topic-a"] {
                try c.request(#"{"op":"should-attempt","breaker":"\#(name)"}"#)
            }
            let all = try #require(try c.request(#"{"op":"list"}"#)["breakers"]?.array)
            #expect(all.map { $0["name"] } == [.string("db"), .string("kafka-topic-a"), .string("kafka-topic-b")])
            let kafka = try #require(try c.request(#"{"op":"list","prefix":"kafka-"}"#)["breakers"]?.array)
            #expect(kafka.map { $0["name"] } == [.string("kafka-topic-a"), .string("kafka-topic-b")])
            #expect(kafka.first?["state"] == .string("closed"))
        }
    }

    @Test func configureKeepsStateAndCountsAndRejectsBadValuesWithoutChange() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"record-failure","breaker":"cfg","count":3}"#)
            let reply = try c.request(#"{"op":"configure","breaker":"cfg","config":{"failure_threshold":4}}"#)
            #expect(reply["breaker"]?["failure_count"] == .int(3))
            #expect(reply["breaker"]?["config"]?["failure_threshold"] == .int(4))
            #expect(reply["breaker"]?["config"]?["success_threshold"] == .int(2))
            let bad = try c.request(#"{"op":"configure","breaker":"cfg","config":{"failure_threshold":0,"success_threshold":9}}"#)
            #expect(bad["error"]?["code"] == .string("bad_request"))
            let unknown = try c.request(#"{"op":"configure","breaker":"cfg","config":{"failure_treshold":3}}"#)
            #expect(unknown["error"]?["code"] == .string("bad_request"))
            let after = try c.request(#"{"op":"inspect","breaker":"cfg"}"#)["breaker"]
            #expect(after?["config"]?["failure_threshold"] == .int(4))
            #expect(after?["config"]?["success_threshold"] == .int(2))
            // A rejected configure of a new name creates nothing.
            try c.request(#"{"op":"configure","breaker":"never","config":{"timeout_ms":-1}}"#)
            #expect(try c.request(#"{"op":"inspect","breaker":"never"}"#)["error"]?["code"] == .string("not_found"))
            #expect(try c.request(#"{"op":"record-failure","breaker":"cfg"}"#)["state"] == .string("open"))
        }
    }

    @Test func resetClosesZeroesCountsAndKeepsMetrics() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"record-failure","breaker":"r","count":5}"#)
            let reply = try c.request(#"{"op":"reset","breaker":"r","id":1}"#)
            #expect(reply["id"] == .int(1))
            let b = try #require(reply["breaker"])
            #expect(b["state"] == .string("closed"))
            #expect(b["failure_count"] == .int(0))
            #expect(b["metrics"]?["failed_calls"] == .int(5))
            #expect(b["metrics"]?["state_transitions"]?["open_to_closed"] == .int(1))
            #expect(try c.request(#"{"op":"reset","breaker":"nope"}"#)["error"]?["code"] == .string("not_found"))
        }
    }

    @Test func forcedOpenRejectsWithTheDocumentedRetryHintUntilReleased() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let forced = try c.request(#"{"op":"force-open","breaker":"maint","reason":"upgrade"}"#)["breaker"]
            #expect(forced?["state"] == .string("forced_open"))
            #expect(forced?["forced"]?["reason"] == .string("upgrade"))
            #expect(forced?["forced"]?["by"] == .string("anonymous"))
            #expect(try c.request(#"{"op":"should-attempt","breaker":"maint"}"#) == .object(JSONObject([
                ("ok", .bool(true)), ("allow", .bool(false)), ("state", .string("forced_open")), ("generation", .int(2)),
                ("cache_ms", .int(1000)), ("retry_after_ms", .int(1000)),
            ])))
            #expect(try c.request(#"{"op":"record-success","breaker":"maint"}"#)["stale"] == .bool(true))
            #expect(try c.request(#"{"op":"release","breaker":"maint"}"#)["breaker"]?["state"] == .string("closed"))
            #expect(try c.request(#"{"op":"should-attempt","breaker":"maint"}"#)["allow"] == .bool(true))
        }
    }

    @Test func watchersHearEveryTransitionIncludingTimeDrivenOnes() async throws {
        let clock = ManualClock()
        try await withDaemon(clock: clock) { daemon in
            let watcher = try daemon.client()
            #expect(try watcher.request(#"{"op":"watch","prefix":"w-","id":"w"}"#) == .object(JSONObject([("ok", .bool(true)), ("id", .string("w"))])))
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"w-1","config":{"failure_threshold":1,"timeout_ms":100}}"#)
            try c.request(#"{"op":"record-failure","breaker":"other"}"#)  // not under the prefix
            try c.request(#"{"op":"record-failure","breaker":"w-1"}"#)
            let opened = try watcher.readJSON()
            #expect(opened["event"] == .string("transition"))
            #expect(opened["breaker"] == .string("w-1"))
            #expect(opened["from"] == .string("closed"))
            #expect(opened["to"] == .string("open"))
            #expect(opened["generation"] == .int(2))
            #expect(opened["reason"] == .string("failure_threshold"))
            #expect(opened["at"]?.string.flatMap(RFC3339.parse) != nil)
            // No traffic at all: the deadline alone must produce the event.
            clock.advance(by: .milliseconds(100))
            let halfOpen = try watcher.readJSON()
            #expect(halfOpen["to"] == .string("half_open"))
            #expect(halfOpen["reason"] == .string("timeout_elapsed"))
            #expect(halfOpen["generation"] == .int(3))
        }
    }
}
