import BreakerSync
import BreakerWire
import struct Synchronization.Atomic

/// Whether one registry may serve, checked at the top of every request (`BreakerRegistry.handle`).
/// A daemon on SQLite has no gate and always serves. A daemon of a PostgreSQL cluster gives each
/// registry its own gate: a standby's registry gets one that never opens; a leader's term
/// registry gets one that is open until its lease runs out (`openUntil`, on the daemon clock's
/// `elapsed()`), is pushed forward by every confirmed heartbeat and, once `close`d at the end of
/// the term, never opens again. So a request is served only while the lease is good *by this
/// daemon's clock at the moment of the request*: a leader frozen past its lease (SIGSTOP, a long
/// pause) answers nothing after it wakes, even before its heartbeat thread has noticed.
public final class LeaderGate: Sendable {
    /// `elapsed()` in nanoseconds up to which requests are served; `Int64.min` when closed.
    private let servingUntil = Atomic<Int64>(.min)
    /// Closed for good: a later `openUntil` is ignored.
    private let ended = Atomic<Bool>(false)
    /// Who leads, as this daemon last read it: named in `not_leader` errors.
    public let leader: KnownLeader

    public init(leader: KnownLeader) {
        self.leader = leader
    }

    /// Serves requests until `elapsed` reaches `deadline` (a confirmed heartbeat's reading plus
    /// the lease). Ignored once the gate is closed.
    public func openUntil(_ deadline: Duration) {
        guard !ended.load(ordering: .acquiring) else { return }
        servingUntil.store(Self.nanoseconds(deadline), ordering: .releasing)
        // A close that raced with the store above wins.
        if ended.load(ordering: .acquiring) { servingUntil.store(.min, ordering: .releasing) }
    }

    /// Stops serving, for good.
    public func close() {
        ended.store(true, ordering: .releasing)
        servingUntil.store(.min, ordering: .releasing)
    }

    /// Whether a request arriving at `elapsed` is served.
    public func isServing(at elapsed: Duration) -> Bool {
        Self.nanoseconds(elapsed) < servingUntil.load(ordering: .acquiring)
    }

    /// What `hello` says about this daemon at `elapsed`.
    public func role(at elapsed: Duration) -> ServingRole { isServing(at: elapsed) ? .leader : .standby }

    /// The refusal of every op but `ping` and `hello` while not serving.
    public var notLeader: WireError {
        let address = leader.address
        let message = address.map { "this breakerd is a standby; the leader is \($0)" }
            ?? "this breakerd is a standby and no leader is known yet; retry shortly"
        return WireError(.notLeader, message, leader: address)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (seconds < 0 ? .min : .max) : scaled + attoseconds / 1_000_000_000
    }
}

/// The leader's address as this daemon last learned it (the published leaders table, or itself
/// while it leads), shared by every gate of the daemon; nil when none is known.
public final class KnownLeader: Sendable {
    private let current = Mutex<String?>(nil)

    public init() {}

    public var address: String? { current.withLock { $0 } }

    public func set(_ address: String?) { current.withLock { $0 = address } }
}
