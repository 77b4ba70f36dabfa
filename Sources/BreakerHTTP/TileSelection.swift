import BreakerCore
import BreakerWire

/// The page's first screen, chosen by the daemon (`GET /api/breakers?limit=N&prefix=…&state=…&sort=…`):
/// the breakers the page would show first, without the browser fetching and parsing all of them.
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
        var chosen: [BreakerView]
        /// Breakers matching the prefix and state.
        var matching: Int
        /// Every breaker, and how many are in each state.
        var total: Int
        var states: [BreakerState: Int]
    }

    /// `views` sorted by name, as `BreakerRegistry.snapshot()` returns them.
    func choose(from views: [BreakerView]) -> Screen {
        var states: [BreakerState: Int] = [:]
        var matching: [BreakerView] = []
        var troubled: [BreakerView] = []
        var count = 0
        for view in views {
            states[view.breaker.state, default: 0] += 1
            guard view.name.hasPrefix(prefix), state.map({ $0 == view.breaker.state }) ?? true else { continue }
            count += 1
            switch sort {
            case .name: if matching.count < limit { matching.append(view) }
            case .change: matching.append(view)
            case .activity:
                if view.breaker.state != .closed {
                    if troubled.count < limit { troubled.append(view) }
                } else if matching.count < limit {
                    matching.append(view)
                }
            }
        }
        let chosen: [BreakerView] = switch sort {
        case .name: matching
        case .activity: Array((troubled + matching).prefix(limit))
        case .change:
            Array(matching.sorted {
                let (a, b) = ($0.breaker.metrics.lastStateChange, $1.breaker.metrics.lastStateChange)
                return a != b ? a > b : $0.name < $1.name
            }.prefix(limit))
        }
        return Screen(chosen: chosen, matching: count, total: views.count, states: states)
    }

    /// From the query of `/api/breakers`; nil without `limit` (then the whole list is the answer).
    static func parse(_ query: [String: String]) -> Result<TileSelection, WireError>? {
        guard let limitText = query["limit"] else { return nil }
        guard let limit = Int(limitText), (1...1000).contains(limit) else { return .failure(WireError(.badRequest, "limit must be 1...1000")) }
        var state: BreakerState?
        if let text = query["state"], !text.isEmpty {
            guard let parsed = BreakerState(wireName: text) else { return .failure(WireError(.badRequest, "unknown state '\(text)'")) }
            state = parsed
        }
        guard let sort = Sort(rawValue: query["sort"] ?? "activity") else { return .failure(WireError(.badRequest, "sort must be activity, name or change")) }
        return .success(TileSelection(limit: limit, prefix: query["prefix"] ?? "", state: state, sort: sort))
    }
}
