import BreakerPostgres
import BreakerServer
import BreakerStore
import Dispatch
import Logging

/// The election thread's state: the role machine, the session and the term being led. Lives and
/// is used on that one thread only (not `Sendable`); what it shares with the rest of the daemon
/// goes through `LeaderElection` (Sendable) and the term's `LeaderGate`.
final class ElectionLoop {
    /// What one leader term holds; dropped whole when the term ends.
    struct Term {
        let registry: BreakerRegistry
        let gate: LeaderGate
        let store: SharedPostgresStore
        var installed = false
    }

    let election: LeaderElection
    var machine: LeaderRoleMachine
    var session: SharedPostgresStore?
    var term: Term?
    /// What this daemon, as a standby, holds of the committed breakers (see `HotCopy`); handed
    /// to the term that takes the lease, then started again.
    var copy = HotCopy()
    /// When the copy began to fill (nil once it is current).
    var fillStarted: Duration?
    /// Connection failures in a row, for logging the first at warning level and the rest less.
    var failures = 0
    var logger: Logger { election.logger }
    var now: Duration { election.clock.elapsed() }

    init(election: LeaderElection) {
        self.election = election
        machine = LeaderRoleMachine(timing: election.settings.timing, now: election.clock.elapsed(),
                                    seed: UInt64.random(in: 0...UInt64.max))
    }

    func run(firstAttempt: (PostgresStoreError?) -> Void) {
        let first = connect()
        firstAttempt(first)
        if let first, !first.isRetryable { return }
        while election.attached == nil, !election.isStopping { election.sleep(.seconds(1)) }
        var pending = first == nil ? machine.connected(now: now) : machine.connectFailed(now: now)
        while !election.isStopping {
            while !pending.isEmpty, !election.isStopping {
                pending += execute(pending.removeFirst())
            }
            election.sleep(machine.nextWakeUp - now)
            pending = machine.tick(now: now)
        }
        finish()
    }

    /// Carries one action out; returns what the machine says next.
    private func execute(_ action: LeaderRoleMachine.Action) -> [LeaderRoleMachine.Action] {
        switch action {
        case .connect:
            return connect() == nil ? machine.connected(now: now) : machine.connectFailed(now: now)
        case .tryAcquire: return tryAcquire()
        case .load: return load()
        case .renew:
            guard let term else { return machine.renewFailed(now: now) }
            do {
                let confirmed = try term.store.renew(elapsed: { election.clock.elapsed() })
                return machine.renewed(confirmed: confirmed)
            } catch {
                logger.error("leader lease lost; stepping down", metadata: ["code": "\(error.code.rawValue)", "error": "\(error.message)"])
                return machine.renewFailed(now: now)
            }
        case .serve(let until):
            guard term != nil else { return [] }
            if !term!.installed { install() }
            term!.gate.openUntil(until)
            return []
        case .stepDown:
            stepDown()
            return []
        case .dropSession:
            close(session)
            session = nil
            return []
        }
    }

    /// A fresh session; nil on success, else why not (logged).
    private func connect() -> PostgresStoreError? {
        close(session)
        session = nil
        do {
            session = try SharedPostgresStore.connect(election.settings.urls, options: election.settings.options, logger: logger)
            if failures > 0 { logger.notice("PostgreSQL reachable again", metadata: ["after_failures": "\(failures)"]) }
            failures = 0
            return nil
        } catch {
            failures += 1
            let metadata: Logger.Metadata = ["code": "\(error.code.rawValue)", "error": "\(error.message)", "attempt": "\(failures)"]
            if failures == 1 || failures % 20 == 0 {
                logger.warning("cannot connect to PostgreSQL; retrying with backoff", metadata: metadata)
            } else {
                logger.info("cannot connect to PostgreSQL; retrying with backoff", metadata: metadata)
            }
            return error
        }
    }

    private func tryAcquire() -> [LeaderRoleMachine.Action] {
        guard let session else { return machine.acquireFailed(now: now) }
        let before = now
        do {
            if try session.tryAcquire(elapsed: before) { return machine.acquired(confirmed: before) }
            let published = try session.currentLeader()
            election.knownLeader.set(published.flatMap { $0.lockHeld ? $0.address : nil })
            try catchUp(session)
            return machine.refused(now: now)
        } catch {
            logger.warning("PostgreSQL session failed while standing by; reconnecting",
                           metadata: ["code": "\(error.code.rawValue)", "error": "\(error.message)"])
            return machine.acquireFailed(now: now)
        }
    }

    /// Between tries of the lock, brings the standby's copy up to date: what changed since the
    /// last try, or the next pages of a first fill, for at most `catchUpBudget` so the lock is
    /// still tried about as often.
    private func catchUp(_ session: SharedPostgresStore) throws(PostgresStoreError) {
        let deadline = now + Self.catchUpBudget
        let wasCurrent = copy.isCurrent
        if fillStarted == nil, !wasCurrent { fillStarted = now }
        let current = try session.catchUp(&copy, while: { [clock = election.clock] in clock.elapsed() < deadline }).current
        election.copied.record(copy.count)
        if current, !wasCurrent, let started = fillStarted {
            fillStarted = nil
            logger.info("standby copy is current", metadata: [
                "breakers": "\(copy.count)", "fill_ms": "\((now - started) / .milliseconds(1))",
            ])
        }
    }

    static let catchUpBudget = Duration.milliseconds(250)

    /// The lock is ours: publish the address and load every breaker into a new term registry,
    /// starting from the standby's copy (served only after the next renewal confirms the lease).
    private func load() -> [LeaderRoleMachine.Action] {
        guard let session, let listeners = election.attached else { return machine.loadFailed(now: now) }
        self.session = nil
        let started = now
        do {
            try session.publishLeader(address: listeners.advertise, at: election.clock.now())
            session.takeOver(with: copy)
            copy = HotCopy()
            fillStarted = nil
            election.copied.record(0)
            let gate = LeaderGate(leader: election.knownLeader)
            let registry = try BreakerRegistry(storage: session, settings: election.settings.registry, clock: election.clock,
                                               gate: gate, metrics: election.metrics, logger: logger)
            term = Term(registry: registry, gate: gate, store: session)
            logger.info("leader lease taken; breakers loaded", metadata: [
                "breakers": "\(registry.breakerCount)", "load_ms": "\((now - started) / .milliseconds(1))",
            ])
            return machine.loaded(now: now)
        } catch {
            logger.error("cannot take over as leader", metadata: ["error": "\(error)"])
            close(session)
            return machine.loadFailed(now: now)
        }
    }

    /// The first serve of a term: its registry replaces the standby's, every connection made
    /// before is closed (clients reconnect and meet the leader).
    private func install() {
        guard let listeners = election.attached, let registry = term?.registry else { return }
        term?.installed = true
        election.knownLeader.set(listeners.advertise)
        let standby = replaceServing(with: registry, listeners: listeners)
        DispatchQueue.global().async { standby.shutdown() }
        election.leader.record(1)
        election.changes.increment()
        logger.notice("leading the cluster", metadata: ["cluster": "\(election.settings.options.cluster)",
                                                        "advertise": "\(listeners.advertise)"])
    }

    /// Stops serving at once (the gate first), then drops the term: its registry commits what
    /// it can (nothing, once fenced) and closes the session, off this thread.
    private func stepDown() {
        guard let ending = term else { return }
        term = nil
        ending.gate.close()
        ending.store.fence()
        election.knownLeader.set(nil)
        if ending.installed, let listeners = election.attached {
            do {
                let standby = try LeaderElection.standbyRegistry(settings: election.settings.registry, clock: election.clock,
                                                                 leader: election.knownLeader, metrics: election.metrics,
                                                                 logger: logger)
                _ = replaceServing(with: standby, listeners: listeners)
            } catch {
                logger.error("cannot make a standby registry", metadata: ["error": "\(error)"])
            }
            election.leader.record(0)
            election.changes.increment()
            logger.warning("stepped down: no longer the leader", metadata: ["cluster": "\(election.settings.options.cluster)"])
        }
        DispatchQueue.global().async { ending.registry.shutdown() }
    }

    /// Puts `registry` in place and closes what was served by the one it replaces (returned,
    /// for the caller to shut down).
    private func replaceServing(with registry: BreakerRegistry, listeners: LeaderElection.Listeners) -> BreakerRegistry {
        let old = election.serving.replace(with: registry)
        let server = listeners.server
        Task { await server.closeConnections(servedBy: old) }
        listeners.endpoints.servingRegistryReplaced()
        return old
    }

    private func close(_ session: SharedPostgresStore?) {
        guard let session else { return }
        DispatchQueue.global().async { session.close() }
    }

    /// The daemon is stopping: a leader commits what is pending and lets the lease go.
    private func finish() {
        if let ending = term {
            term = nil
            ending.gate.close()
            ending.registry.shutdown()  // commits what is pending, then closes the session
            election.leader.record(0)
        }
        session?.close()
        session = nil
    }
}
