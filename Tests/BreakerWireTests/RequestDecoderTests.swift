import BreakerCore
import BreakerWire
import Testing

@Suite struct RequestDecoderTests {
    private func decode(_ line: String) -> Result<Request, RequestError> { RequestDecoder.decode(line) }

    @Test func decodesEveryOperation() throws {
        let cases: [(String, Command)] = [
            (#"{"op":"ping"}"#, .ping),
            (#"{"op":"should-attempt","breaker":"db"}"#, .shouldAttempt(breaker: "db")),
            (#"{"op":"record-success","breaker":"db","count":3,"generation":9}"#,
             .record(RecordCommand(breaker: "db", outcome: .success, count: 3, generation: 9))),
            (#"{"op":"record-failure","breaker":"db","permit":"e.2.0"}"#,
             .record(RecordCommand(breaker: "db", outcome: .failure, permit: "e.2.0"))),
            (#"{"op":"inspect","breaker":"a/b:c.d_e-f"}"#, .inspect(breaker: "a/b:c.d_e-f")),
            (#"{"op":"list"}"#, .list(prefix: nil)),
            (#"{"op":"list","prefix":"kafka-"}"#, .list(prefix: "kafka-")),
            (#"{"op":"configure","breaker":"db","config":{"timeout_ms":30000,"half_open_max_calls":2}}"#,
             .configure(breaker: "db", patch: BreakerConfigPatch(timeoutMs: 30000, halfOpenMaxCalls: 2))),
            (#"{"op":"reset","breaker":"db"}"#, .reset(breaker: "db")),
            (#"{"op":"watch","prefix":""}"#, .watch(prefix: "")),
        ]
        for (line, command) in cases {
            #expect(try decode(line).get() == Request(command: command), "\(line)")
        }
    }

    @Test func keepsTheIDAndIgnoresUnknownTopLevelFields() throws {
        #expect(try decode(#"{"id":"abc","op":"ping","client":"future"}"#).get() == Request(id: .string("abc"), command: .ping))
        #expect(try decode(#"{"id":1.5,"op":"ping"}"#).get() == Request(id: .double(1.5), command: .ping))
    }

    @Test func errorsCarryTheIDWhenItWasReadable() {
        #expect(decode(#"{"id":4,"op":"fly"}"#) == .failure(RequestError(id: .int(4), error: WireError(.unknownOp, "unknown op 'fly'"))))
        #expect(decode(#"{"id":4,"op":"fly""#) == .failure(RequestError(id: nil, error: WireError(.malformedJSON, "unexpected end of input at byte 18 (expected ',' or '}')"))))
    }

    @Test(arguments: [
        (#"{"op":"ping","op":"ping"}"#, ErrorCode.badRequest),
        (#"{"op":"ping"}{"#, .malformedJSON),
        (#"{"op":null}"#, .badRequest),
        (#"{"op":"inspect","breaker":null}"#, .badRequest),
        (#"{"op":"record-success","breaker":"a","count":1000001}"#, .badRequest),
        (#"{"op":"record-success","breaker":"a","generation":"1"}"#, .badRequest),
        (#"{"op":"record-success","breaker":"a","permit":""}"#, .badRequest),
        (#"{"op":"configure","breaker":"a","config":{"success_threshold":0}}"#, .badRequest),
        (#"{"op":"configure","breaker":"a","config":{"half_open_max_calls":10001}}"#, .badRequest),
        (#"{"op":"watch","prefix":7}"#, .badRequest),
        (#"{"op":"inspect","breaker":"ünïcode"}"#, .invalidName),
    ])
    func rejectsWithTheExactCode(_ line: String, _ code: ErrorCode) {
        guard case .failure(let failure) = decode(line) else {
            Issue.record("\(line) decoded")
            return
        }
        #expect(failure.error.code == code, "\(line): \(failure.error)")
    }
}

@Suite struct ReplyEncoderTests {
    @Test func decisionReplyHasTheDocumentedShape() {
        let line = ReplyEncoder.encode(.decision(DecisionReply(allow: false, state: .open, generation: 2, cacheMs: 10, retryAfterMs: 10)), id: .int(3))
        #expect(String(decoding: line, as: UTF8.self) ==
            #"{"ok":true,"id":3,"allow":false,"state":"open","generation":2,"cache_ms":10,"retry_after_ms":10}"# + "\n")
    }

    @Test func errorReplyHasTheDocumentedShape() {
        let line = ReplyEncoder.encode(WireError(.notFound, "no breaker named 'x'"), id: .string("q"))
        #expect(String(decoding: line, as: UTF8.self) ==
            #"{"ok":false,"id":"q","error":{"code":"not_found","message":"no breaker named 'x'"}}"# + "\n")
    }

    @Test func transitionEventHasTheDocumentedShape() {
        let t = Transition(from: .closed, to: .open, generation: 2, at: Timestamp(millisecondsSinceEpoch: 1_764_424_987_412), reason: .failureThreshold)
        #expect(String(decoding: ReplyEncoder.encode(.transition(breaker: "db", t)), as: UTF8.self) ==
            #"{"event":"transition","breaker":"db","from":"closed","to":"open","generation":2,"at":"2025-11-29T14:03:07.412Z","reason":"failure_threshold"}"# + "\n")
    }
}

@Suite struct RFC3339Tests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_764_424_987_412, "2025-11-29T14:03:07.412Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func formatsAndParsesBack(_ ms: Int64, _ text: String) {
        #expect(RFC3339.format(Timestamp(millisecondsSinceEpoch: ms)) == text)
        #expect(RFC3339.parse(text) == Timestamp(millisecondsSinceEpoch: ms))
    }

    @Test func parsesWithoutFraction() {
        #expect(RFC3339.parse("2025-11-29T14:03:07Z") == Timestamp(millisecondsSinceEpoch: 1_764_424_987_000))
        #expect(RFC3339.parse("2025-13-29T14:03:07Z") == nil)
        #expect(RFC3339.parse("yesterday") == nil)
    }
}

@Suite struct PermitTokenTests {
    @Test func roundTripsAndRejectsOtherShapes() {
        let token = PermitToken(epoch: "k2x9", permit: Permit(generation: 3, sequence: 7))
        #expect(token.description == "k2x9.3.7")
        #expect(PermitToken("k2x9.3.7") == token)
        for bad in ["", "k2x9.3", ".3.7", "k2x9.-3.7", "k2x9.3.7.1", "k2x9.x.7"] { #expect(PermitToken(bad) == nil, "\(bad)") }
    }
}

@Suite struct BreakerNameTests {
    @Test func acceptsTheDocumentedAlphabetUpTo200Bytes() throws {
        try BreakerName.validate("AZaz09._:/-")
        try BreakerName.validate(String(repeating: "x", count: 200))
        #expect(throws: WireError.self) { try BreakerName.validate(String(repeating: "x", count: 201)) }
        for bad in ["", "a b", "a\u{0}", "é", "a;b", "a\"b", "a\\b", "a*"] {
            #expect(throws: WireError.self, "\(bad)") { try BreakerName.validate(bad) }
        }
    }
}

@Suite struct RequestEncoderTests {
    /// What clients send must decode to exactly what they meant: the encoder and the decoder
    /// are two halves of one protocol.
    @Test(arguments: [
        Command.ping,
        .shouldAttempt(breaker: "db"),
        .record(RecordCommand(breaker: "db", outcome: .failure, count: 3, generation: 7, durationMs: 1200, dedupe: "c1-42")),
        .record(RecordCommand(breaker: "db", outcome: .success, permit: "e.2.0")),
        .inspect(breaker: "a/b:c"),
        .list(prefix: nil), .list(prefix: "kafka-"),
        .configure(breaker: "db", patch: BreakerConfigPatch(failureThreshold: 3, timeoutMs: 20_000, policy: .rate,
                                                            window: .time(seconds: 60), slowCallDurationMs: .some(nil),
                                                            timeoutBackoff: .some(TimeoutBackoff(multiplier: 1.5, maxMs: 60_000)),
                                                            minReporters: 2, mode: .metricsOnly)),
        .configure(breaker: "db", patch: BreakerPreset.externalAPIRate.patch),
        .reset(breaker: "db"), .watch(prefix: "w-"), .auth(token: "s3cret-token-for-alice"),
        .forceOpen(breaker: "db", reason: "maintenance \"window\""), .forceOpen(breaker: "db", reason: nil),
        .release(breaker: "db"), .history(breaker: "db", limit: 20), .hello(client: "orders-7f9c"),
    ])
    func encodedRequestsDecodeToTheSameCommand(_ command: Command) throws {
        let request = Request(id: .int(9), command: command)
        let line = RequestEncoder.encode(request)
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(try RequestDecoder.decode(String(decoding: line.dropLast(), as: UTF8.self)).get() == request)
    }
}
