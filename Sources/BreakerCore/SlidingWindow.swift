/// The calls a CLOSED breaker has seen recently: how many, how many failed, how many were slow,
/// and which clients reported the bad ones (failed or slow), for the quorum rule.
///
/// Bounded memory and O(1) work per record: a count window is a ring of one byte per call
/// (at most `size`, filled lazily); a time window is one bucket per second (at most
/// `seconds`), rolled forward by `roll(to:)` in O(seconds elapsed, capped at the window).
/// Reporters are a map from client name to the position of its last bad call, capped at
/// `maxReporters`; a reporter past the cap is still counted as a failure, just not as a
/// distinct client (harmless: `min_reporters` is at most the cap, which is then already met).
///
/// Windows are not persisted: after a restart they start empty, like permits.
public struct SlidingWindow: Sendable, Hashable {
    public let spec: WindowSpec
    public private(set) var calls = 0
    public private(set) var failures = 0
    public private(set) var slowCalls = 0

    /// The most distinct reporters remembered per window.
    public static let maxReporters = 1_000

    private static let failedFlag: UInt8 = 1
    private static let slowFlag: UInt8 = 2

    /// Count window: one flag byte per call, oldest overwritten first.
    private var ring: [UInt8] = []
    private var ringNext = 0
    /// Count window: calls ever recorded, the position of reporters' calls.
    private var sequence: Int64 = 0
    /// Time window: per-second counts, indexed by second modulo `seconds`.
    private var buckets: [Bucket] = []
    /// Time window: the newest second the buckets cover.
    private var currentSecond: Int64?
    /// Reporter → position of its last bad call (sequence or milliseconds).
    private var lastBad: [String: Int64] = [:]

    struct Bucket: Sendable, Hashable {
        var calls = 0
        var failures = 0
        var slowCalls = 0
    }

    public init(_ spec: WindowSpec) {
        self.spec = spec
    }

    /// Failed calls as a percentage of calls; nil when the window is empty.
    public var failureRate: Double? { calls == 0 ? nil : Double(failures) * 100 / Double(calls) }
    /// Slow calls as a percentage of calls; nil when the window is empty.
    public var slowCallRate: Double? { calls == 0 ? nil : Double(slowCalls) * 100 / Double(calls) }

    /// Distinct clients behind the bad calls in the window, sorted.
    public var reporters: [String] { lastBad.filter { inWindow($0.value) }.keys.sorted() }
    public var reporterCount: Int { lastBad.values.reduce(0) { inWindow($1) ? $0 + 1 : $0 } }

    /// Adds `count` calls with the same outcome, reported by `reporter`, at `now`.
    public mutating func record(failed: Bool, slow: Bool, count: Int, reporter: String, at now: Timestamp) {
        let flags = (failed ? Self.failedFlag : 0) | (slow ? Self.slowFlag : 0)
        let position: Int64
        switch spec {
        case .count(let size):
            // Beyond `size` calls the record only evicts its own earlier copies.
            for _ in 0..<min(count, size) { push(flags, size: size) }
            sequence &+= Int64(count)
            position = sequence
        case .time(let seconds):
            roll(to: now)
            if buckets.isEmpty { buckets = Array(repeating: Bucket(), count: seconds) }
            let index = Self.index(currentSecond!, seconds)
            buckets[index].calls &+= count
            if failed { buckets[index].failures &+= count }
            if slow { buckets[index].slowCalls &+= count }
            add(flags, count)
            position = now.millisecondsSinceEpoch
        }
        if flags != 0 { noteBad(reporter, at: position) }
    }

    /// Drops the seconds that fell out of a time window by `now`. A clock that goes back
    /// counts into the current second.
    public mutating func roll(to now: Timestamp) {
        guard case .time(let seconds) = spec else { return }
        let second = Self.second(of: now)
        guard let current = currentSecond else {
            currentSecond = second
            return
        }
        guard second > current else { return }
        if second - current >= Int64(seconds) {
            if !buckets.isEmpty { buckets = Array(repeating: Bucket(), count: seconds) }
            (calls, failures, slowCalls) = (0, 0, 0)
        } else if !buckets.isEmpty {
            for expired in (current + 1)...second {
                let index = Self.index(expired, seconds)
                let bucket = buckets[index]
                calls &-= bucket.calls
                failures &-= bucket.failures
                slowCalls &-= bucket.slowCalls
                buckets[index] = Bucket()
            }
        }
        currentSecond = second
    }

    private mutating func push(_ flags: UInt8, size: Int) {
        if ring.count < size {
            ring.append(flags)
        } else {
            add(ring[ringNext], -1)
            ring[ringNext] = flags
        }
        add(flags, 1)
        ringNext = (ringNext + 1) % size
    }

    private mutating func add(_ flags: UInt8, _ count: Int) {
        calls &+= count
        if flags & Self.failedFlag != 0 { failures &+= count }
        if flags & Self.slowFlag != 0 { slowCalls &+= count }
    }

    private mutating func noteBad(_ reporter: String, at position: Int64) {
        if lastBad[reporter] == nil, lastBad.count >= Self.maxReporters {
            lastBad = lastBad.filter { inWindow($0.value) }  // only when full: O(cap)
            guard lastBad.count < Self.maxReporters else { return }
        }
        lastBad[reporter] = position
    }

    private func inWindow(_ position: Int64) -> Bool {
        switch spec {
        case .count(let size): position > sequence &- Int64(size)
        case .time(let seconds):
            position >= ((currentSecond ?? .min / 1000) &- Int64(seconds) &+ 1) &* 1000
        }
    }

    private static func second(of time: Timestamp) -> Int64 {
        let ms = time.millisecondsSinceEpoch
        return ms >= 0 ? ms / 1000 : (ms - 999) / 1000
    }

    private static func index(_ second: Int64, _ seconds: Int) -> Int {
        let n = Int64(seconds)
        return Int(((second % n) + n) % n)
    }
}
