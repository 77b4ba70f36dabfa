/// A point on the daemon's timeline, in milliseconds since the Unix epoch (UTC).
///
/// The core never reads a clock: every method that depends on time takes a `Timestamp`.
/// The server derives it from a monotonic clock anchored to wall time at start-up, so
/// deadlines never jump with the wall clock while stored times stay meaningful across restarts.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// The timestamp `milliseconds` later, saturating instead of trapping on overflow.
    public func adding(milliseconds: Int64) -> Timestamp {
        let (sum, overflow) = millisecondsSinceEpoch.addingReportingOverflow(milliseconds)
        return Timestamp(millisecondsSinceEpoch: overflow ? .max : sum)
    }

    /// Milliseconds from `self` until `later`; zero when `later` is not after `self`.
    public func milliseconds(until later: Timestamp) -> Int64 {
        max(0, later.millisecondsSinceEpoch - millisecondsSinceEpoch)
    }

    public var description: String { "\(millisecondsSinceEpoch)ms" }
}

extension Duration {
    /// Whole milliseconds, truncated towards zero.
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
