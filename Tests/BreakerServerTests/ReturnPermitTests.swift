import BreakerTestSupport
import BreakerWire
import Testing

/// `return-permit`: a half-open trial whose call was never made hands its place back without
/// counting an outcome.
@Suite("return-permit over a real TCP connection")
struct ReturnPermitTests {
    /// A breaker in half_open (one trial at a time) and the permit of its one trial.
    private func halfOpenTrial(_ c: LineClient, _ name: String) throws -> String {
        try c.request(#"{"op":"configure","breaker":"\#(name)","config":{"failure_threshold":1,"timeout_ms":1,"half_open_max_calls":1}}"#)
        try c.request(#"{"op":"record-failure","breaker":"\#(name)"}"#)
        var permit: String?
        _ = try eventually {
            permit = try c.request(#"{"op":"should-attempt","breaker":"\#(name)"}"#)["permit"]?.string
            return permit != nil
        }
        return try #require(permit)
    }

    @Test func aReturnedPermitFreesTheTrialWithoutCountingAnOutcome() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let permit = try halfOpenTrial(c, "db")
            // The one place is taken: a second caller is rejected.
            #expect(try c.request(#"{"op":"should-attempt","breaker":"db"}"#)["allow"] == .bool(false))
            let before = try c.request(#"{"op":"inspect","breaker":"db"}"#)["breaker"]
            #expect(before?["half_open_in_flight"] == .int(1))

            let returned = try c.request(#"{"op":"return-permit","breaker":"db","permit":"\#(permit)","id":5}"#)
            #expect(returned == .object(JSONObject([("ok", .bool(true)), ("id", .int(5)), ("state", .string("half_open")),
                                                   ("generation", .int(3))])))
            let after = try c.request(#"{"op":"inspect","breaker":"db"}"#)["breaker"]
            #expect(after?["half_open_in_flight"] == .int(0))
            #expect(after?["state"] == .string("half_open"))
            #expect(after?["metrics"] == before?["metrics"])  // no outcome counted
            // The place is free again for the next trial.
            let next = try c.request(#"{"op":"should-attempt","breaker":"db"}"#)
            #expect(next["allow"] == .bool(true))
            #expect(next["permit"]?.string != permit)
        }
    }

    @Test func aPermitReturnedTwiceOrAlreadyReportedIsStale() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let permit = try halfOpenTrial(c, "db")
            #expect(try c.request(#"{"op":"return-permit","breaker":"db","permit":"\#(permit)"}"#)["stale"] == nil)
            #expect(try c.request(#"{"op":"return-permit","breaker":"db","permit":"\#(permit)"}"#)
                    == .object(JSONObject([("ok", .bool(true)), ("state", .string("half_open")), ("generation", .int(3)),
                                           ("stale", .bool(true))])))
            let second = try #require(try c.request(#"{"op":"should-attempt","breaker":"db"}"#)["permit"]?.string)
            try c.request(#"{"op":"record-success","breaker":"db","permit":"\#(second)"}"#)
            #expect(try c.request(#"{"op":"return-permit","breaker":"db","permit":"\#(second)"}"#)["stale"] == .bool(true))
        }
    }

    @Test func badReturnsAreErrorsAndChangeNothing() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let permit = try halfOpenTrial(c, "db")
            let code = { (line: String) throws -> JSONValue? in try c.request(line)["error"]?["code"] }
            #expect(try code(#"{"op":"return-permit","breaker":"nobody","permit":"\#(permit)"}"#) == .string("not_found"))
            #expect(try code(#"{"op":"return-permit","breaker":"db"}"#) == .string("bad_request"))
            #expect(try code(#"{"op":"return-permit","breaker":"db","permit":"not-ours"}"#) == .string("bad_request"))
            #expect(try code(#"{"op":"return-permit","breaker":"db","permit":""}"#) == .string("bad_request"))
            #expect(try code(#"{"op":"return-permit","permit":"\#(permit)"}"#) == .string("bad_request"))
            #expect(try c.request(#"{"op":"inspect","breaker":"db"}"#)["breaker"]?["half_open_in_flight"] == .int(1))
        }
    }
}
