import BreakerCore
import BreakerWire
import Testing

/// The policy settings of `configure`, `duration_ms` on records, `hello`, and the new inspect fields.
@Suite struct PolicyFieldsTests {
    private func decode(_ line: String) -> Result<Request, RequestError> { RequestDecoder.decode(line) }

    @Test func decodesEveryPolicyField() throws {
        let line = #"{"op":"configure","breaker":"db","config":{"policy":"rate","window":{"kind":"time","seconds":60},"#
            + #""failure_rate_threshold":40,"minimum_calls":25,"slow_call_duration_ms":2000,"slow_call_rate_threshold":60,"#
            + #""timeout_backoff":{"multiplier":1.5,"max_ms":300000},"min_reporters":2,"mode":"metrics_only"}}"#
        #expect(try decode(line).get().command == .configure(breaker: "db", patch: BreakerConfigPatch(
            policy: .rate, window: .time(seconds: 60), failureRateThreshold: 40, minimumCalls: 25, slowCallDurationMs: 2000,
            slowCallRateThreshold: 60, timeoutBackoff: TimeoutBackoff(multiplier: 1.5, maxMs: 300_000), minReporters: 2,
            mode: .metricsOnly)))
    }

    @Test func nullTurnsOptionalRulesOff() throws {
        let line = #"{"op":"configure","breaker":"db","config":{"slow_call_duration_ms":null,"timeout_backoff":null,"min_reporters":null,"window":{"kind":"count","size":50}}}"#
        #expect(try decode(line).get().command == .configure(breaker: "db", patch: BreakerConfigPatch(
            window: .count(size: 50), slowCallDurationMs: .some(nil), timeoutBackoff: .some(nil), minReporters: .some(nil))))
    }

    @Test func recordsCarryDurationAndHelloNamesTheClient() throws {
        #expect(try decode(#"{"op":"record-success","breaker":"db","duration_ms":9000}"#).get().command
            == .record(RecordCommand(breaker: "db", outcome: .success, durationMs: 9000)))
        #expect(try decode(#"{"op":"record-failure","breaker":"db","duration_ms":0}"#).get().command
            == .record(RecordCommand(breaker: "db", outcome: .failure, durationMs: 0)))
        #expect(try decode(#"{"op":"hello","client":"orders-7f9c"}"#).get().command == .hello(client: "orders-7f9c"))
    }

    @Test(arguments: [
        (#"{"op":"configure","breaker":"a","config":{"policy":"sometimes"}}"#, #"field 'policy' must be one of "consecutive", "rate""#),
        (#"{"op":"configure","breaker":"a","config":{"mode":"off"}}"#, #"field 'mode' must be one of "normal", "metrics_only", "disabled""#),
        (#"{"op":"configure","breaker":"a","config":{"window":{"kind":"count"}}}"#,
         #"field 'window' must be {"kind":"count","size":N} or {"kind":"time","seconds":N}"#),
        (#"{"op":"configure","breaker":"a","config":{"window":{"kind":"time","size":60}}}"#,
         #"field 'window' must be {"kind":"count","size":N} or {"kind":"time","seconds":N}"#),
        (#"{"op":"configure","breaker":"a","config":{"window":{"kind":"count","size":0}}}"#, "field 'size' must be between 1 and 10000, got 0"),
        (#"{"op":"configure","breaker":"a","config":{"window":{"kind":"time","seconds":3601}}}"#, "field 'seconds' must be between 1 and 3600, got 3601"),
        (#"{"op":"configure","breaker":"a","config":{"failure_rate_threshold":101}}"#, "field 'failure_rate_threshold' must be between 1 and 100, got 101"),
        (#"{"op":"configure","breaker":"a","config":{"slow_call_rate_threshold":0}}"#, "field 'slow_call_rate_threshold' must be between 1 and 100, got 0"),
        (#"{"op":"configure","breaker":"a","config":{"slow_call_duration_ms":"2s"}}"#, "field 'slow_call_duration_ms' must be an integer"),
        (#"{"op":"configure","breaker":"a","config":{"timeout_backoff":{"multiplier":0.5,"max_ms":1000}}}"#, "field 'multiplier' must be between 1 and 100, got 0.5"),
        (#"{"op":"configure","breaker":"a","config":{"timeout_backoff":{"multiplier":2}}}"#, #"field 'timeout_backoff' must be null or {"multiplier":M,"max_ms":N}"#),
        (#"{"op":"configure","breaker":"a","config":{"min_reporters":0}}"#, "field 'min_reporters' must be between 1 and 1000, got 0"),
        (#"{"op":"record-failure","breaker":"a","duration_ms":-1}"#, "field 'duration_ms' must be between 0 and 2592000000, got -1"),
        (#"{"op":"hello","client":""}"#, "field 'client' must be 1-64 bytes of A-Z a-z 0-9 . _ : / -"),
        (#"{"op":"hello","client":"a b"}"#, "field 'client' must be 1-64 bytes of A-Z a-z 0-9 . _ : / -"),
        (#"{"op":"hello"}"#, "missing field 'client'"),
    ])
    func rejectsWithAClearBadRequest(_ line: String, _ message: String) {
        let op = Op.allCases.first { line.hasPrefix(#"{"op":"\#($0.rawValue)""#) }
        #expect(op != nil)
        #expect(decode(line) == .failure(RequestError(id: nil, op: op, error: WireError(.badRequest, message))), "\(line)")
    }

    @Test func helloRejectsNamesLongerThan64Bytes() {
        let line = #"{"op":"hello","client":""# + String(repeating: "a", count: 65) + #""}"#
        #expect(decode(line) == .failure(RequestError(id: nil, op: .hello, error: WireError(.badRequest, "field 'client' is longer than 64 bytes"))))
    }

    @Test func inspectShowsPolicyConfigRatesAndReporters() throws {
        let t0 = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)
        let config = BreakerConfig(policy: .rate, window: .count(size: 10), failureRateThreshold: 90, minimumCalls: 5,
                                   slowCallDurationMs: 1000, timeoutBackoff: TimeoutBackoff(multiplier: 2, maxMs: 120_000),
                                   minReporters: 2)
        var breaker = CircuitBreaker(config: config, createdAt: t0)
        _ = breaker.record(.failure, reporter: "b", at: t0)
        _ = breaker.record(.success, durationMs: 1500, reporter: "a", at: t0)
        _ = breaker.record(.success, reporter: "c", at: t0)
        _ = breaker.record(.success, reporter: "c", at: t0)
        var w = JSONWriter()
        ReplyEncoder.write(BreakerView(name: "db", breaker: breaker), to: &w)
        let object = try JSONParser.parse(String(decoding: w.bytes, as: UTF8.self))
        #expect(at(object, "config", "policy") == .string("rate"))
        #expect(at(object, "config", "window") == .object(JSONObject([("kind", .string("count")), ("size", .int(10))])))
        #expect(at(object, "config", "timeout_backoff") == .object(JSONObject([("multiplier", .int(2)), ("max_ms", .int(120_000))])))
        #expect(at(object, "config", "min_reporters") == .int(2))
        #expect(at(object, "config", "mode") == .string("normal"))
        #expect(at(object, "failure_rate") == .int(25) || at(object, "failure_rate") == .double(25))
        #expect(at(object, "slow_call_rate") == .int(25) || at(object, "slow_call_rate") == .double(25))
        #expect(at(object, "reporters") == .array([.string("a"), .string("b")]))
    }

    @Test func aDefaultBreakerShowsNoRatesButTheDefaultPolicy() throws {
        var w = JSONWriter()
        ReplyEncoder.write(BreakerView(name: "db", breaker: CircuitBreaker(createdAt: Timestamp(millisecondsSinceEpoch: 0))), to: &w)
        let object = try JSONParser.parse(String(decoding: w.bytes, as: UTF8.self))
        #expect(at(object, "failure_rate") == nil && at(object, "reporters") == nil)
        #expect(at(object, "config", "policy") == .string("consecutive"))
        #expect(at(object, "config", "slow_call_duration_ms") == .null)
    }
}

/// The value at `path` inside nested objects, nil when any step is missing.
private func at(_ value: JSONValue, _ path: String...) -> JSONValue? {
    var current: JSONValue? = value
    for key in path {
        guard case .object(let object)? = current else { return nil }
        current = object[key]
    }
    return current
}
