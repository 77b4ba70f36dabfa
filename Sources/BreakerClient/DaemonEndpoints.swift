import BreakerSync

extension BreakerClient {
    /// One daemon address: `host` and `port`.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `HOST:PORT` (`[v6]:PORT` for an IPv6 address); nil when it is not that.
        public init?(_ text: some StringProtocol) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                  (1...65_535).contains(port) else { return nil }
            var host = text[..<colon]
            if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
            guard !host.isEmpty else { return nil }
            self.init(host: String(host), port: port)
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }
}

/// The daemons a client may talk to, shared by all its connections: the one that answered last
/// is tried first, a `not_leader` reply's leader next (added if unknown), and an endpoint that
/// failed hands its turn to the next. One leader serves a cluster, so all connections follow
/// the same endpoint.
final class DaemonEndpoints: Sendable {
    private struct State {
        var all: [BreakerClient.Endpoint]
        var preferred = 0
    }

    private let state: Mutex<State>

    init(_ endpoints: [BreakerClient.Endpoint]) {
        var unique: [BreakerClient.Endpoint] = []
        for endpoint in endpoints where !unique.contains(endpoint) { unique.append(endpoint) }
        state = Mutex(State(all: unique))
    }

    /// The endpoint to try now.
    var current: BreakerClient.Endpoint { state.withLock { $0.all[$0.preferred % $0.all.count] } }

    /// `endpoint` did not answer, or answered `not_leader` naming no leader: the next is tried.
    func failed(_ endpoint: BreakerClient.Endpoint) {
        state.withLock { s in
            if s.all[s.preferred % s.all.count] == endpoint { s.preferred = (s.preferred + 1) % s.all.count }
        }
    }

    /// `endpoint` answered: the others' connections go there too.
    func worked(_ endpoint: BreakerClient.Endpoint) {
        state.withLock { s in
            if let index = s.all.firstIndex(of: endpoint) { s.preferred = index }
        }
    }

    /// Follows `not_leader` naming `leader` (`HOST:PORT`); false when it names none usable.
    func redirect(to leader: String) -> Bool {
        guard let target = BreakerClient.Endpoint(leader) else { return false }
        state.withLock { s in
            if let index = s.all.firstIndex(of: target) {
                s.preferred = index
            } else {
                s.all.append(target)
                s.preferred = s.all.count - 1
            }
        }
        return true
    }
}
