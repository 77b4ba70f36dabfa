import Metrics
import Synchronization

/// The client's own counters: kept in atomics for `BreakerClient.statistics` (tests and health
/// pages read them) and mirrored to swift-metrics for dashboards. Nothing here is touched by a
/// cached decision: counting every hit would put a shared cache line on the hot path.
final class ClientTelemetry: Sendable {
    enum Event: Int, CaseIterable {
        case decisionRequests, fallbackDecisions, recordsSent, outcomesSent, recordsAcknowledged
        case recordsDropped, recordsLost, recordsRejected, recordsResent, pushedTransitions, connects, resyncs, protocolViolations
        case pushedResets, watchHeartbeats, leaderRedirects, successesLost

        var metricName: String {
            switch self {
            case .decisionRequests: "decision_requests_total"
            case .fallbackDecisions: "fallback_decisions_total"
            case .recordsSent: "records_sent_total"
            case .outcomesSent: "outcomes_sent_total"
            case .recordsAcknowledged: "records_acknowledged_total"
            case .recordsDropped: "records_dropped_total"
            case .recordsLost: "records_lost_total"
            case .recordsRejected: "records_rejected_total"
            case .recordsResent: "records_resent_total"
            case .pushedTransitions: "pushed_transitions_total"
            case .connects: "connects_total"
            case .resyncs: "resyncs_total"
            case .protocolViolations: "protocol_violations_total"
            case .pushedResets: "pushed_resets_total"
            case .watchHeartbeats: "watch_heartbeats_total"
            case .leaderRedirects: "leader_redirects_total"
            case .successesLost: "successes_lost_total"
            }
        }
    }

    final class Slot: Sendable {
        let value = Atomic<Int>(0)
        let metric: Metrics.Counter

        init(_ label: String) { metric = Metrics.Counter(label: label) }
    }

    private let slots: [Slot]
    let available: Metrics.Gauge
    let queued: Metrics.Gauge

    init(prefix: String) {
        slots = Event.allCases.map { Slot("\(prefix)_\($0.metricName)") }
        available = Metrics.Gauge(label: "\(prefix)_daemon_available")
        queued = Metrics.Gauge(label: "\(prefix)_queued_records")
    }

    func count(_ event: Event, by amount: Int = 1) {
        let slot = slots[event.rawValue]
        slot.value.add(amount, ordering: .relaxed)
        slot.metric.increment(by: Int64(amount))
    }

    subscript(_ event: Event) -> Int { slots[event.rawValue].value.load(ordering: .relaxed) }
}
