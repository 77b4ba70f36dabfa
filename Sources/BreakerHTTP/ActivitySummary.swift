import BreakerCore
import BreakerWire
import Dispatch

/// What changed between two snapshots: the body of `/events`' `summary` event. The first
/// snapshot only sets the baseline. Breakers whose counts, state or generation moved are sent
/// in `BreakerTiles`' compact form with their absolute counts (the page turns differences into
/// rates), the most active first, at most `maxBreakers` of them.
struct ActivitySummary {
    static let maxBreakers = 500

    private struct Totals: Equatable {
        var calls: UInt64
        var rejected: UInt64
        var failures: Int
        var successes: Int
        var generation: UInt64
        var state: BreakerState

        init(_ b: CircuitBreaker) {
            (calls, rejected, failures, successes, generation, state) =
                (b.metrics.totalCalls, b.metrics.rejectedCalls, b.failureCount, b.successCount, b.generation, b.state)
        }
    }

    private var previous: [String: Totals] = [:]
    private var previousAt: DispatchTime?

    mutating func next(_ views: [BreakerView], at now: DispatchTime) -> [UInt8]? {
        defer { previousAt = now }
        let primed = previousAt != nil
        var changed: [(view: BreakerView, activity: UInt64)] = []
        for view in views {
            let totals = Totals(view.breaker)
            let before = previous.updateValue(totals, forKey: view.name)
            guard primed, before != totals else { continue }
            let activity = (totals.calls &- (before?.calls ?? 0)) &+ (totals.rejected &- (before?.rejected ?? 0))
            changed.append((view, activity))
        }
        guard let previousAt else { return nil }
        if changed.count > Self.maxBreakers {
            changed.sort { $0.activity > $1.activity }
        }
        var w = JSONWriter(capacity: 64 + min(changed.count, Self.maxBreakers) * 180)
        w.beginObject()
        w.field("interval_ms", Int64((now.uptimeNanoseconds - previousAt.uptimeNanoseconds) / 1_000_000))
        w.key("breakers")
        w.beginArray()
        for entry in changed.prefix(Self.maxBreakers) { BreakerTiles.write(entry.view, to: &w) }
        w.endArray()
        w.field("changed", changed.count)
        if changed.count > Self.maxBreakers { w.field("omitted", changed.count - Self.maxBreakers) }
        w.field("count", views.count)
        w.endObject()
        return w.finishLine()
    }
}
