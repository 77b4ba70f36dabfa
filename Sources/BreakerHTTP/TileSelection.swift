import BreakerCore
import BreakerServer
import BreakerWire

/// The page's first screen, chosen by the daemon (`GET /api/breakers?limit=N&prefix=…&state=…&sort=…`):
/// the breakers the page would show first, without the browser fetching and parsing all of them
/// and without the daemon copying and encoding all of them (it chooses from `BreakerRegistry.glance()`).
///
/// The order is the page's (`selection()` in status.js) before it has seen any activity:
/// `activity` puts breakers that are not closed first, then the closed ones, each by name;
/// `name` is by name; `change` is the most recent state change first (ties by name).
struct TileSelection {
    enum Sort: String { case activity, name, change }

    var limit: Int
    var prefix: String
    var state: BreakerState?
    var sort: Sort

    struct Screen {
        /// The names to show, in order.
        var chosen: [String]
        /// Breakers matching the prefix and state.
        var matching: Int
        /// Every breaker, and how many are in each state.
        var total: Int
        var states: [BreakerState: Int]
    }

    func choose(from glances: [BreakerGlance]) -> Screen {
        var states: [BreakerState: Int] = [:]
        var matching = 0
        let byName: (BreakerGlance, BreakerGlance) -> Bool = { $0.name < $1.name }
        var first = TopK<BreakerGlance>(limit, by: sort == .change
            ? { $0.lastStateChange != $1.lastStateChange ? $0.lastStateChange > $1.lastStateChange : $0.name < $1.name }
            : byName)
        var troubled = TopK<BreakerGlance>(sort == .activity ? limit : 0, by: byName)
        for glance in glances {
            states[glance.state, default: 0] += 1
            guard glance.name.hasPrefix(prefix), state.map({ $0 == glance.state }) ?? true else { continue }
            matching += 1
            if sort == .activity && glance.state != .closed { troubled.offer(glance) } else { first.offer(glance) }
        }
        let chosen = (troubled.best + first.best).prefix(limit).map(\.name)
        return Screen(chosen: chosen, matching: matching, total: glances.count, states: states)
    }

    /// From the query of `/api/breakers`; nil without `limit` (then the whole list is the answer).
    static func parse(_ query: [String: String]) -> Result<TileSelection, WireError>? {
        guard let limitText = query["limit"] else { return nil }
        guard let limit = Int(limitText), (1...1000).contains(limit) else {
            return .failure(WireError(.badRequest, "limit must be 1...1000"))
        }
        var state: BreakerState?
        if let text = query["state"], !text.isEmpty {
            guard let parsed = BreakerState(wireName: text) else { return .failure(WireError(.badRequest, "unknown state '\(text)'")) }
            state = parsed
        }
        guard let sort = Sort(rawValue: query["sort"] ?? "activity") else {
            return .failure(WireError(.badRequest, "sort must be activity, name or change"))
        }
        return .success(TileSelection(limit: limit, prefix: query["prefix"] ?? "", state: state, sort: sort))
    }
}

/// The `k` first elements of a sequence offered one at a time, in order: a sorted array of at most
/// `k`, so choosing 60 of 100,000 costs a comparison each and a few hundred insertions.
struct TopK<Element> {
    private(set) var best: [Element] = []
    private let k: Int
    private let before: (Element, Element) -> Bool

    init(_ k: Int, by before: @escaping (Element, Element) -> Bool) {
        self.k = k
        self.before = before
        best.reserveCapacity(k + 1)
    }

    mutating func offer(_ element: Element) {
        guard k > 0 else { return }
        if best.count == k, let last = best.last, !before(element, last) { return }
        var lo = 0, hi = best.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if before(best[mid], element) { lo = mid + 1 } else { hi = mid }
        }
        best.insert(element, at: lo)
        if best.count > k { best.removeLast() }
    }
}
