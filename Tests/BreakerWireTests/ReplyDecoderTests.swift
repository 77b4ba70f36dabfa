import BreakerCore
import BreakerWire
import Testing

@Suite struct ReplyDecoderTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes.dropLast(), as: UTF8.self) }

    private func roundTrip(_ reply: Reply, _ kind: ReplyKind, id: JSONValue? = .int(7)) throws -> DaemonMessage {
        try ReplyDecoder.decode(text(ReplyEncoder.encode(reply, id: id)), expecting: kind)
    }

    /// A breaker as the daemon would hold it after some traffic: open, with metrics.
    private func openBreaker() -> CircuitBreaker {
        var b = CircuitBreaker(config: BreakerConfig(failureThreshold: 2, timeoutMs: 5000), createdAt: Timestamp(millisecondsSinceEpoch: 1_764_424_000_123))
        _ = b.record(.success, count: 3, at: Timestamp(millisecondsSinceEpoch: 1_764_424_001_000))
        _ = b.record(.failure, count: 2, at: Timestamp(millisecondsSinceEpoch: 1_764_424_002_500))
        _ = b.shouldAttempt(at: Timestamp(millisecondsSinceEpoch: 1_764_424_003_000))
        // Restore through the public initialiser, as a decoded breaker is: no permits.
        return CircuitBreaker(config: b.config, state: b.state, generation: b.generation, failureCount: b.failureCount,
                              successCount: b.successCount, openUntil: b.openUntil, metrics: b.metrics)
    }

    @Test func decodesEveryReplyTheEncoderWrites() throws {
        let decisions = [
            DecisionReply(allow: true, state: .closed, generation: 1, cacheMs: 100),
            DecisionReply(allow: false, state: .open, generation: 2, cacheMs: 59874, retryAfterMs: 59874),
            DecisionReply(allow: true, state: .halfOpen, generation: 3, cacheMs: 0, permit: "k2x9q1.3.0"),
            DecisionReply(allow: false, state: .halfOpen, generation: 3, cacheMs: 0, retryAfterMs: 29998),
        ]
        for d in decisions {
            #expect(try roundTrip(.decision(d), .decision) == .reply(id: .int(7), .decision(d)))
        }
        #expect(try roundTrip(.pong(version: "0.1.0"), .pong, id: .string("a")) == .reply(id: .string("a"), .pong(version: "0.1.0")))
        #expect(try roundTrip(.recorded(state: .open, generation: 2, stale: true), .recorded, id: nil)
            == .reply(id: nil, .recorded(state: .open, generation: 2, stale: true)))
        #expect(try roundTrip(.recorded(state: .closed, generation: 1, stale: false), .recorded)
            == .reply(id: .int(7), .recorded(state: .closed, generation: 1, stale: false)))
        #expect(try roundTrip(.watching, .watching) == .reply(id: .int(7), .watching))
    }

    @Test func decodesBreakerViewsWithConfigCountsAndMetrics() throws {
        let open = BreakerView(name: "payments-api", breaker: openBreaker())
        let fresh = BreakerView(name: "a/b:c.d_e-f", breaker: CircuitBreaker(createdAt: Timestamp(millisecondsSinceEpoch: 0)))
        #expect(try roundTrip(.breaker(open), .breaker) == .reply(id: .int(7), .breaker(open)))
        #expect(try roundTrip(.list([fresh, open]), .list) == .reply(id: .int(7), .list([fresh, open])))
        #expect(try roundTrip(.list([]), .list) == .reply(id: .int(7), .list([])))
        guard case .reply(_, .breaker(let view)) = try roundTrip(.breaker(open), .breaker) else { Issue.record("not a view"); return }
        #expect(view.breaker.config.failureThreshold == 2)
        #expect(view.breaker.metrics.failedCalls == 2)
        #expect(view.breaker.metrics.rejectedCalls == 1)
        #expect(view.breaker.openUntil == Timestamp(millisecondsSinceEpoch: 1_764_424_007_500))
    }

    @Test func decodesTransitionEventsWhateverIsOutstanding() throws {
        let t = Transition(from: .closed, to: .open, generation: 2, at: Timestamp(millisecondsSinceEpoch: 1_764_424_987_412), reason: .failureThreshold)
        let line = text(ReplyEncoder.encode(.transition(breaker: "kafka-topic-orders", t)))
        for kind in [nil, ReplyKind.decision, .recorded] {
            #expect(try ReplyDecoder.decode(line, expecting: kind) == .event(.transition(breaker: "kafka-topic-orders", t)))
        }
        #expect(try ReplyDecoder.decode(#"{"event":"config_changed","breaker":"x"}"#, expecting: nil) == .unknownEvent("config_changed"))
    }

    @Test func decodesErrorRepliesWithTheirStableCode() throws {
        for code in ErrorCode.allCases {
            let line = text(ReplyEncoder.encode(WireError(code, "because"), id: .int(3)))
            #expect(try ReplyDecoder.decode(line, expecting: .decision) == .error(id: .int(3), WireError(code, "because")))
        }
        let noID = text(ReplyEncoder.encode(WireError(.overloaded, "busy"), id: nil))
        #expect(try ReplyDecoder.decode(noID, expecting: nil) == .error(id: nil, WireError(.overloaded, "busy")))
    }

    @Test(arguments: [
        ("", "not JSON"),
        ("garbage", "not JSON"),
        (#"[1,2]"#, "must be a JSON object"),
        (#"{"ok":true}"#, "no request outstanding"),
        (#"{"allow":true}"#, "missing field 'ok'"),
        (#"{"ok":"yes","allow":true}"#, "'ok' must be a boolean"),
        (#"{"ok":true,"allow":true,"state":"closed","generation":1}"#, "missing field 'cache_ms'"),
        (#"{"ok":true,"allow":true,"state":"ajar","generation":1,"cache_ms":100}"#, "not a state"),
        (#"{"ok":true,"allow":true,"state":"closed","generation":-1,"cache_ms":100}"#, "between 0"),
        (#"{"ok":true,"allow":true,"state":"closed","generation":1.5,"cache_ms":100}"#, "must be an integer"),
        (#"{"ok":true,"allow":true,"state":"closed","generation":"1","cache_ms":100}"#, "must be an integer"),
        (#"{"ok":true,"allow":true,"state":"half_open","generation":3,"cache_ms":0}"#, "permit"),
        (#"{"ok":true,"allow":false,"state":"open","generation":2,"cache_ms":10}"#, "retry_after_ms"),
        (#"{"ok":true,"allow":true,"state":"closed","generation":1,"cache_ms":100,"retry_after_ms":5}"#, "retry_after_ms"),
        (#"{"ok":true,"allow":false,"state":"closed","generation":1,"cache_ms":0,"retry_after_ms":5}"#, "never rejects"),
        (#"{"ok":true,"id":[1],"allow":true,"state":"closed","generation":1,"cache_ms":100}"#, "'id' must be"),
        (#"{"ok":false,"error":{"code":"teapot","message":"x"}}"#, "unknown error code"),
        (#"{"ok":false,"error":"bad"}"#, "'error' must be an object"),
        (#"{"event":"transition","breaker":"db","from":"closed","to":"open","generation":2,"at":"yesterday","reason":"failure_threshold"}"#, "RFC 3339"),
        (#"{"event":"transition","breaker":"db","from":"closed","to":"open","generation":2,"at":"2026-11-29T14:03:07.412Z","reason":"boredom"}"#, "unknown transition reason"),
        (#"{"event":"transition","breaker":"d b","from":"closed","to":"open","generation":2,"at":"2026-11-29T14:03:07.412Z","reason":"failure_threshold"}"#, "breaker"),
        (#"{"event":"transition","breaker":"db","from":"open","to":"open","generation":2,"at":"2026-11-29T14:03:07.412Z","reason":"reset"}"#, "must change"),
        (#"{"event":7}"#, "'event' must be a string"),
    ])
    func rejectsWhatProtocolV1DoesNotAllow(line: String, problem: String) {
        #expect {
            _ = try ReplyDecoder.decode(line, expecting: line.contains("allow") ? .decision : nil)
        } throws: { error in
            (error as? ReplyDecodingError)?.message.contains(problem) == true
        }
    }

    @Test func rejectsBreakerViewsThatCannotBe() throws {
        let good = text(ReplyEncoder.encode(.breaker(BreakerView(name: "db", breaker: openBreaker())), id: nil))
        #expect(throws: Never.self) { try ReplyDecoder.decode(good, expecting: .breaker) }
        let cases = [
            good.replacingOccurrences(#""failure_threshold":2"#, #""failure_threshold":0"#),
            good.replacingOccurrences(#""state":"open""#, #""state":"closed""#),  // open_until on a closed breaker
            good.replacingOccurrences(#""closed_to_open":1,"#, ""),
            good.replacingOccurrences(#""name":"db""#, #""name":"""#),
            good.replacingOccurrences(#""total_calls":5"#, #""total_calls":-5"#),
        ]
        for line in cases {
            #expect(line != good)
            #expect(throws: ReplyDecodingError.self) { try ReplyDecoder.decode(line, expecting: .breaker) }
        }
        // The right shape for the wrong question is garbage too.
        #expect(throws: ReplyDecodingError.self) { try ReplyDecoder.decode(good, expecting: .decision) }
    }
}

private extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var result = "", rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
