import BreakerWire

/// The body of `GET /health/circuit-breakers`: the seed design's shape, one object per breaker
/// keyed by name, in name order.
///
/// ```json
/// {"payments-api":{"state":"open","failure_count":5,"success_count":0,"total_calls":12,
///   "rejected_calls":3,"last_state_change":"2026-11-29T14:03:07.412Z"}}
/// ```
public enum HealthReport {
    public static func render(_ breakers: [BreakerView]) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + breakers.count * 200)
        w.beginObject()
        for view in breakers {
            let b = view.breaker
            w.key(view.name)
            w.beginObject()
            w.field("state", b.state.wireName)
            w.field("failure_count", b.failureCount)
            w.field("success_count", b.successCount)
            w.key("total_calls"); w.int(Int64(truncatingIfNeeded: b.metrics.totalCalls))
            w.key("rejected_calls"); w.int(Int64(truncatingIfNeeded: b.metrics.rejectedCalls))
            w.field("last_state_change", RFC3339.format(b.metrics.lastStateChange))
            w.endObject()
        }
        w.endObject()
        return w.bytes + [UInt8(ascii: "\n")]
    }
}
