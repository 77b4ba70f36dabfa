import BreakerStore
import BreakerWire
import Dispatch
import Logging
import NIOCore

/// Running one request line: the hot ops straight into the reply buffer, the rest through the
/// general decoder and the registry, `list` off the event loop.
extension ConnectionHandler {
    /// One request line, without its terminator.
    func handle(_ bytes: UnsafeRawBufferPointer) {
        // Hot ops in their canonical form skip the JSONValue tree; anything else, errors
        // included, goes through the general decoder (HotRequestDecoder documents the subset).
        if let hot = HotRequestDecoder.decodeHot(bytes) {
            switch hot.op {
            case .shouldAttempt: decide(hot.breaker, id: hot.id)
            case .recordSuccess: record(hot.record!, id: hot.id, op: Self.recordSuccessOp)
            case .recordFailure: record(hot.record!, id: hot.id, op: Self.recordFailureOp)
            }
            return
        }
        switch RequestDecoder.decode(bytes) {
        case .failure(let failure):
            registry.metrics.request(nil, failure.error.code)  // metrics hook
            slots.append(ReplyEncoder.encode(failure.error, id: failure.id))
        case .success(let request):
            run(request)
        }
    }

    /// `should-attempt`, as `run` would do it (no auth needed, `execute` → `shouldAttempt`)
    /// without building a `Request`, an `Execution` or a `Reply`, and encoded into the
    /// connection's reused writer rather than an array of its own.
    func decide(_ name: String, id: JSONValue?) {
        guard let decision = registry.decide(name) else {
            let error = registry.overloaded(name)
            registry.metrics.request(Self.shouldAttemptOp, error.code)  // metrics hook
            slots.append(ReplyEncoder.encode(error, id: id))
            return
        }
        registry.metrics.decisionAnswered()  // metrics hook: request("should-attempt", nil)
        ReplyEncoder.encodeDecision(decision, id: id, into: &scratch)
        appendReady(scratch.bytes)
    }

    private static let shouldAttemptOp = "should-attempt"
    private static let recordSuccessOp = "record-success"
    private static let recordFailureOp = "record-failure"

    /// A record without `dedupe` or `permit`, as `run` would do it (no auth needed, `execute` →
    /// `record`, answered after the commit) without the `Request`/`Execution`/`Reply` copies.
    /// Its reply waits in `batch` with the other records of the same read, which one commit
    /// acknowledges together (`submitRecords`).
    func record(_ record: RecordCommand, id: JSONValue?, op: String) {
        switch registry.recordOutcome(record, reporter: reporter) {
        case .failure(let error):
            registry.metrics.request(op, error.code)  // metrics hook
            slots.append(ReplyEncoder.encode(error, id: id))
        case .success(let recorded):
            batch.records.append(PendingRecord(sequence: headSequence + slots.count, op: op, recorded: recorded, id: id))
            batch.names.append(record.breaker)
            slots.append(nil)
        }
    }

    /// Asks for one commit of every breaker the records just run changed; when it is done, their
    /// replies fill their slots on this connection's thread in one task. Called once the lines of
    /// a read have run, so a pipelining client costs one hand-off per read, not one per record.
    func submitRecords() {
        guard !batch.records.isEmpty, let transport else { return }
        let records = batch.records
        let names = batch.names
        batch = RecordBatch()
        let hop = HandlerHop(self, executor: transport.executor)
        registry.whenCommitted(names) { result in
            hop.hop { $0.recorded(records, result) }
        }
    }

    func recorded(_ records: [PendingRecord], _ result: Result<Void, StoreError>) {
        for record in records {
            registry.metrics.request(record.op, result)  // metrics hook
            let bytes: [UInt8]
            switch result {
            case .success:
                bytes = ReplyEncoder.encodeRecorded(state: record.recorded.state, generation: record.recorded.generation,
                                                    stale: record.recorded.stale, id: record.id)
            case .failure(let error):
                bytes = ReplyEncoder.encode(WireError(.internal, "change not persisted: \(error.message)"), id: record.id)
            }
            setSlot(record.sequence, bytes)
        }
        afterFill()
    }

    /// A reply ready now: straight into the outgoing buffer when nothing is queued before it
    /// (what `drain` would do with it at once), else into its slot.
    func appendReady(_ bytes: [UInt8]) {
        guard slots.isEmpty, !closeWhenDrained, let transport, transport.isWritable else {
            slots.append(bytes)
            return
        }
        if pendingOut == nil { pendingOut = Self.allocator.buffer(capacity: max(bytes.count, 1024)) }
        pendingOut!.writeBytes(bytes)
        headSequence += 1
    }

    func run(_ request: Request) {
        if case .watch(let prefix) = request.command {
            startWatching(prefix: prefix)
            registry.metrics.request(request.command.op, nil)  // metrics hook
            slots.append(ReplyEncoder.encode(.watching, id: request.id))
            return
        }
        if case .hello(let client) = request.command {
            reporter = client
            registry.metrics.request(request.command.op, nil)  // metrics hook
            slots.append(ReplyEncoder.encode(.hello, id: request.id))
            return
        }
        if case .auth(let token) = request.command {
            let (bytes, error) = authenticate(token, id: request.id)
            registry.metrics.request(request.command.op, error)  // metrics hook
            slots.append(bytes)
            return
        }
        if case .list(let prefix) = request.command {
            registry.metrics.request(request.command.op, nil)  // metrics hook
            startList(prefix: prefix, id: request.id)
            return
        }
        if request.command.isAdminChange, adminTokens != nil, actor == nil {
            let error = WireError(.unauthorized, "\(request.command.op) needs an admin token: breakerctl takes it from BREAKERD_TOKEN or --token-file; a protocol client sends {\"op\":\"auth\",\"token\":…} first")
            registry.metrics.request(request.command.op, error.code)  // metrics hook
            slots.append(ReplyEncoder.encode(error, id: request.id))
            return
        }
        let execution = registry.execute(request.command, actor: actor ?? (adminTokens == nil ? "anonymous" : nil),
                                         reporter: reporter)
        registry.metrics.request(request.command.op, execution)  // metrics hook (after-commit ones count below)
        switch execution {
        case .reply(let reply):
            slots.append(ReplyEncoder.encode(reply, id: request.id))
        case .error(let error):
            slots.append(ReplyEncoder.encode(error, id: request.id))
        case .history(let breaker, let limit):
            let fill = deferredSlot()
            let id = request.id
            registry.history(breaker, limit: limit) { result in
                switch result {
                case .success(let entries): fill(ReplyEncoder.encode(.history(entries), id: id))
                case .failure(let error): fill(ReplyEncoder.encode(WireError(.internal, "cannot read history: \(error.message)"), id: id))
                }
            }
        case .afterCommit(let reply, let breaker):
            let fill = deferredSlot()
            let id = request.id
            let (metrics, op) = (registry.metrics, request.command.op)
            registry.whenCommitted(breaker) { result in
                metrics.request(op, result)  // metrics hook
                let bytes: [UInt8]
                switch result {
                case .success: bytes = ReplyEncoder.encode(reply, id: id)
                case .failure(let error):
                    bytes = ReplyEncoder.encode(WireError(.internal, "change not persisted: \(error.message)"), id: id)
                }
                fill(bytes)
            }
        }
    }

    /// `list` walks every breaker (a million of them, perhaps) and encodes them all: that runs on
    /// `listQueue`, not on the event loop that serves this and other connections. Its reply
    /// takes a slot like a commit-waiting reply; until it is filled, this connection runs
    /// nothing else (see `listing`), so the list neither misses nor includes later requests.
    func startList(prefix: String?, id: JSONValue?) {
        guard let transport else { return }
        let sequence = headSequence + slots.count
        slots.append(nil)
        listing = true
        let registry = self.registry
        let hop = HandlerHop(self, executor: transport.executor)
        Self.listQueue.async {
            let bytes = ReplyEncoder.encode(.list(registry.list(prefix: prefix)), id: id)
            hop.hop { $0.listed(sequence, bytes) }
        }
    }

    /// Lists run here, one at a time, whichever connection asks.
    private static let listQueue = DispatchQueue(label: "breakerd.list")

    func listed(_ sequence: Int, _ bytes: [UInt8]) {
        listing = false
        guard transport != nil else {
            unread = nil
            return
        }
        fill(sequence, bytes)
        // What was read meanwhile, in order, until it lists again.
        if inputEnded { finishInput() } else { runUnread() }
        drain(flush: false)
        updateReading()
    }

    /// Takes the next slot and returns the function (callable from any thread) that fills it.
    func deferredSlot() -> @Sendable ([UInt8]) -> Void {
        let sequence = headSequence + slots.count
        slots.append(nil)
        let hop = HandlerHop(self, executor: transport!.executor)
        return { bytes in hop.hop { $0.fill(sequence, bytes) } }
    }

    /// A wrong token also ends an earlier authentication, so a connection never keeps rights
    /// after a failed attempt.
    func authenticate(_ token: String, id: JSONValue?) -> ([UInt8], ErrorCode?) {
        guard let adminTokens else { return (ReplyEncoder.encode(.authenticated(name: "anonymous"), id: id), nil) }
        actor = adminTokens.authenticate(token)
        guard let actor else {
            logger.warning("admin authentication failed", metadata: ["code": "unauthorized"])
            return (ReplyEncoder.encode(WireError(.unauthorized, "invalid admin token"), id: id), .unauthorized)
        }
        return (ReplyEncoder.encode(.authenticated(name: actor), id: id), nil)
    }

    func startWatching(prefix: String?) {
        guard let transport else { return }
        if watching { registry.unwatch(ObjectIdentifier(self)) }
        watching = true
        let hop = HandlerHop(self, executor: transport.executor)
        registry.watch(ObjectIdentifier(self), prefix: prefix) { line in
            hop.hop { $0.push(line) }
        }
    }
}
