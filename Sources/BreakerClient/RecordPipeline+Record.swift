import BreakerCore
import BreakerWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension RecordPipeline {
    /// One record on its way to the daemon: queued, in flight, or queued again after its
    /// connection failed.
    struct Record: Sendable {
        var entry: BreakerEntry
        var outcome: Outcome
        var count: Int
        var generation: UInt64?
        var permit: String?
        /// A `return-permit` for `permit` rather than an outcome (`count` is 0: no outcome).
        var returnsPermit = false
        /// Given when the record enters the queue, in queue order: the queue is kept sorted by
        /// it, so a record queued again after a failed connection goes back ahead of its
        /// breaker's later records. With the client's prefix it is also the dedupe key.
        var sequence: UInt64 = 0
        /// When it was first written (`MonotonicClock`), nil until then: resends stop
        /// `retryLimit` after it.
        var firstSent: UInt64?
        /// The client's epoch at the first write. A resend's reply may be the daemon's
        /// remembered answer to the first write, so it is only as fresh as that write.
        var epoch: UInt64 = 0
        /// Times written: more than 1 for a resend.
        var writes = 0
        /// The wall-clock second the record was made, which leads its dedupe key (`DedupeKeys`).
        var keySecond = DedupeKeys.currentSecond()

        init(entry: BreakerEntry, outcome: Outcome, count: Int, generation: UInt64?, permit: String? = nil) {
            self.entry = entry
            self.outcome = outcome
            self.count = count
            self.generation = generation
            self.permit = permit
        }

        /// A `return-permit` of a half-open trial's permit.
        init(returning permit: String, entry: BreakerEntry) {
            self.init(entry: entry, outcome: .success, count: 0, generation: nil, permit: permit)
            returnsPermit = true
        }

        /// A closed breaker's summed successes (a success without a permit: not a half-open
        /// trial): sent at most once, without a `dedupe` key, and never resent after its
        /// connection failed (`RecordPipeline`, "Successes at most once").
        var isSuccessAggregate: Bool { outcome == .success && permit == nil && !returnsPermit }

        /// The request, with the same `dedupe` key on every write of this record; none for a
        /// success aggregate (written once) or a `return-permit` (returning a permit twice finds
        /// it gone, `stale`).
        func command(keyPrefix: String) -> Command {
            if returnsPermit, let permit { return .returnPermit(breaker: entry.name, permit: permit) }
            let dedupe = isSuccessAggregate ? nil : DedupeKeys.key(second: keySecond, prefix: keyPrefix, sequence: sequence)
            return .record(RecordCommand(breaker: entry.name, outcome: outcome, count: count, permit: permit,
                                         generation: generation, dedupe: dedupe))
        }
    }
}

/// The `dedupe` keys of one client: `<second>-<16 hex digits, random per client>-<sequence in
/// base 36>`, at most 40 bytes of printable ASCII (the protocol allows 128). The random prefix
/// keeps two clients (or one restarted) from ever sharing a key within the daemon's window; the
/// sequence makes each record's key its own. The leading second (UTC, 8 hex digits: fixed
/// width, so keys sort by it) only orders keys: the daemon keeps remembered keys sorted by
/// breaker and key, and keys that all start with about the same time are added at the end of
/// each breaker's range, a few pages per commit, instead of at one place per client and
/// breaker (measured in BENCHMARKS.md, fleet). It is read from the wall clock, since keys of
/// different hosts are compared, and never used as a time.
enum DedupeKeys {
    static func randomPrefix() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits = String(generator.next() as UInt64, radix: 16)
        return String(repeating: "0", count: 16 - bits.count) + bits
    }

    static func key(second: UInt32, prefix: String, sequence: UInt64) -> String {
        let hex = String(second, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex + "-" + prefix + "-" + String(sequence, radix: 36)
    }

    static func currentSecond() -> UInt32 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt32(truncatingIfNeeded: now.tv_sec)
    }
}
