import BreakerCore
import BreakerWire

/// The body of `GET /api/breakers` and the breakers of each `/events` summary: each breaker in
/// `ReplyEncoder`'s `.tile` form (the protocol's `list` fields a tile shows, zero counts left out).
///
/// ```json
/// {"breakers":[{"name":"payments-api","state":"open","config":{"policy":"consecutive","timeout_ms":60000},
///   "failure_count":5,"generation":2,"open_until":"…","last_transition":{"from":"closed","to":"open","at":"…",
///   "reason":"failure_threshold"},"metrics":{"total_calls":12,"rejected_calls":3,"last_state_change":"…"}}],"count":1}
/// ```
///
/// With `limit` (the page's first screen), only the first `limit` breakers of `TileSelection`'s
/// order are written, `count` is how many match, and `total` and `states` count every breaker.
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

    /// `selection`'s counts with `views`, its chosen breakers.
    static func render(_ selection: TileSelection.Screen, views: [BreakerView]) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + views.count * 200)
        w.beginObject()
        w.key("breakers")
        w.beginArray()
        for view in views { write(view, to: &w) }
        w.endArray()
        w.field("count", selection.matching)
        w.field("total", selection.total)
        w.key("states")
        w.beginObject()
        for state in BreakerState.allCases { w.field(state.wireName, selection.states[state] ?? 0) }
        w.endObject()
        w.endObject()
        return w.finishLine()
    }

    static func write(_ view: BreakerView, to w: inout JSONWriter) {
        ReplyEncoder.write(view, to: &w, form: .tile)
    }
}
