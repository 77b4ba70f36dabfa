import BreakerTestSupport
import BreakerWire
import Testing

@Suite("Trip policies through the protocol")
struct PolicyEndToEndTests {
    @Test func oneReplicaFailingAloneDoesNotTripAQuorumBreakerButTwoDo() async throws {
        try await withDaemon { daemon in
            let admin = try daemon.client()
            let configured = try admin.request(#"{"op":"configure","breaker":"inventory","config":{"policy":"rate","window":{"kind":"count","size":100},"failure_rate_threshold":50,"minimum_calls":5,"min_reporters":2}}"#)
            #expect(configured["breaker"]?["config"]?["min_reporters"] == .int(2))
            let clients = try (1...3).map { i in
                let c = try daemon.client()
                #expect(try c.request(#"{"op":"hello","client":"orders-\#(i)"}"#)
                        == .object(JSONObject([("ok", .bool(true)), ("role", .string("leader"))])))
                return c
            }
            for _ in 0..<10 {
                #expect(try clients[0].request(#"{"op":"record-failure","breaker":"inventory","duration_ms":12}"#)["state"] == .string("closed"))
            }
            try clients[2].request(#"{"op":"record-success","breaker":"inventory"}"#)
            let view = try admin.request(#"{"op":"inspect","breaker":"inventory"}"#)["breaker"]
            #expect(view?["state"] == .string("closed"))
            #expect(view?["reporters"] == .array([.string("orders-1")]))
            #expect(view?["failure_rate"]?.number.map { ($0 * 100).rounded() / 100 } == 90.91)
            #expect(try clients[1].request(#"{"op":"record-failure","breaker":"inventory"}"#)["state"] == .string("open"))
            let opened = try admin.request(#"{"op":"inspect","breaker":"inventory"}"#)["breaker"]
            #expect(opened?["reporters"] == .array([.string("orders-1"), .string("orders-2")]))
            let history = try admin.request(#"{"op":"history","breaker":"inventory"}"#)["transitions"]
            #expect(history?.array?.first?["reason"] == .string("failure_rate"))
        }
    }

    @Test func connectionsThatNeverSayHelloAreDistinctAnonymousReporters() async throws {
        try await withDaemon { daemon in
            let a = try daemon.client()
            let b = try daemon.client()
            try a.request(#"{"op":"configure","breaker":"mq","config":{"failure_threshold":2,"min_reporters":2}}"#)
            try a.request(#"{"op":"record-failure","breaker":"mq","count":5}"#)
            #expect(try a.request(#"{"op":"inspect","breaker":"mq"}"#)["breaker"]?["state"] == .string("closed"))
            #expect(try b.request(#"{"op":"record-failure","breaker":"mq"}"#)["state"] == .string("open"))
        }
    }

    @Test func metricsOnlyReportsTheComputedStateButNeverRejects() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"search","config":{"failure_threshold":1,"mode":"metrics_only"}}"#)
            #expect(try c.request(#"{"op":"record-failure","breaker":"search"}"#)["state"] == .string("open"))
            for _ in 0..<3 {
                let decision = try c.request(#"{"op":"should-attempt","breaker":"search"}"#)
                #expect(decision["allow"] == .bool(true))
                #expect(decision["state"] == .string("open"))
            }
            let view = try c.request(#"{"op":"inspect","breaker":"search"}"#)["breaker"]
            #expect(view?["metrics"]?["rejected_calls"] == .int(0))
            #expect(view?["config"]?["mode"] == .string("metrics_only"))
        }
    }

    @Test func slowCallsReportedWithDurationTripTheBreaker() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"geo","config":{"slow_call_duration_ms":1000,"slow_call_rate_threshold":50,"minimum_calls":4,"window":{"kind":"time","seconds":60}}}"#)
            try c.request(#"{"op":"record-success","breaker":"geo","duration_ms":9000}"#)
            try c.request(#"{"op":"record-success","breaker":"geo","duration_ms":20}"#)
            try c.request(#"{"op":"record-success","breaker":"geo","duration_ms":30}"#)
            #expect(try c.request(#"{"op":"inspect","breaker":"geo"}"#)["breaker"]?["slow_call_rate"]?.number.map { ($0 * 100).rounded() / 100 } == 33.33)
            #expect(try c.request(#"{"op":"record-success","breaker":"geo","duration_ms":1000}"#)["state"] == .string("open"))
        }
    }

    @Test func impossibleCombinationsAreBadRequestsThatChangeNothing() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let reply = try c.request(#"{"op":"configure","breaker":"x","config":{"policy":"rate","window":{"kind":"count","size":10},"minimum_calls":20}}"#)
            #expect(reply["error"] == .object(JSONObject([
                ("code", .string("bad_request")),
                ("message", .string("minimum_calls (20) is larger than the count window (10 calls): the rate could never be evaluated")),
            ])))
            let backoff = try c.request(#"{"op":"configure","breaker":"x","config":{"timeout_ms":60000,"timeout_backoff":{"multiplier":2,"max_ms":1000}}}"#)
            #expect(backoff["error"]?["message"] == .string("timeout_backoff.max_ms must be between timeout_ms (60000) and 2592000000, got 1000"))
            #expect(try c.request(#"{"op":"inspect","breaker":"x"}"#)["error"]?["code"] == .string("not_found"))
        }
    }

    @Test func policySettingsSurviveARestart() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let line = #"{"op":"configure","breaker":"pay","config":{"policy":"rate","window":{"kind":"time","seconds":30},"failure_rate_threshold":25,"minimum_calls":10,"slow_call_duration_ms":800,"slow_call_rate_threshold":40,"timeout_backoff":{"multiplier":1.5,"max_ms":600000},"min_reporters":3,"mode":"metrics_only"}}"#
            let before = try c.request(line)["breaker"]?["config"]
            try await daemon.restart()
            let after = try daemon.client().request(#"{"op":"inspect","breaker":"pay"}"#)["breaker"]?["config"]
            #expect(after == before)
            #expect(after?["timeout_backoff"]?["multiplier"] == .double(1.5))
        }
    }
}

extension JSONValue {
    /// An `.int` or `.double` as a Double.
    var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
}
