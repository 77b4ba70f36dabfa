import BreakerStore

/// The committed breakers as a standby holds them, so that taking over reads only what changed
/// since: every breaker whose change number is at most `applied`, read from one database on one
/// timeline (`origin`). See DESIGN.md, "Hot standbys".
///
/// A value, kept by the daemon's election thread across its sessions and handed to the session
/// that takes the lease (`SharedPostgresStore.takeOver(with:)`).
public struct HotCopy: Sendable {
    /// Where the rows came from: the database's `breakerd_identity` (a replica has its primary's,
    /// an unrelated server another) and the timeline (a promoted replica starts a new one, and
    /// may lack the last changes its old primary committed).
    public struct Origin: Sendable, Hashable {
        public var database: String
        public var timeline: String
    }

    /// The breakers in the order first read (a later change replaces one in place), so the
    /// registry a takeover builds from them walks memory in order; `slots` finds one by name.
    public private(set) var breakers: [StoredBreaker] = []
    private var slots: [String: Int] = [:]
    /// Every change numbered up to this one is in `breakers` (0: none yet).
    public private(set) var applied: Int64 = 0
    public private(set) var origin: Origin?
    /// Whether the last catch-up read up to the newest committed change.
    public internal(set) var isCurrent = false

    public init() {}

    public var count: Int { breakers.count }

    /// Starts over if the copy came from anywhere but `origin`.
    mutating func resume(from origin: Origin) {
        guard self.origin != origin else { return }
        self = HotCopy()
        self.origin = origin
    }

    public subscript(name: String) -> StoredBreaker? { slots[name].map { breakers[$0] } }

    /// One changed row; a later change of the same breaker replaces the earlier.
    mutating func apply(_ breaker: StoredBreaker, change: Int64) {
        if let slot = slots[breaker.name] {
            breakers[slot] = breaker
        } else {
            slots[breaker.name] = breakers.count
            breakers.append(breaker)
        }
        applied = max(applied, change)
    }
}
