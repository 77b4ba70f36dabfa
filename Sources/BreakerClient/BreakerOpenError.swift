import BreakerCore

/// Thrown instead of calling the dependency: the breaker said no.
///
/// It is an error (not a return value) so that `run { }` reads like the call it guards, and so
/// that the caller's own error handling (a fallback page, a cached value) sees it in one place.
/// Never retry it: the retry helper does not, since retrying a rejection only adds load to a
/// dependency the breaker is protecting.
public struct BreakerOpenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Who made the decision, so logs and dashboards can tell a real open breaker from a
    /// daemon that is away.
    public enum Source: String, Sendable, Hashable {
        /// breakerd said no (directly, from a cached answer, or from a pushed transition).
        case daemon
        /// The in-process fallback breaker said no while breakerd was unreachable.
        case local
        /// breakerd was unreachable and the client is configured `.failClosed`.
        case failClosed = "fail_closed"
    }

    /// The breaker that rejected the call.
    public var name: String
    /// The breaker's state as the decider saw it; `.open` for `.failClosed`.
    public var state: BreakerState
    /// When asking again may succeed; nil when nobody knows (`.failClosed`, or an open breaker
    /// learnt of by a pushed transition).
    public var retryAfter: Duration?
    /// Who decided.
    public var source: Source

    /// A rejection of a call to `name`.
    public init(name: String, state: BreakerState, retryAfter: Duration?, source: Source) {
        self.name = name
        self.state = state
        self.retryAfter = retryAfter
        self.source = source
    }

    /// One line for logs.
    public var description: String {
        let retry = retryAfter.map { ", retry after \($0)" } ?? ""
        return "breaker '\(name)' is \(state.wireName) (decided by \(source.rawValue)\(retry))"
    }
}
