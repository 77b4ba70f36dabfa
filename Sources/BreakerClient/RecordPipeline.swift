import BreakerCore
import BreakerWire
import NIOCore
import Synchronization

/// Gets outcomes to the daemon without making the caller wait.
///
/// - **Folding.** Successes of one breaker and generation within `foldWindow` become one
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
///
/// Records are at most once: one in flight when its connection dies is counted as lost, not
/// resent, since the daemon may have committed it. Lock order is entry → pipeline, never the
/// reverse.
final class RecordPipeline: Sendable {
    struct Record: Sendable {
        var entry: BreakerEntry
        var outcome: Outcome
        var count: Int
        var generation: UInt64?
        var permit: String?

        var command: Command {
            .record(RecordCommand(breaker: entry.name, outcome: outcome, count: count, permit: permit, generation: generation))
        }
    }

    private struct State {
        var queue = CircularBuffer<Record>()
        /// Entries that have (or recently had) an open fold.
        var folding: [ObjectIdentifier: BreakerEntry] = [:]
        /// When the next fold-closing flush is scheduled, if one is.
        var timerDue: UInt64?
        var kickPending = false
        var forceFolds = false
        var inFlight: [Int]
    }

    private let state: Mutex<State>
    private let loop: any EventLoop
    private let links: [DaemonLink]
    private let telemetry: ClientTelemetry
    private let window: UInt64
    private let maxQueued: Int
    private let maxInFlight: Int
    private let timeout: TimeAmount
    /// Called with each record reply: (entry, state, generation, epoch the record was sent in).
    private let onReply: @Sendable (BreakerEntry, BreakerState, UInt64, UInt64) -> Void
    private let currentEpoch: @Sendable () -> UInt64

    init(configuration: BreakerClient.Configuration, links: [DaemonLink], telemetry: ClientTelemetry,
         currentEpoch: @escaping @Sendable () -> UInt64,
         onReply: @escaping @Sendable (BreakerEntry, BreakerState, UInt64, UInt64) -> Void) {
        self.loop = configuration.eventLoopGroup.next()
        self.links = links
        self.telemetry = telemetry
        self.window = MonotonicClock.nanoseconds(configuration.foldWindow)
        self.maxQueued = max(1, configuration.maxQueuedRecords)
        self.maxInFlight = max(1, configuration.maxInFlightRecords)
        self.timeout = MonotonicClock.timeAmount(configuration.requestTimeout)
        self.currentEpoch = currentEpoch
        self.onReply = onReply
        self.state = Mutex(State(inFlight: Array(repeating: 0, count: links.count)))
    }

    /// A success following a CLOSED decision of `generation`: folded.
    @inline(__always)
    func success(_ entry: BreakerEntry, generation: UInt64, now: UInt64) {
        entry.state.withLock { s in
            if s.fold != nil, s.fold!.generation == generation, now < s.fold!.deadline, s.fold!.count < RecordCommand.maxCount {
                s.fold!.count &+= 1
                return
            }
            if let old = s.fold { append(Record(entry: entry, outcome: .success, count: old.count, generation: old.generation), urgent: false) }
            let deadline = now &+ window
            s.fold = Fold(generation: generation, count: 1, deadline: deadline)
            if !s.foldRegistered {
                s.foldRegistered = true
                register(entry, due: deadline, now: now)
            }
        }
    }

    /// A failure (with its generation) or a half-open trial (with its permit): sent at once,
    /// after the breaker's folded successes.
    func report(_ entry: BreakerEntry, _ outcome: Outcome, generation: UInt64?, permit: String?) {
        entry.state.withLock { s in
            if let old = s.fold {
                s.fold = nil
                append(Record(entry: entry, outcome: .success, count: old.count, generation: old.generation), urgent: false)
            }
            append(Record(entry: entry, outcome: outcome, count: 1, generation: generation, permit: permit), urgent: true)
        }
    }

    /// Records waiting or written but not yet acknowledged (folds still open not included).
    var pending: (queued: Int, inFlight: Int, folding: Int) {
        state.withLock { ($0.queue.count, $0.inFlight.reduce(0, +), $0.folding.count) }
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

    private func append(_ record: Record, urgent: Bool) {
        let (dropped, schedule) = state.withLock { st -> (Bool, Bool) in
            var dropped = false
            if st.queue.count >= maxQueued {
                st.queue.removeFirst()
                dropped = true
            }
            st.queue.append(record)
            guard urgent, !st.kickPending else { return (dropped, false) }
            st.kickPending = true
            return (dropped, true)
        }
        if dropped { telemetry.count(.recordsDropped) }
        if schedule { loop.execute { self.flush() } }
    }

    private func register(_ entry: BreakerEntry, due: UInt64, now: UInt64) {
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
        let now = MonotonicClock.now()
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
        let (batches, queued, reschedule) = state.withLock { st -> ([[Record]], Int, UInt64?) in
            var batches = Array(repeating: [Record](), count: links.count)
            var kept = CircularBuffer<Record>(initialCapacity: st.queue.count)
            for record in st.queue {
                let link = record.entry.recordLink
                if connections[link] != nil, st.inFlight[link] < maxInFlight {
                    batches[link].append(record)
                    st.inFlight[link] += 1
                } else {
                    kept.append(record)
                }
            }
            st.queue = kept
            var reschedule: UInt64?
            if let due = nextDue, st.timerDue.map({ due < $0 }) ?? true {
                st.timerDue = due
                reschedule = due
            }
            return (batches, kept.count, reschedule)
        }
        if let due = reschedule { scheduleFlush(at: due, now: now) }
        telemetry.queued.record(queued)
        for (link, batch) in batches.enumerated() where !batch.isEmpty {
            guard let connection = connections[link] else { continue }
            send(batch, on: connection, link: link)
        }
    }

    private func send(_ batch: [Record], on connection: DaemonConnection, link: Int) {
        let epoch = currentEpoch()
        let futures = connection.send(batch: batch.map(\.command), timeout: timeout)
        telemetry.count(.recordsSent, by: batch.count)
        telemetry.count(.outcomesSent, by: batch.reduce(0) { $0 + $1.count })
        for (record, future) in zip(batch, futures) {
            future.whenComplete { result in
                let more = self.state.withLock { st -> Bool in
                    st.inFlight[link] -= 1
                    return !st.queue.isEmpty
                }
                switch result {
                case .success(.recorded(let state, let generation, _)):
                    self.telemetry.count(.recordsAcknowledged)
                    self.onReply(record.entry, state, generation, epoch)
                case .success:
                    self.telemetry.count(.recordsLost)  // cannot happen: the handler checks the kind
                case .failure(let error as BreakerClientError) where !error.isTransportFailure:
                    self.telemetry.count(.recordsRejected)
                case .failure:
                    self.telemetry.count(.recordsLost)
                }
                if more { self.kick() }
            }
        }
    }
}
