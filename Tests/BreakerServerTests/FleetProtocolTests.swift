import BreakerCore
import BreakerServer
import BreakerTestSupport
import BreakerWire
import Testing

/// What lets a healthy fleet cost the daemon almost nothing: answers held until pushed,
/// heartbeats that prove a watch stream live, many records in one line.
@Suite("until_pushed, heartbeats, reset events, record-batch")
struct FleetProtocolTests {
    @Test func onlyAClosedBreakersAllowMayBeHeldUntilPushed() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            #expect(try c.request(#"{"op":"should-attempt","breaker":"db"}"#) == .object(JSONObject([
                ("ok", .bool(true)), ("allow", .bool(true)), ("state", .string("closed")), ("generation", .int(1)),
                ("cache_ms", .int(100)), ("until_pushed", .bool(true)),
            ])))
            try c.request(#"{"op":"configure","breaker":"db","config":{"failure_threshold":1,"mode":"metrics_only"}}"#)
            try c.request(#"{"op":"record-failure","breaker":"db"}"#)
            // Open, but allowed by metrics_only: that answer changes with time, not only by a push.
            let allowedWhileOpen = try c.request(#"{"op":"should-attempt","breaker":"db"}"#)
            #expect(allowedWhileOpen["allow"] == .bool(true))
            #expect(allowedWhileOpen["until_pushed"] == nil)
            try c.request(#"{"op":"force-open","breaker":"db"}"#)
            #expect(try c.request(#"{"op":"should-attempt","breaker":"db"}"#)["until_pushed"] == nil)
        }
    }

    @Test func aWatcherThatAsksGetsAHeartbeatEveryIntervalBehindEverythingBefore() async throws {
        let clock = ManualClock()
        try await withDaemon(clock: clock) { daemon in
            let watcher = try daemon.client()
            #expect(try watcher.request(#"{"op":"watch","heartbeat_ms":1000}"#) == .object(JSONObject([("ok", .bool(true))])))
            let other = try daemon.client()
            try other.request(#"{"op":"configure","breaker":"db","config":{"failure_threshold":1}}"#)
            try other.request(#"{"op":"record-failure","breaker":"db"}"#)
            clock.advance(by: .milliseconds(999))
            #expect(try watcher.readJSON()["event"] == .string("transition"))
            clock.advance(by: .milliseconds(1))
            let at = RFC3339.format(clock.now())
            #expect(try watcher.readJSON() == .object(JSONObject([("event", .string("heartbeat")), ("at", .string(at))])))
            clock.advance(by: .milliseconds(1_000))
            #expect(try watcher.readJSON()["event"] == .string("heartbeat"))
            // Watching again without heartbeat_ms stops them; the next line is the reply, then the
            // next transition, with no heartbeat in between.
            #expect(try watcher.request(#"{"op":"watch"}"#)["ok"] == .bool(true))
            clock.advance(by: .milliseconds(3_000))
            try other.request(#"{"op":"reset","breaker":"db"}"#)
            #expect(try watcher.readJSON()["to"] == .string("closed"))
        }
    }

    @Test func resettingAClosedBreakerPushesItsNewGeneration() async throws {
        let clock = ManualClock()
        try await withDaemon(clock: clock) { daemon in
            let watcher = try daemon.client()
            try watcher.request(#"{"op":"watch","prefix":"db"}"#)
            let c = try daemon.client()
            try c.request(#"{"op":"should-attempt","breaker":"db"}"#)
            let reset = try c.request(#"{"op":"reset","breaker":"db"}"#)["breaker"]
            #expect(reset?["generation"] == .int(2))
            #expect(try watcher.readJSON() == .object(JSONObject([
                ("event", .string("reset")), ("breaker", .string("db")), ("generation", .int(2)),
                ("at", .string(RFC3339.format(clock.now()))),
            ])))
        }
    }

    @Test func aBatchAnswersEachRecordInOrderAfterOneCommit() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"b","config":{"failure_threshold":2}}"#)
            let line = #"{"op":"record-batch","id":9,"records":["#
                + #"{"op":"record-success","breaker":"a","count":40},"#
                + #"{"op":"record-failure","breaker":"b","count":2},"#
                + #"{"op":"record-failure","breaker":"b"},"#
                + #"{"op":"record-failure","breaker":"bad name"},"#
                + #"{"op":"inspect","breaker":"a"},"#
                + #"7,"#
                + #"{"op":"record-success","breaker":"a","dedupe":"k-1"},"#
                + #"{"op":"record-success","breaker":"a","dedupe":"k-1"}]}"#
            let reply = try c.request(line)
            let ok = { (state: String, generation: Int64, stale: Bool) -> JSONValue in
                var fields: [(String, JSONValue)] = [("ok", .bool(true)), ("state", .string(state)), ("generation", .int(generation))]
                if stale { fields.append(("stale", .bool(true))) }
                return .object(JSONObject(fields))
            }
            let failed = { (code: String, message: String) -> JSONValue in
                .object(JSONObject([("ok", .bool(false)), ("error", .object(JSONObject([("code", .string(code)), ("message", .string(message))])))]))
            }
            #expect(reply == .object(JSONObject([("ok", .bool(true)), ("id", .int(9)), ("results", .array([
                ok("closed", 1, false),
                ok("open", 2, false),
                ok("open", 2, true),
                failed("invalid_name", try #require(try c.request(#"{"op":"record-failure","breaker":"bad name"}"#)["error"]?["message"]?.string)),
                failed("bad_request", "a record-batch entry's op must be record-success or record-failure"),
                failed("bad_request", "a record-batch entry must be an object"),
                ok("closed", 1, false),
                ok("closed", 1, false),
            ]))])))
            // Counted once each (the dedupe key's retry was not counted again).
            #expect(try c.request(#"{"op":"inspect","breaker":"a"}"#)["breaker"]?["metrics"]?["successful_calls"] == .int(41))
            #expect(try c.request(#"{"op":"inspect","breaker":"b"}"#)["breaker"]?["metrics"]?["failed_calls"] == .int(3))
        }
    }

    @Test func aBatchThatIsNotAnArrayOfRecordsIsABadRequest() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let code = { (line: String) throws -> JSONValue? in try c.request(line)["error"]?["code"] }
            #expect(try code(#"{"op":"record-batch"}"#) == .string("bad_request"))
            #expect(try code(#"{"op":"record-batch","records":[]}"#) == .string("bad_request"))
            #expect(try code(#"{"op":"record-batch","records":{}}"#) == .string("bad_request"))
            let tooMany = "[" + Array(repeating: #"{"op":"record-success","breaker":"a"}"#, count: 1_001).joined(separator: ",") + "]"
            #expect(try code(#"{"op":"record-batch","records":\#(tooMany)}"#) == .string("bad_request"))
            #expect(try c.request(#"{"op":"inspect","breaker":"a"}"#)["error"]?["code"] == .string("not_found"))
        }
    }
}
