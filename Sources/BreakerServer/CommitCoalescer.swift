import BreakerStore

/// The commits one event loop's connections wait for, asked for together: replies that
/// acknowledge changes join the current turn's group, and at the end of the loop's turn
/// (`submit`) the group asks the registry for one commit of the union of their scopes — each
/// touched shard's journal handed over once, under its lock, then one commit request — and,
/// once it is done, one task back on the loop fills every connection's replies and flushes
/// each once. With many connections each read would otherwise snapshot the same breakers and
/// wake the writer again.
///
/// Owned by one thread: the epoll loop's, which calls `submit` after each pass over ready
/// sockets and over its inbox (`.endOfTurn`); or, on a NIO channel, the connection's, submitting
/// as soon as a read's lines have run (`.immediate`). `submit` may commit on that thread
/// (when the storage commits inline and nobody else is committing) and then answers before
/// it returns, through the executor.
final class CommitCoalescer {
    enum Timing {
        /// The owner calls `submit` at the end of each turn of its loop.
        case endOfTurn
        /// Every `add` is submitted at once.
        case immediate
    }

    private let timing: Timing
    private var scope = CommitScope.empty
    private var waiting: [(ConnectionHandler, [PendingReply])] = []
    /// The registry of the connections waiting.
    private var registry: BreakerRegistry?
    /// The thread the connections waiting belong to.
    private var executor: (any ConnectionExecutor)?

    init(_ timing: Timing) { self.timing = timing }

    /// `replies` of `handler`, which runs on `executor`, wait for `scope` to be committed.
    func add(_ handler: ConnectionHandler, _ replies: [PendingReply], scope: CommitScope,
             executor: any ConnectionExecutor) {
        // A scope means something only to its registry: a daemon that changes leader terms may
        // briefly have connections of two registries on one loop; each group asks its own.
        if let registry, registry !== handler.registry { submit() }
        waiting.append((handler, replies))
        self.scope.formUnion(scope)
        registry = handler.registry
        self.executor = executor
        if timing == .immediate { submit() }
    }

    /// Whether `submit` may commit on this thread (see `EpollLoop.run`: only when one socket
    /// was ready in the pass).
    var mayCommitInline = true

    /// Asks for the commit of everything added since the last call.
    func submit() {
        guard !waiting.isEmpty, let registry, let executor else { return }
        let group = Waiting(entries: waiting)
        let scope = self.scope
        waiting = []
        self.scope = .empty
        // The loop holds no lock here: if nobody is committing, it commits itself (leader/
        // follower group commit, see `StorageOwnership`), and the completion queues the fill
        // on this very loop, which runs it in the same turn without a wake-up.
        registry.whenCommitted(scope, mayCommitInline: mayCommitInline) { result in
            executor.execute { group.fill(result) }
        }
    }

    /// A group's connections and replies on their way to the writer's thread and back.
    /// `@unchecked Sendable` is sound for the reason `HandlerHop` is: the handlers are used only
    /// in `fill`, which runs as work on `executor`, the one thread that owns all of them (they
    /// belong to one event loop); the writer's thread only carries the reference.
    private struct Waiting: @unchecked Sendable {
        let entries: [(ConnectionHandler, [PendingReply])]

        func fill(_ result: Result<Void, StoreError>) {
            for (handler, replies) in entries { handler.committed(replies, result) }
            for (handler, _) in entries { handler.flushFilled() }
        }
    }
}
