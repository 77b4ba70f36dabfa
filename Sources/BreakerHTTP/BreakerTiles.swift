import BreakerCore
import BreakerWire

/// The body of `GET /api/breakers` and the breakers of each `/events` summary: what a tile
/// shows, with the field names of the protocol's `list` (see `ReplyEncoder.write(_:to:)`), but
/// only those fields, and counts that are 0 left out, so 100,000 breakers stay one compact fetch.
///
/// ```json
/// {"breakers":[{"name":"payments-api","state":"open","config":{"policy":"consecutive","timeout_ms":60000},
///   "failure_count":5,"generation":2,"open_until":"…","metrics":{"total_calls":12,"rejected_calls":3,
///   "last_state_change":"…"}}],"count":1}
/// ```
enum BreakerTiles {
    static func render(_ views: [BreakerView]) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + views.count * 180)
        w.beginObject()
        w.key("breakers")
        w.beginArray()
        for view in views { write(view, to: &w) }
        w.endArray()
        w.field("count", views.count)
        w.endObject()
        return w.finishLine()
    }

    /// One breaker, compact. Absent counts are 0; absent optional fields are as in `list`.
    static func write(_ view: BreakerView, to w: inout JSONWriter) {
        let b = view.breaker
        w.beginObject()
        w.field("name", view.name)
        w.field("state", b.state.wireName)
        w.key("config")
        w.beginObject()
        w.field("policy", b.config.policy.wireName)
        w.field("timeout_ms", b.config.timeoutMs)
        w.endObject()
        if b.failureCount > 0 { w.field("failure_count", b.failureCount) }
        if b.successCount > 0 { w.field("success_count", b.successCount) }
        if let rate = b.window?.failureRate { w.field("failure_rate", rate) }
        w.key("generation"); w.int(Int64(truncatingIfNeeded: b.generation))
        if let until = b.openUntil { w.field("open_until", RFC3339.format(until)) }
        if let forced = b.forced { ReplyEncoder.writeForced(forced, to: &w) }
        let m = b.metrics
        w.key("metrics")
        w.beginObject()
        if m.totalCalls > 0 { w.key("total_calls"); w.int(Int64(truncatingIfNeeded: m.totalCalls)) }
        if m.failedCalls > 0 { w.key("failed_calls"); w.int(Int64(truncatingIfNeeded: m.failedCalls)) }
        if m.rejectedCalls > 0 { w.key("rejected_calls"); w.int(Int64(truncatingIfNeeded: m.rejectedCalls)) }
        w.field("last_state_change", RFC3339.format(m.lastStateChange))
        w.endObject()
        w.endObject()
    }
}
