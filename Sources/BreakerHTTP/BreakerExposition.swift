import BreakerCore
import BreakerWire

/// The per-breaker series of `/metrics`, with the seed design's names and labels, rendered from
/// a registry snapshot taken at scrape time.
///
/// Every value comes from `BreakerMetrics`, whose counters only ever grow (a `reset` keeps them),
/// so the counters here are monotonic, and two scrapes with no traffic in between read the same.
/// Every transition kind is written, zeros included, so `increase()` sees the first
/// transition of a breaker instead of a series appearing from nowhere.
public enum BreakerExposition {
    public static let state = "circuit_breaker_state"
    public static let calls = "circuit_breaker_calls_total"
    public static let transitions = "circuit_breaker_transitions_total"

    /// 0 closed, 1 half_open, 2 open. Any other state (a forced open, say) is a kind of open: 2.
    public static func stateValue(_ state: BreakerState) -> UInt64 {
        switch state.wireName {
        case "closed": 0
        case "half_open": 1
        default: 2
        }
    }

    public static let dropped = "breakerd_metric_series_dropped_total"
    /// The call results `calls` is labelled with.
    static let callResults = ["success", "failure", "rejected"]
    /// Series one breaker contributes: its state, one per call result, one per transition kind.
    public static let seriesPerBreaker = 1 + callResults.count + TransitionKind.all.count

    /// Renders at most `maxSeries` per-breaker series: whole breakers, those not closed first
    /// (they are the ones an operator is looking for), then by name. Returns how many series
    /// were left out so the caller can count them.
    public static func render(_ breakers: [BreakerView], maxSeries: Int) -> (bytes: [UInt8], droppedSeries: Int) {
        let capacity = max(0, maxSeries / seriesPerBreaker)
        guard breakers.count > capacity else { return (render(breakers), 0) }
        let (notClosed, closed) = (breakers.filter { $0.breaker.state != .closed }, breakers.filter { $0.breaker.state == .closed })
        let kept = Array((notClosed + closed).prefix(capacity)).sorted { $0.name < $1.name }
        return (render(kept), (breakers.count - kept.count) * seriesPerBreaker)
    }

    public static func render(_ breakers: [BreakerView]) -> [UInt8] {
        var text = PrometheusText(capacity: 256 + breakers.count * 600)
        text.family(state, type: "gauge",
                    help: "Current circuit breaker state (0=closed, 1=half_open, 2=open; forced open counts as 2).")
        for view in breakers {
            text.sample(state, [("name", view.name)], stateValue(view.breaker.state))
        }
        text.family(calls, type: "counter",
                    help: "Calls reported to or rejected by the circuit breaker, by result (success, failure, rejected).")
        for view in breakers {
            let m = view.breaker.metrics
            for (result, count) in zip(callResults, [m.successfulCalls, m.failedCalls, m.rejectedCalls]) {
                text.sample(calls, [("name", view.name), ("result", result)], count)
            }
        }
        text.family(transitions, type: "counter", help: "Circuit breaker state transitions, by from and to state.")
        for view in breakers {
            for (kind, count) in view.breaker.metrics.transitionCounts {
                text.sample(transitions, [
                    ("name", view.name), ("from_state", kind.from.wireName), ("to_state", kind.to.wireName),
                ], count)
            }
        }
        return text.bytes
    }
}
