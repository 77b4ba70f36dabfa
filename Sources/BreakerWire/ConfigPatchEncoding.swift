import BreakerCore

extension BreakerConfigPatch {
    /// The `config` object of a `configure` request: exactly the fields this patch sets, `null`
    /// for an optional rule it turns off. The inverse of what `RequestDecoder` reads, shared by
    /// every client (BreakerClient, breakerctl) so they cannot drift from the protocol.
    public var wireFields: [(key: String, value: JSONValue)] {
        var fields: [(key: String, value: JSONValue)] = []
        if let v = failureThreshold { fields.append(("failure_threshold", .int(Int64(v)))) }
        if let v = successThreshold { fields.append(("success_threshold", .int(Int64(v)))) }
        if let v = timeoutMs { fields.append(("timeout_ms", .int(v))) }
        if let v = halfOpenMaxCalls { fields.append(("half_open_max_calls", .int(Int64(v)))) }
        if let v = halfOpenPermitTimeoutMs { fields.append(("half_open_permit_timeout_ms", .int(v))) }
        if let v = policy { fields.append(("policy", .string(v.wireName))) }
        if let v = window {
            switch v {
            case .count(let size): fields.append(("window", .object(["kind": .string("count"), "size": .int(Int64(size))])))
            case .time(let seconds): fields.append(("window", .object(["kind": .string("time"), "seconds": .int(Int64(seconds))])))
            }
        }
        if let v = failureRateThreshold { fields.append(("failure_rate_threshold", .int(Int64(v)))) }
        if let v = minimumCalls { fields.append(("minimum_calls", .int(Int64(v)))) }
        if let v = slowCallDurationMs { fields.append(("slow_call_duration_ms", v.map { .int($0) } ?? .null)) }
        if let v = slowCallRateThreshold { fields.append(("slow_call_rate_threshold", .int(Int64(v)))) }
        if let v = timeoutBackoff {
            fields.append(("timeout_backoff", v.map { b in
                let multiplier: JSONValue = Int64(exactly: b.multiplier).map { .int($0) } ?? .double(b.multiplier)
                return .object(["multiplier": multiplier, "max_ms": .int(b.maxMs)])
            } ?? .null))
        }
        if let v = minReporters { fields.append(("min_reporters", v.map { .int(Int64($0)) } ?? .null)) }
        if let v = mode { fields.append(("mode", .string(v.wireName))) }
        return fields
    }
}
