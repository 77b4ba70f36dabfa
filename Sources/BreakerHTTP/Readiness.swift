import BreakerServer
import BreakerStore
import BreakerSync

/// What `/readyz` answers: ready only while every listener the daemon needs is bound, the last
/// database write succeeded (a daemon that cannot commit cannot acknowledge anything), no
/// shutdown has begun (so a load balancer stops sending before the listeners close), and, in a
/// PostgreSQL cluster, this daemon is the leader serving now (so a Kubernetes Service routes to
/// the leader only; `/healthz` stays 200 on every daemon).
public final class Readiness: Sendable {
    private struct State {
        var unbound: Set<String>
        var stopping = false
    }

    private let state: Mutex<State>

    /// `listeners` names every listener that must be bound before the daemon is ready.
    public init(listeners: [String]) {
        state = Mutex(State(unbound: Set(listeners)))
    }

    public func markBound(_ listener: String) {
        _ = state.withLock { $0.unbound.remove(listener) }
    }

    public func markStopping() {
        state.withLock { $0.stopping = true }
    }

    /// Empty when ready; otherwise one line per reason, for the 503 body and the operator.
    /// `gate` is the serving registry's (nil on SQLite), checked at `elapsed`.
    public func reasons(store: StoreWriterStats, gate: LeaderGate? = nil, at elapsed: Duration = .zero) -> [String] {
        var reasons: [String] = []
        let (unbound, stopping) = state.withLock { ($0.unbound, $0.stopping) }
        if stopping { reasons.append("shutting down") }
        if let gate, !gate.isServing(at: elapsed) {
            reasons.append(gate.leader.address.map { "standby: the leader is \($0)" } ?? "standby: no leader known")
        }
        for listener in unbound.sorted() { reasons.append("\(listener) listener not bound") }
        if let error = store.lastError {
            reasons.append("database: last write failed (\(error.code.rawValue)): \(error.message)")
        }
        return reasons
    }
}
