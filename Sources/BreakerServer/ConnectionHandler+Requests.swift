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
        // included, goes through the general decoder. Both produce the same `Request`.
        if let hot = HotRequestDecoder.decode(bytes) { return run(hot) }
        switch RequestDecoder.decode(bytes) {
        case .success(let decoded): run(decoded)
        case .failure(let failure):
            machine.reply(answer(failure.op, .failure(failure.error), id: failure.id), isWritable: isWritable)
        }
    }

    /// Carries out what the registry makes of `request`.
    private func run(_ request: Request) {
        let op = request.command.op
        switch registry.handle(request.command, caller: caller) {
        case .reply(let reply):
            machine.reply(answer(op, reply, id: request.id), isWritable: isWritable)
        case .error(let error):
            machine.reply(answer(op, .failure(error), id: request.id), isWritable: isWritable)
        case .replyAfterCommit(let reply, let scope):
            batch.replies.append(PendingReply(sequence: machine.reserve(), op: op, reply: reply, id: request.id))
            batch.scope.formUnion(scope)
        case .readHistory(let breaker, let limit):
            let fill = deferredSlot(op, id: request.id)
            registry.history(breaker, limit: limit) { result in
                fill(result.map { .history($0) }.mapError { WireError(.internal, "cannot read history: \($0.message)") })
            }
        case .list(let prefix):
            startList(prefix: prefix, id: request.id)
        case .connectionOp(let connectionOp):
            machine.reply(answer(op, perform(connectionOp), id: request.id), isWritable: isWritable)
        }
    }

    /// The one place a reply is counted (`breakerd_requests_total`, by the op the line named)
    /// and encoded. Decisions and records, the hot replies, have encoders of their own that
    /// write the same bytes without building a `JSONValue`.
    func answer(_ op: Op?, _ result: Result<Reply, WireError>, id: JSONValue?) -> [UInt8] {
        Self.answer(op, result, id: id, metrics: registry.metrics, scratch: &scratch)
    }

    /// `answer` for a success, without wrapping it in a `Result` first (the hot path; inlined,
    /// so a decision is encoded without being copied out of a `Reply`).
    @inline(__always)
    func answer(_ op: Op, _ reply: Reply, id: JSONValue?) -> [UInt8] {
        Self.answer(op, reply, id: id, metrics: registry.metrics, scratch: &scratch)
    }

    /// `answer` for work done off the connection's thread (`list`), with a writer of its own.
    static func answer(_ op: Op?, _ result: Result<Reply, WireError>, id: JSONValue?, metrics: ServerMetrics,
                       scratch: inout JSONWriter) -> [UInt8] {
        switch result {
        case .success(let reply):
            return answer(op, reply, id: id, metrics: metrics, scratch: &scratch)
        case .failure(let error):
            metrics.request(op, error.code)
            return ReplyEncoder.encode(error, id: id)
        }
    }

    @inline(__always)
    static func answer(_ op: Op?, _ reply: Reply, id: JSONValue?, metrics: ServerMetrics,
                       scratch: inout JSONWriter) -> [UInt8] {
        metrics.request(op, nil)
        switch reply {
        case .decision(let decision):
            ReplyEncoder.encodeDecision(decision, id: id, into: &scratch)
            return scratch.bytes
        case .recorded(let state, let generation, let stale):
            return ReplyEncoder.encodeRecorded(state: state, generation: generation, stale: stale, id: id)
        default:
            return ReplyEncoder.encode(reply, id: id)
        }
    }

    /// Hands the replies of the lines just run, which wait for their commit, to the transport's
    /// `CommitCoalescer`: one commit request per turn of the event loop for all its connections.
    func submitCommits() {
        guard !batch.replies.isEmpty, let transport else { return }
        let replies = batch.replies
        let scope = batch.scope
        batch = CommitBatch()
        transport.commits.add(self, replies, scope: scope, executor: transport.executor)
    }

    /// Fills `replies` once their commit is done (or failed); `flushFilled` writes them.
    func committed(_ replies: [PendingReply], _ result: Result<Void, StoreError>) {
        for pending in replies {
            let outcome = result.map { pending.reply }.mapError { WireError(.internal, "change not persisted: \($0.message)") }
            machine.fill(pending.sequence, answer(pending.op, outcome, id: pending.id))
        }
    }

    /// Writes what the fills released, in one write, and resumes reading if it may.
    func flushFilled() {
        guard transport != nil else { return }
        drain(flush: true)
        updateReading()
    }

    /// Whether the socket takes more now (false once the connection is gone).
    var isWritable: Bool { transport?.isWritable ?? false }

    /// A watch event (see `ConnectionStateMachine.push`).
    func push(_ event: [UInt8]) {
        let action = machine.push(event, isWritable: isWritable)
        if action == .close {
            logger.warning("closing a watcher that does not read its events", metadata: ["queued": "\(machine.outstanding)"])
        }
        perform(action)
    }

    /// `watch`, `auth` and `hello`: what the connection knows of itself.
    func perform(_ op: ConnectionOp) -> Result<Reply, WireError> {
        switch op {
        case .watch(let prefix, let heartbeatMs):
            startWatching(prefix: prefix)
            heartbeat?.stop()
            heartbeat = nil
            if let heartbeatMs { startHeartbeats(every: heartbeatMs) }
            return .success(.watching)
        case .hello(let client, let role):
            caller.reporter = client
            return .success(.hello(role: role))
        case .auth(let token):
            return authenticate(token)
        }
    }

    /// `list` walks every breaker (a million of them, perhaps) and encodes them all: that runs on
    /// `listQueue`, not on the event loop that serves this and other connections. Its reply
    /// takes a slot like a commit-waiting reply; until it is filled, this connection runs
    /// nothing else (see `listing`), so the list neither misses nor includes later requests.
    func startList(prefix: String?, id: JSONValue?) {
        guard let transport else { return }
        let sequence = machine.listStarted()
        let registry = self.registry
        let hop = HandlerHop(self, executor: transport.executor)
        Self.listQueue.async {
            var writer = JSONWriter(capacity: 0)
            let bytes = Self.answer(.list, .success(.list(registry.list(prefix: prefix))), id: id,
                                    metrics: registry.metrics, scratch: &writer)
            hop.hop { $0.listed(sequence, bytes) }
        }
    }

    /// Lists run here, one at a time, whichever connection asks.
    private static let listQueue = DispatchQueue(label: "breakerd.list")

    func listed(_ sequence: Int, _ bytes: [UInt8]) {
        let resume = machine.listFinished()
        guard transport != nil else {
            unread = nil
            return
        }
        machine.fill(sequence, bytes)
        // What was read meanwhile, in order, until it lists again.
        finishInput(resume)
        flushFilled()
    }

    /// Takes the next slot and returns the function (callable from any thread) that answers it.
    func deferredSlot(_ op: Op, id: JSONValue?) -> @Sendable (Result<Reply, WireError>) -> Void {
        let sequence = machine.reserve()
        let hop = HandlerHop(self, executor: transport!.executor)
        return { result in
            hop.hop { handler in
                handler.machine.fill(sequence, handler.answer(op, result, id: id))
                handler.flushFilled()
            }
        }
    }

    /// A wrong token also ends an earlier authentication, so a connection never keeps rights
    /// after a failed attempt.
    func authenticate(_ token: String) -> Result<Reply, WireError> {
        guard let adminTokens else { return .success(.authenticated(name: "anonymous")) }
        caller.actor = adminTokens.authenticate(token)
        guard let actor = caller.actor else {
            logger.warning("admin authentication failed", metadata: ["code": "unauthorized"])
            return .failure(WireError(.unauthorized, "invalid admin token"))
        }
        return .success(.authenticated(name: actor))
    }

    /// Heartbeats ride the connection's queue like events (see `WatchHeartbeat`).
    func startHeartbeats(every milliseconds: Int) {
        guard let transport else { return }
        let heartbeat = WatchHeartbeat(intervalMs: milliseconds)
        self.heartbeat = heartbeat
        let hop = HandlerHop(self, executor: transport.executor)
        heartbeat.start(on: registry.clock, after: registry.clock.now()) { at in
            hop.hop { handler in
                guard handler.heartbeat === heartbeat, handler.transport != nil else { return }
                handler.push(ReplyEncoder.encode(Event.heartbeat(at: at)))
            }
        }
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
