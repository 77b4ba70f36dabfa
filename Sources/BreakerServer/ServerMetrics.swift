import BreakerWire
import Metrics
import BreakerSync

/// The protocol server's own metrics, through swift-metrics only; the executable picks the
/// backend. The per-breaker `circuit_breaker_*` series are not here: they are rendered at scrape
/// time from the registry's state (see `BreakerRegistry.snapshot()`), so they are exact.
///
/// The `ok` counter of every known op is created up front, so counting a successful request on
/// the event loop is a read of an immutable table plus one atomic add, and every op's series
/// exists from the first scrape. Error results (and ops added to the protocol later) are created
/// on first use, under a lock: errors are the rare path.
public final class ServerMetrics: Sendable {
    /// Names as exported, with the help text `breakerd` attaches to them.
    public enum Name {
        public static let requests = "breakerd_requests_total"
        public static let connectionsOpen = "breakerd_connections_open"
        public static let connections = "breakerd_connections_total"
        public static let connectionsRejected = "breakerd_connections_rejected_total"
        public static let breakers = "breakerd_breakers"
        public static let databaseSize = "breakerd_database_size_bytes"
        public static let tlsFailures = "breakerd_tls_failures_total"
        public static let dedupeKeys = "breakerd_dedupe_keys"
        public static let dedupeKeysDropped = "breakerd_dedupe_keys_dropped_total"
    }

    /// The `op` label of a line that never named a known op (or was never read as a line:
    /// `line_too_long`).
    public static let invalidOp = "invalid"
    /// The `code` label of a request answered with `"ok":true`.
    public static let okCode = "ok"

    private let factory: any MetricsFactory
    private let okRequests: [Op: Counter]
    /// `okRequests` of the hot ops, held directly (no lookup per request).
    private let decisionOK: Counter, recordSuccessOK: Counter, recordFailureOK: Counter
    private let otherRequests = Mutex<[String: Counter]>([:])
    let connectionsOpen: Meter
    let connectionsAccepted: Counter
    let connectionsRejected: Counter
    let breakers: Gauge
    let databaseSize: Gauge
    /// Connections closed over a TLS error: failed handshakes (untrusted or missing client
    /// certificate, a plain-text client), bad records.
    let tlsFailures: Counter
    /// Dedupe keys remembered, set at scrape time and whenever every shard is swept.
    let dedupeKeys: Gauge
    /// Records whose dedupe key was not remembered because `--max-dedupe-keys` was reached: a
    /// retry of one of them may have been counted twice.
    let dedupeKeysDropped: Counter

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        var table: [Op: Counter] = [:]
        for op in Op.allCases {
            table[op] = Counter(label: Name.requests, dimensions: [("op", op.rawValue), ("code", Self.okCode)], factory: factory)
        }
        okRequests = table
        (decisionOK, recordSuccessOK, recordFailureOK) = (table[.shouldAttempt]!, table[.recordSuccess]!, table[.recordFailure]!)
        connectionsOpen = Meter(label: Name.connectionsOpen, dimensions: [], factory: factory)
        connectionsAccepted = Counter(label: Name.connections, dimensions: [], factory: factory)
        connectionsRejected = Counter(label: Name.connectionsRejected, dimensions: [], factory: factory)
        breakers = Gauge(label: Name.breakers, dimensions: [], factory: factory)
        databaseSize = Gauge(label: Name.databaseSize, dimensions: [], factory: factory)
        tlsFailures = Counter(label: Name.tlsFailures, dimensions: [], factory: factory)
        dedupeKeys = Gauge(label: Name.dedupeKeys, dimensions: [], factory: factory)
        dedupeKeysDropped = Counter(label: Name.dedupeKeysDropped, dimensions: [], factory: factory)
    }

    /// Counts one answered request: `op` nil when the line never named a known op, `error` nil
    /// when the reply was `"ok":true`. Every reply a connection sends is counted here, once.
    /// Inlined: for the hot ops' `ok` this is one atomic add on a counter held directly.
    @inline(__always)
    func request(_ op: Op?, _ error: ErrorCode?) {
        if error == nil, let op {
            switch op {
            case .shouldAttempt: return decisionOK.increment()
            case .recordSuccess: return recordSuccessOK.increment()
            case .recordFailure: return recordFailureOK.increment()
            default: break
            }
        }
        otherRequest(op, error)
    }

    /// `request` of everything but the hot ops' `ok`: the table, or a counter made on first use.
    @inline(never)
    private func otherRequest(_ op: Op?, _ error: ErrorCode?) {
        if error == nil, let op, let counter = okRequests[op] { return counter.increment() }
        let label = op?.rawValue ?? Self.invalidOp
        let code = error?.rawValue ?? Self.okCode
        otherRequests.withLock { counters in
            let key = label + " " + code
            if let counter = counters[key] { return counter }
            let counter = Counter(label: Name.requests, dimensions: [("op", label), ("code", code)], factory: factory)
            counters[key] = counter
            return counter
        }.increment()
    }

    func connectionOpened(admitted: Bool) {
        connectionsOpen.increment()
        if admitted { connectionsAccepted.increment() } else { connectionsRejected.increment() }
    }

    func connectionClosed() {
        connectionsOpen.decrement()
    }
}
