import BreakerHTTP
import BreakerPostgres
import BreakerServer
import BreakerStore
import BreakerSync
import Dispatch
import Foundation
import Logging
import Metrics
import struct Synchronization.Atomic

/// The cluster role of a daemon on PostgreSQL, run on a thread of its own (every PostgreSQL round
/// trip blocks; never an event loop, never Swift concurrency's pool). `LeaderRoleMachine`
/// decides; `ElectionLoop` (on that thread) carries the actions out: connect, try the lock,
/// load a term registry, renew, serve, step down.
final class LeaderElection: Sendable {
    struct Settings: Sendable {
        var urls: [PostgresURL]
        var options: PostgresStore.Options
        var timing: LeaderRoleMachine.Timing
        var registry: BreakerRegistry.Settings
    }

    /// What the loop needs once the listeners are bound.
    struct Listeners: Sendable {
        var server: BreakerServer
        var endpoints: ObservabilityEndpoints
        var advertise: String
    }

    static let leaderGauge = "breakerd_leader"
    static let changesCounter = "breakerd_leader_changes_total"
    static let copyGauge = "breakerd_standby_copy_breakers"

    let settings: Settings
    let clock: SystemClock
    let serving: ServingRegistry
    let knownLeader = KnownLeader()
    let metrics: ServerMetrics
    let logger: Logger
    let leader = Gauge(label: LeaderElection.leaderGauge)
    let changes = Counter(label: LeaderElection.changesCounter)
    /// Breakers a standby holds ready for a takeover (0 on the leader).
    let copied = Gauge(label: LeaderElection.copyGauge)
    private let listeners = Mutex<Listeners?>(nil)
    private let wakeUp = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchGroup()

    /// The daemon serves a standby registry until it first leads.
    init(settings: Settings, clock: SystemClock, metrics: ServerMetrics, logger: Logger) throws(StoreError) {
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        leader.record(0)
        copied.record(0)
        let standby = try Self.standbyRegistry(settings: settings.registry, clock: clock, leader: knownLeader,
                                               metrics: metrics, logger: logger)
        serving = ServingRegistry(standby)
    }

    /// An empty registry whose gate never opens: it answers `ping` and `hello`, and every
    /// other op with `not_leader`.
    static func standbyRegistry(settings: BreakerRegistry.Settings, clock: SystemClock, leader: KnownLeader,
                                metrics: ServerMetrics, logger: Logger) throws(StoreError) -> BreakerRegistry {
        try BreakerRegistry(storage: StandbyStorage(), settings: settings, clock: clock, gate: LeaderGate(leader: leader),
                            metrics: metrics, logger: logger)
    }

    /// Starts the thread; it connects once and returns that attempt's error (nil: connected),
    /// then waits for `attach` before it tries the lock. A fatal error ends the thread.
    func start() async -> PostgresStoreError? {
        await withCheckedContinuation { (continuation: CheckedContinuation<PostgresStoreError?, Never>) in
            finished.enter()
            let thread = Thread { [self] in
                ElectionLoop(election: self).run(firstAttempt: { continuation.resume(returning: $0) })
                finished.leave()
            }
            thread.name = "breakerd-election"
            thread.start()
        }
    }

    /// The listeners are bound: from now on the loop may lead.
    func attach(_ bound: Listeners) {
        listeners.withLock { $0 = bound }
        wakeUp.signal()
    }

    var attached: Listeners? { listeners.withLock { $0 } }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Waits up to `timeout` (or until `stop`).
    func sleep(_ timeout: Duration) {
        guard timeout > .zero else { return }
        let (seconds, attoseconds) = timeout.components
        _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(min(seconds, 3600) * 1_000_000_000 + attoseconds / 1_000_000_000)))
    }

    /// Ends the loop: a leader commits what is pending and releases the lease (so a standby
    /// takes over at once), a standby closes its session. Returns once done.
    func stop() async {
        stopping.store(true, ordering: .releasing)
        wakeUp.signal()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            finished.notify(queue: .global()) { continuation.resume() }
        }
    }
}
