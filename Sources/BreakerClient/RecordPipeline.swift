import BreakerCore
import BreakerWire
import NIOCore
import BreakerSync

/// Gets outcomes to the daemon without making the caller wait.
///
/// - **Folding.** Successes of one breaker and generation within `successFlush` become one
///   `record-success` with `count`, counted under the breaker's own lock (`Fold` in
///   `EntryState`), so the common case costs one uncontended lock and no wake-up.
/// - **Failures are never folded.** A failure closes the breaker's open fold (so the daemon
///   still sees the successes before it, in order) and is queued for sending at once. Folding
///   failures would save bytes only while a dependency is failing, which is exactly when the
///   daemon must hear of every failure without delay: a failure held back for a window could
///   open the breaker late, on every replica. Their volume is self-limiting anyway (the
///   breaker opens after `failure_threshold`). Half-open trials carry a permit and are one
///   record each, as the protocol requires.
/// - **Bounded.** Records wait in one queue of at most `maxQueuedRecords`; when it is full the
///   oldest is dropped and counted. At most `maxInFlightRecords` per connection are written
///   and unacknowledged. Memory stays bounded however long the daemon is away.
/// - **Ordered per breaker.** A breaker's records always use the same connection, and a fold is
///   always newer than everything of its breaker already queued.
/// - **Resent, counted once.** Every record but a success aggregate (below) carries a `dedupe`
///   key of its own (see `DedupeKeys`). A record whose connection fails (closed, timed out,
///   garbled) before its reply came may or may not have been counted, so it is queued again, back in its place by
///   `sequence`, and written again with the same key on the next connection; the daemon counts
///   a key once and answers a repeat as it answered the first. A link writes nothing on a new
///   connection until every record still in flight on the old one has come back, so a resend
///   can never be overtaken by its breaker's later records. A record is resent for at most
///   `recordRetryLimit` after its first write (well inside the daemon's dedupe window, past which a
///   resend would count twice), then counted as lost. An error reply is an answer: never resent.
///   A `not_leader` refusal counted nothing: every record of it goes to the leader.
/// - **Successes at most once.** A closed breaker's summed successes (a success record without
///   a permit; not a half-open trial) carry no `dedupe` key, and when their connection fails
///   before the reply they are dropped (`recordsLost`, their successes in `successesLost`),
///   never resent. Such a loss can only make a breaker trip sooner (a consecutive-failure
///   streak not reset, a failure rate a little higher for one window), never later, and only
///   while a connection fails. A remembered key costs the daemon about 7 µs (its table, a row
///   in the commit's transaction, pruning), most of a healthy fleet's daemon CPU, and one key
///   per breaker and replica every `successFlush` does not fit its `--max-dedupe-keys` at
///   fleet scale (BENCHMARKS.md, fleet). On a healthy connection order is kept as before: a
///   breaker's failure is queued after its successes and goes on the same connection.
///
/// Lock order is entry → pipeline, never the reverse.
final class RecordPipeline: Sendable {
    struct State {
        /// Sorted by `sequence`.
        var queue = CircularBuffer<Record>()
        var nextSequence: UInt64 = 0
        /// Entries that have (or recently had) an open fold.
        var folding: [ObjectIdentifier: BreakerEntry] = [:]
        /// When the next flush that closes folds or gives up on resends is scheduled, if one is.
        var timerDue: UInt64?
        var kickPending = false
        var forceFolds = false
        var inFlight: [Int]
        /// Per link, the connection its in-flight records were written on (held, not just its
        /// address: a new connection must never pass for the old one).
        var writtenOn: [DaemonConnection?]
    }

    let state: Mutex<State>
    private let loop: any EventLoop
    let links: [DaemonLink]
    let telemetry: ClientTelemetry
    let window: UInt64
    private let maxQueued: Int
    private let maxInFlight: Int
    let timeout: TimeAmount
    private let retryLimit: UInt64
    let keyPrefix = DedupeKeys.randomPrefix()
    private let clock: BreakerClient.Clock
    private let idle = Waiters<Bool>()
    /// Called with each record reply: (entry, state, generation, epoch the record was sent in).
    let onReply: @Sendable (BreakerEntry, BreakerState, UInt64, UInt64) -> Void
    private let currentEpoch: @Sendable () -> UInt64

    init(configuration: BreakerClient.Configuration, links: [DaemonLink], telemetry: ClientTelemetry,
         currentEpoch: @escaping @Sendable () -> UInt64,
         onReply: @escaping @Sendable (BreakerEntry, BreakerState, UInt64, UInt64) -> Void) {
        self.loop = configuration.eventLoopGroup.next()
        self.clock = configuration.clock
        self.links = links
        self.telemetry = telemetry
        self.window = MonotonicClock.nanoseconds(configuration.successFlush)
        self.maxQueued = max(1, configuration.maxQueuedRecords)
        self.maxInFlight = max(1, configuration.maxInFlightRecords)
        self.timeout = MonotonicClock.timeAmount(configuration.requestTimeout)
        self.retryLimit = MonotonicClock.nanoseconds(configuration.recordRetryLimit)
        self.currentEpoch = currentEpoch
        self.onReply = onReply
        self.state = Mutex(State(inFlight: Array(repeating: 0, count: links.count),
                                writtenOn: Array(repeating: nil, count: links.count)))
    }

    /// Records waiting or written but not yet acknowledged (folds still open not included).
    var pending: (queued: Int, inFlight: Int, folding: Int) {
        state.withLock { ($0.queue.count, $0.inFlight.reduce(0, +), $0.folding.count) }
    }

    /// Waits until nothing is queued, in flight or folding, for at most `timeout`; false if
    /// something still is. Woken by the acknowledgement that empties the pipeline, not by polling.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        await idle.wait(timeout: timeout, on: loop) { isIdle ? true : nil } ?? false
    }

    private var isIdle: Bool { pending == (0, 0, 0) }

    func wakeWaitersIfIdle() {
        if isIdle { idle.resumeAll(true) }
    }

    /// Sends what can be sent now, soon, on the pipeline's event loop.
    func kick() {
        let schedule = state.withLock { st -> Bool in
            guard !st.kickPending else { return false }
            st.kickPending = true
            return true
        }
        if schedule { loop.execute { self.flush() } }
    }

    /// Closes every fold now (for `BreakerClient.flush()`), or lets them follow their window again.
    func forceFolds(_ force: Bool) {
        state.withLock { $0.forceFolds = force }
        if force { kick() }
    }

    /// Queues `record`; an urgent one is sent at once, others with the next flush.
    func append(_ record: Record, urgent: Bool) {
        var record = record
        let (dropped, schedule) = state.withLock { st -> (Bool, Bool) in
            var dropped = false
            if st.queue.count >= maxQueued {
                st.queue.removeFirst()
                dropped = true
            }
            record.sequence = st.nextSequence
            st.nextSequence += 1
            st.queue.append(record)
            guard urgent, !st.kickPending else { return (dropped, false) }
            st.kickPending = true
            return (dropped, true)
        }
        if dropped { telemetry.count(.recordsDropped) }
        if schedule { loop.execute { self.flush() } }
    }

    func register(_ entry: BreakerEntry, due: UInt64, now: UInt64) {
        let schedule = state.withLock { st -> Bool in
            st.folding[ObjectIdentifier(entry)] = entry
            if let timerDue = st.timerDue, timerDue <= due { return false }
            st.timerDue = due
            return true
        }
        if schedule { scheduleFlush(at: due, now: now) }
    }

    private func scheduleFlush(at due: UInt64, now: UInt64) {
        let delay = due > now ? due - now : 0
        loop.scheduleTask(in: .nanoseconds(Int64(clamping: delay))) { self.flush() }
    }

    /// Runs on `loop`: queues folds whose window closed, then writes every queued record whose
    /// connection is ready and has room, one batch (one flush) per connection.
    private func flush() {
        let now = clock.now()
        let (entries, force) = state.withLock { st in
            st.kickPending = false
            st.timerDue = nil
            return (Array(st.folding.values), st.forceFolds)
        }
        var nextDue: UInt64?
        for entry in entries {
            entry.state.withLock { s in
                if let fold = s.fold, force || fold.deadline <= now {
                    s.fold = nil
                    append(Record(entry: entry, outcome: .success, count: fold.count, generation: fold.generation), urgent: false)
                }
                if let fold = s.fold {
                    nextDue = min(nextDue ?? .max, fold.deadline)
                } else {
                    s.foldRegistered = false
                    state.withLock { _ = $0.folding.removeValue(forKey: ObjectIdentifier(entry)) }
                }
            }
        }
        let connections = links.map(\.connection)
        let epoch = currentEpoch()
        let (batches, queued, expired, reschedule) = state.withLock { st -> ([[Record]], Int, Int, UInt64?) in
            var batches = Array(repeating: [Record](), count: links.count)
            // A link with records still in flight on an older connection waits for them to come
            // back (answered, or failed and queued again), so none is overtaken.
            let ready = connections.enumerated().map { link, connection -> Bool in
                guard let connection, connection.isActive else { return false }
                if st.inFlight[link] > 0, st.writtenOn[link] !== connection { return false }
                st.writtenOn[link] = connection
                return true
            }
            var kept = CircularBuffer<Record>(initialCapacity: st.queue.count)
            var expired = 0
            var nextExpiry: UInt64?
            for var record in st.queue {
                if let first = record.firstSent {
                    guard now &- first < retryLimit else {
                        expired += 1
                        continue
                    }
                }
                let link = record.entry.recordLink
                if ready[link], st.inFlight[link] < maxInFlight {
                    if record.firstSent == nil { (record.firstSent, record.epoch) = (now, epoch) }
                    record.writes += 1
                    batches[link].append(record)
                    st.inFlight[link] += 1
                } else {
                    if let first = record.firstSent { nextExpiry = min(nextExpiry ?? .max, first &+ retryLimit) }
                    kept.append(record)
                }
            }
            st.queue = kept
            var reschedule: UInt64?
            let due = [nextDue, nextExpiry].compactMap { $0 }.min()
            if let due, st.timerDue.map({ due < $0 }) ?? true {
                st.timerDue = due
                reschedule = due
            }
            return (batches, kept.count, expired, reschedule)
        }
        if let due = reschedule { scheduleFlush(at: due, now: now) }
        if expired > 0 { telemetry.count(.recordsLost, by: expired) }
        telemetry.queued.record(queued)
        for (link, batch) in batches.enumerated() where !batch.isEmpty {
            guard let connection = connections[link] else { continue }
            send(batch, on: connection, link: link)
        }
        wakeWaitersIfIdle()
    }

    /// A record whose connection failed before its reply: a success aggregate is given up
    /// (lost, never resent), anything else queued again (`requeue`). True if queued again.
    func connectionFailed(_ record: Record) -> Bool {
        guard record.isSuccessAggregate else { return requeue(record) }
        telemetry.count(.recordsLost)
        telemetry.count(.successesLost, by: record.count)
        return false
    }

    /// Puts a record whose connection failed back in the queue, in its place; counts it lost
    /// past `retryLimit`. Called before its in-flight slot is released, so no flush can send the
    /// link's later records on a new connection before it is back in the queue.
    func requeue(_ record: Record) -> Bool {
        let now = clock.now()
        guard let first = record.firstSent, now &- first < retryLimit else {
            telemetry.count(.recordsLost)
            return false
        }
        let (dropped, schedule) = state.withLock { st -> (Bool, UInt64?) in
            var low = st.queue.startIndex, high = st.queue.endIndex
            while low < high {
                let mid = st.queue.index(low, offsetBy: st.queue.distance(from: low, to: high) / 2)
                if st.queue[mid].sequence < record.sequence { low = st.queue.index(after: mid) } else { high = mid }
            }
            st.queue.insert(record, at: low)
            var dropped = false
            if st.queue.count > maxQueued {
                st.queue.removeFirst()
                dropped = true
            }
            let expiry = first &+ retryLimit
            guard st.timerDue.map({ expiry < $0 }) ?? true else { return (dropped, nil) }
            st.timerDue = expiry
            return (dropped, expiry)
        }
        if dropped { telemetry.count(.recordsDropped) }
        if let due = schedule { scheduleFlush(at: due, now: now) }
        return true
    }
}
