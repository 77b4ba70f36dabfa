import BreakerTestSupport
import BreakerWire
import Testing

@Suite("Bad input gets its exact error code and changes nothing")
struct ErrorReplyTests {
    static let cases: [(line: String, code: String)] = [
        (#"{"op":"ping""#, "malformed_json"),
        ("not json", "malformed_json"),
        ("", "malformed_json"),
        (#"{"op":"ping"} x"#, "malformed_json"),
        ("[1,2]", "bad_request"),
        (#"{"breaker":"a"}"#, "bad_request"),
        (#"{"op":7}"#, "bad_request"),
        (#"{"op":"should-attempt"}"#, "bad_request"),
        (#"{"op":"should-attempt","breaker":5}"#, "bad_request"),
        (#"{"op":"record-failure","breaker":"a","count":0}"#, "bad_request"),
        (#"{"op":"record-failure","breaker":"a","count":1.5}"#, "bad_request"),
        (#"{"op":"record-failure","breaker":"a","count":"2"}"#, "bad_request"),
        (#"{"op":"record-failure","breaker":"a","count":1e400}"#, "bad_request"),
        (#"{"op":"record-failure","breaker":"a","generation":-1}"#, "bad_request"),
        (#"{"op":"record-failure","breaker":"a","permit":"nonsense"}"#, "bad_request"),
        (#"{"op":"record-failure","breaker":"a","permit":"x.1.1","count":2}"#, "bad_request"),
        (#"{"op":"configure","breaker":"a"}"#, "bad_request"),
        (#"{"op":"configure","breaker":"a","config":[]}"#, "bad_request"),
        (#"{"op":"configure","breaker":"a","config":{"timeout_ms":"1s"}}"#, "bad_request"),
        (#"{"op":"list","prefix":"bad prefix"}"#, "bad_request"),
        (#"{"op":"ping","id":{"a":1}}"#, "bad_request"),
        (#"{"op":"explode"}"#, "unknown_op"),
        (#"{"op":"should-attempt","breaker":""}"#, "invalid_name"),
        (#"{"op":"should-attempt","breaker":"has space"}"#, "invalid_name"),
        (#"{"op":"record-failure","breaker":"semi;colon"}"#, "invalid_name"),
        (#"{"op":"should-attempt","breaker":"nul\u0000"}"#, "invalid_name"),
        (#"{"op":"inspect","breaker":"missing"}"#, "not_found"),
        (#"{"op":"reset","breaker":"missing"}"#, "not_found"),
    ]

    @Test(arguments: cases)
    func errorLineGetsItsCodeAndTheConnectionStaysUsable(_ line: String, _ code: String) async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let reply = try c.request(line)
            #expect(reply["ok"] == .bool(false))
            #expect(reply["error"]?["code"] == .string(code), "\(line)")
            #expect(reply["error"]?["message"]?.string?.isEmpty == false)
            #expect(try c.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            #expect(try c.request(#"{"op":"list"}"#)["breakers"] == .array([]), "a rejected request created something")
        }
    }

    @Test func errorRepliesEchoTheIDWhenItCouldBeRead() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            #expect(try c.request(#"{"op":"nope","id":"x1"}"#) == .object(JSONObject([
                ("ok", .bool(false)), ("id", .string("x1")),
                ("error", .object(JSONObject([("code", .string("unknown_op")), ("message", .string("unknown op 'nope'"))]))),
            ])))
        }
    }

    @Test func overlongNameIsInvalid() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let name = String(repeating: "n", count: 201)
            #expect(try c.request(#"{"op":"should-attempt","breaker":"\#(name)"}"#)["error"]?["code"] == .string("invalid_name"))
            let longest = String(repeating: "n", count: 200)
            #expect(try c.request(#"{"op":"should-attempt","breaker":"\#(longest)"}"#)["allow"] == .bool(true))
        }
    }

    @Test func lineTooLongIsAnsweredThenTheConnectionIsClosed() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.send(#"{"op":"ping","id":1}"#)
            try c.sendRaw(Array(#"{"op":"ping","pad":""#.utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 70_000))
            #expect(try c.readJSON()["id"] == .int(1))
            #expect(try c.readJSON()["error"]?["code"] == .string("line_too_long"))
            #expect(c.isClosedByPeer())
            // Other connections are unaffected.
            #expect(try daemon.client().request(#"{"op":"ping"}"#)["ok"] == .bool(true))
        }
    }

    @Test func invalidUTF8IsMalformed() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.sendRaw(Array(#"{"op":"should-attempt","breaker":""#.utf8) + [0xC3, 0x28] + Array("\"}\n".utf8))
            #expect(try c.readJSON()["error"]?["code"] == .string("malformed_json"))
        }
    }

    @Test func connectionsBeyondTheLimitAreOverloadedAndClosed() async throws {
        try await withDaemon(configure: { $0.maxConnections = 2 }) { daemon in
            let a = try daemon.client(), b = try daemon.client()
            #expect(try a.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            #expect(try b.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            let c = try daemon.client()
            #expect(try c.readJSON()["error"]?["code"] == .string("overloaded"))
            #expect(c.isClosedByPeer())
            #expect(try a.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
        }
    }

    @Test func crlfLinesAndAFinalLineWithoutNewlineAreAccepted() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.sendRaw(Array("{\"op\":\"ping\",\"id\":1}\r\n{\"op\":\"ping\",\"id\":2}".utf8))
            c.shutdownWrite()
            #expect(try c.readJSON()["id"] == .int(1))
            #expect(try c.readJSON()["id"] == .int(2))
            #expect(c.isClosedByPeer())
        }
    }
}
