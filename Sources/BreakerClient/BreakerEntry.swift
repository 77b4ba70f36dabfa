import BreakerCore
import BreakerWire
import BreakerSync

/// Everything the client knows about one breaker, behind one `Mutex`: the cached decision the
/// hot path reads, the newest generation heard of (which orders answers that race each other
/// over different connections), the config learnt from `inspect`, the fallback state machine,
/// and the successes being folded into one record.
final class BreakerEntry: Sendable {
    let name: String
    /// Set when the name breaks the protocol's rules; `attempt()` throws it.
    let invalidName: BreakerClientError?
    /// Which record connection carries this breaker's outcomes (always the same one, so they
    /// reach the daemon in order).
    let recordLink: Int
    let state: Mutex<EntryState>

    init(name: String, recordLinks: Int, epoch: UInt64) {
        self.name = name
        do {
            try BreakerName.validate(name)
            invalidName = nil
        } catch {
            invalidName = BreakerClientError(error)
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: stable across runs, unlike Hasher
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        recordLink = Int(hash % UInt64(max(1, recordLinks)))
        state = Mutex(EntryState(epoch: epoch))
    }

    /// The hot path: one uncontended lock, no allocation, no I/O. `streamLive`: the watch
    /// stream's last heartbeat is recent enough to hold `until_pushed` answers past `cache_ms`.
    @inline(__always)
    func probe(now: UInt64, streamLive: Bool) -> Probe {
        state.withLock { s in
            guard now < s.cacheExpires || (s.cacheHeld && streamLive) else { return .miss }
            guard !s.cacheAllow else { return .allow(generation: s.cacheGeneration) }
            return .reject(state: s.cacheState, retryAfter: s.cacheIsDeadline ? s.cacheExpires - now : nil)
        }
    }
}

/// What a cached decision says.
enum Probe {
    case allow(generation: UInt64)
    /// `retryAfter` (nanoseconds) is known when the daemon said how long the breaker stays open.
    case reject(state: BreakerState, retryAfter: UInt64?)
    case miss
}

/// Successes of one generation being counted into one `record-success`.
struct Fold {
    var generation: UInt64
    var count: Int
    /// When the window closes and the record is queued.
    var deadline: UInt64
}

/// A decision of the in-process fallback breaker.
enum LocalVerdict {
    case allow(OutcomeToken)
    case reject(state: BreakerState, retryAfterMs: Int64)
}

struct EntryState {
    // The cached decision; `cacheExpires == 0` means none. Monotonic nanoseconds.
    var cacheExpires: UInt64 = 0
    var cacheAllow = false
    var cacheState = BreakerState.closed
    var cacheGeneration: UInt64 = 0
    /// Whether a cached rejection expires exactly when the breaker stops being OPEN (the
    /// daemon's `cache_ms`), rather than after a guess.
    var cacheIsDeadline = false
    /// The cached answer said `until_pushed`: it stays valid past `cacheExpires` while the watch
    /// stream is live, until a push about this breaker (or a resync) drops it.
    var cacheHeld = false

    /// The connection epoch this entry was last resynced in; answers from older connections
    /// are not cached.
    var epoch: UInt64
    /// The newest generation heard of in this epoch, from any source.
    var latestGeneration: UInt64 = 0
    var lastKnownState: BreakerState?
    /// Estimated end of the current OPEN period, for seeding the fallback breaker.
    var openUntil: UInt64?
    /// The config learnt from `inspect` or `configure`.
    var config: BreakerConfig?
    var configInFlight = false

    var local: CircuitBreaker?
    var fold: Fold?
    var foldRegistered = false

    init(epoch: UInt64) { self.epoch = epoch }

    /// Caches a `should-attempt` answer unless something newer is already known. Nothing is
    /// cached in HALF_OPEN (every trial needs its own permit) or when `cache_ms` is 0.
    mutating func install(_ d: DecisionReply, epoch: UInt64, now: UInt64) {
        guard epoch == self.epoch, d.generation >= latestGeneration else { return }
        latestGeneration = d.generation
        lastKnownState = d.state
        openUntil = d.state == .open ? now &+ UInt64(d.retryAfterMs ?? 0) &* 1_000_000 : nil
        guard d.state != .halfOpen, d.cacheMs > 0 else {
            cacheExpires = 0
            cacheHeld = false
            return
        }
        cacheHeld = d.untilPushed && d.allow
        cacheAllow = d.allow
        cacheIsDeadline = !d.allow
        cacheState = d.state
        cacheGeneration = d.generation
        cacheExpires = now &+ UInt64(min(d.cacheMs, Int64.max / 1_000_000)) * 1_000_000
    }

    /// News of the breaker's state without a decision: a pushed transition or a record reply.
    /// A newer OPEN is cached as a rejection (for at most `openCache`: these carry no
    /// deadline, and the daemon pushes the end of OPEN anyway); anything else drops the cache
    /// so the next call asks. Returns whether this was news.
    @discardableResult
    mutating func observe(state: BreakerState, generation: UInt64, epoch: UInt64, now: UInt64,
                          openCache: UInt64, defaultTimeoutMs: Int64) -> Bool {
        guard epoch == self.epoch, generation > latestGeneration else { return false }
        latestGeneration = generation
        lastKnownState = state
        // Forced open by an operator rejects like open, without a deadline: the daemon pushes the release.
        cacheHeld = false
        guard state == .open || state == .forcedOpen else {
            cacheExpires = 0
            openUntil = nil
            return true
        }
        let timeout = UInt64(config?.timeoutMs ?? defaultTimeoutMs) &* 1_000_000
        openUntil = state == .open ? now &+ timeout : nil
        cacheAllow = false
        cacheIsDeadline = false
        cacheState = state
        cacheGeneration = generation
        cacheExpires = now &+ min(openCache, timeout)
        return true
    }

    mutating func learn(_ config: BreakerConfig) {
        self.config = config
        local?.config = config
    }

    /// The daemon is back (or a new one is): forget every answer of the old connection and the
    /// fallback's state; the next call asks again.
    mutating func resync(epoch: UInt64) {
        self.epoch = epoch
        cacheExpires = 0
        cacheHeld = false
        latestGeneration = 0
        lastKnownState = nil
        openUntil = nil
        local = nil
    }

    mutating func localDecide(now: UInt64, defaultConfig: BreakerConfig) -> LocalVerdict {
        let time = MonotonicClock.timestamp(now)
        var breaker = local ?? seedLocal(now: now, defaultConfig: defaultConfig)
        let decision = breaker.shouldAttempt(at: time).decision
        let generation = breaker.generation
        let state = breaker.state
        local = breaker
        switch decision {
        case .allow: return .allow(.generation(generation))
        case .allowTrial(let permit): return .allow(.permit(permit))
        case .reject(let retryAfterMs): return .reject(state: state, retryAfterMs: retryAfterMs)
        }
    }

    /// Feeds an outcome to the fallback breaker; `seed` creates it first if there is none.
    mutating func feedLocal(_ outcome: Outcome, token: OutcomeToken, now: UInt64, seed defaultConfig: BreakerConfig?) {
        if local == nil, let defaultConfig { local = seedLocal(now: now, defaultConfig: defaultConfig) }
        _ = local?.record(outcome, token: token, at: MonotonicClock.timestamp(now))
    }

    /// A fallback breaker that starts where the daemon's was last seen: an open breaker stays
    /// open until its (estimated) deadline instead of letting traffic through the moment the
    /// daemon is lost.
    private func seedLocal(now: UInt64, defaultConfig: BreakerConfig) -> CircuitBreaker {
        let config = self.config ?? defaultConfig
        let time = MonotonicClock.timestamp(now)
        let metrics = BreakerMetrics(createdAt: time)
        switch lastKnownState {
        case .open:
            let until = openUntil.map(MonotonicClock.timestamp) ?? time.adding(milliseconds: config.timeoutMs)
            return CircuitBreaker(config: config, state: .open, generation: 1, failureCount: config.failureThreshold,
                                  successCount: 0, openUntil: until, metrics: metrics)
        case .halfOpen:
            return CircuitBreaker(config: config, state: .halfOpen, generation: 1, failureCount: 0, successCount: 0,
                                  openUntil: nil, metrics: metrics)
        case .forcedOpen:
            // An operator's override stays in force until the daemon, back again, says otherwise.
            return CircuitBreaker(config: config, state: .forcedOpen, generation: 1, failureCount: 0, successCount: 0,
                                  openUntil: nil, metrics: metrics)
        case .closed, nil:
            return CircuitBreaker(config: config, createdAt: time)
        }
    }
}
