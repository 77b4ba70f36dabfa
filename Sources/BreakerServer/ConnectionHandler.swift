import BreakerStore
import BreakerTLS
import BreakerWire
import Dispatch
import Logging
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One client connection: splits the byte stream into request lines, runs them against the
/// registry, and writes replies strictly in request order even though some wait for a commit
/// and others do not.
///
/// Framing happens here, on the read buffer in place: each line is handed to the decoder as
/// the bytes NIO read, with no `ByteBuffer` slice and no pipeline hop per line. A line ends at
/// `\n` (a `\r` before it is dropped) and may be at most `maxLineLength` bytes; a longer one
/// is answered with `line_too_long` and the connection is closed after what came before it.
/// Only a line still unterminated when a read ends is kept (in `unread`), for the next read.
///
/// Every request takes a slot in `slots`; a slot is filled when its reply is ready and the head
/// of the queue is written as soon as it is filled. Pushed watch events take a slot that is
/// filled at once. Reading pauses while too many replies are outstanding or the socket is not
/// writable, so a client that pipelines without reading cannot make the daemon buffer without
/// bound.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let registry: BreakerRegistry
    private let connections: ConnectionCounter
    /// nil: the daemon requires no tokens, and anyone may change breakers.
    private let adminTokens: AdminTokens?
    /// The token name this connection authenticated as.
    private var actor: String?
    /// The reporter this connection's records count as for quorums: the `hello` name, or until
    /// then an anonymous name of its own (`#` is outside the client alphabet, so it cannot
    /// collide). Each unnamed connection is a distinct reporter: a quorum is never unreachable
    /// just because clients did not say hello.
    private lazy var reporter = "#" + String(UInt(bitPattern: ObjectIdentifier(self).hashValue), radix: 36)
    private let maxLineLength: Int
    private let maxInFlight: Int
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var slots = CircularBuffer<[UInt8]?>()
    /// Reused for every decision this connection answers (see `decide`).
    private var scratch = JSONWriter(capacity: 160)
    /// Replies taken from the head of `slots` and not yet handed to the channel: one buffer per
    /// read batch (written at `channelReadComplete` or when a flush is due), not one per reply.
    private var pendingOut: ByteBuffer?
    /// A flush of replies filled after their commit is already queued on the event loop.
    private var flushQueued = false
    /// The sequence number of `slots.first`; slot `n` lives at offset `n - headSequence`.
    private var headSequence = 0
    private var closing = false
    private var closeWhenDrained = false
    /// Nothing more read is run (after `line_too_long`, or over the connection limit).
    private var ignoringInput = false
    /// A `list` is walking the registry off the event loop (see `startList`). Input read
    /// meanwhile waits in `unread` and runs, in order, once it is done, so a list sees exactly
    /// the requests sent before it, as when it ran inline.
    private var listing = false
    /// Input read and not yet run: a line still without its `\n`, and, while a list runs,
    /// everything after it. nil almost always.
    private var unread: ByteBuffer?
    /// Bytes of the line at the front of `unread` already searched for `\n`, so a slowly
    /// arriving long line is scanned once.
    private var scanned = 0
    /// No more input will come: the peer half-closed (`lastLine`: an unterminated last line
    /// still counts), or the daemon is stopping (it does not).
    private var inputEnded = false
    private var lastLineCounts = false
    private var readingPaused = false
    private var watching = false

    init(registry: BreakerRegistry, connections: ConnectionCounter, adminTokens: AdminTokens?,
         maxLineLength: Int, maxInFlight: Int, logger: Logger) {
        self.registry = registry
        self.connections = connections
        self.adminTokens = adminTokens
        self.maxLineLength = maxLineLength
        self.maxInFlight = maxInFlight
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        if watching { registry.unwatch(ObjectIdentifier(self)) }
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if !connections.open() {
            closeWhenDrained = true
            ignoringInput = true
            slots.append(ReplyEncoder.encode(WireError(.overloaded, "too many connections (limit \(connections.limit)); try again later"), id: nil))
            drain(flush: true)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A connection that ends without a half-close still has its complete lines and a last
        // unterminated one run (nobody will read the replies), unless a list holds them.
        if !inputEnded && !listing {
            endInput(lastLineCounts: true)
        }
        connections.close()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !ignoringInput, !inputEnded else { return }
        var buffer = unwrapInboundIn(data)
        if unread == nil {
            // The common case: run the lines where NIO read them, keep only an unfinished tail.
            if runLines(&buffer) {
                lineTooLong()
            } else if buffer.readableBytes > 0 {
                unread = buffer
            }
        } else {
            unread!.writeBuffer(&buffer)
            if !listing { runUnread() }
        }
        drain(flush: false)
        updateReading()
    }

    /// Runs the complete lines at the front of `buffer`, moving its reader index past them, until
    /// a list starts (the rest waits for it) or a line is too long: then it returns true and the
    /// caller, outside its access to `buffer`, calls `lineTooLong`.
    private func runLines(_ buffer: inout ByteBuffer) -> Bool {
        var tooLong = false
        let used = buffer.withUnsafeReadableBytes { bytes -> Int in
            guard let base = bytes.baseAddress else { return 0 }
            var start = 0
            while !listing {
                let from = start + scanned
                guard from < bytes.count, let found = memchr(base + from, Int32(UInt8(ascii: "\n")), bytes.count - from) else {
                    scanned = bytes.count - start
                    if scanned > maxLineLength { tooLong = true }
                    return start
                }
                let newline = base.distance(to: UnsafeRawPointer(found))
                var length = newline - start
                scanned = 0
                guard length <= maxLineLength + 1 else {
                    tooLong = true
                    return start
                }
                let hasCR = length > 0 && bytes[newline - 1] == UInt8(ascii: "\r")
                if hasCR { length -= 1 }
                guard length <= maxLineLength else {
                    tooLong = true
                    return start
                }
                handle(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)]))
                start = newline + 1
            }
            return start
        }
        buffer.moveReaderIndex(forwardBy: used)
        return tooLong
    }

    /// `runLines` over `unread`, which is then dropped once empty.
    private func runUnread() {
        guard unread != nil else { return }
        if runLines(&unread!) {
            lineTooLong()
        } else if unread!.readableBytes == 0 {
            unread = nil
        } else if unread!.readerIndex > 16_384 {
            unread!.discardReadBytes()
        }
    }

    /// The line limit was broken: everything read and still to come is dropped, the error is
    /// answered after the replies owed, then the connection closes.
    private func lineTooLong() {
        closeWhenDrained = true
        ignoringInput = true
        unread = nil
        scanned = 0
        let error = WireError(.lineTooLong, "request line is longer than \(maxLineLength) bytes; closing the connection")
        registry.metrics.request(nil, error.code)  // metrics hook
        slots.append(ReplyEncoder.encode(error, id: nil))
    }

    /// No more input: the complete lines still waiting run, then (after a peer's half-close or
    /// a dropped connection) an unterminated last line as it is. While a list runs, it is its
    /// completion that comes back here.
    private func endInput(lastLineCounts: Bool) {
        inputEnded = true
        self.lastLineCounts = lastLineCounts
        finishInput()
    }

    private func finishInput() {
        guard !listing, !ignoringInput else { return }
        runUnread()
        guard !listing, !ignoringInput, let rest = unread else { return }
        unread = nil
        if lastLineCounts && rest.readableBytes > 0 {
            rest.withUnsafeReadableBytes { handle($0) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        writePending(context)
        context.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drain(flush: true) }
        updateReading()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Nothing received for the idle timeout: a watcher is waiting on purpose, anyone else
        // is holding a connection for nothing (or trickling bytes slower than one per timeout).
        if case .some(.read) = event as? IdleStateHandler.IdleStateEvent {
            if !watching {
                logger.debug("closing idle connection")
                context.close(promise: nil)
            }
            return
        }
        if case .some(.inputClosed) = event as? ChannelEvent, !inputEnded {
            endInput(lastLineCounts: !ignoringInput)
            closeWhenDrained = true
            drain(flush: true)
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Graceful shutdown: as a half-close, except that a line without its `\n` does not count
    /// (the client did not end its input; it is cut off). Lines already read are answered.
    func stopReading() {
        guard !inputEnded else { return }
        endInput(lastLineCounts: false)
        closeWhenDrained = true
        drain(flush: true)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if isTLSFailure(error) { registry.metrics.tlsFailures.increment() }
        logger.debug("connection error", metadata: ["error": "\(error)", "peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
        context.close(promise: nil)
    }

    /// One request line, without its terminator.
    private func handle(_ bytes: UnsafeRawBufferPointer) {
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
    private func decide(_ name: String, id: JSONValue?) {
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
    private func record(_ record: RecordCommand, id: JSONValue?, op: String) {
        switch registry.recordOutcome(record, reporter: reporter) {
        case .failure(let error):
            registry.metrics.request(op, error.code)  // metrics hook
            slots.append(ReplyEncoder.encode(error, id: id))
        case .success(let recorded):
            let fill = deferredSlot()
            let metrics = registry.metrics
            let (state, generation, stale) = (recorded.state, recorded.generation, recorded.stale)
            registry.whenCommitted(record.breaker) { result in
                metrics.request(op, result)  // metrics hook
                switch result {
                case .success:
                    fill(ReplyEncoder.encodeRecorded(state: state, generation: generation, stale: stale, id: id))
                case .failure(let error):
                    fill(ReplyEncoder.encode(WireError(.internal, "change not persisted: \(error.message)"), id: id))
                }
            }
        }
    }

    /// A reply ready now: straight into the outgoing buffer when nothing is queued before it
    /// (what `drain` would do with it at once), else into its slot.
    private func appendReady(_ bytes: [UInt8]) {
        guard slots.isEmpty, !closeWhenDrained, let context, context.channel.isWritable else {
            slots.append(bytes)
            return
        }
        if pendingOut == nil { pendingOut = context.channel.allocator.buffer(capacity: max(bytes.count, 1024)) }
        pendingOut!.writeBytes(bytes)
        headSequence += 1
    }

    private func run(_ request: Request) {
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
            let error = WireError(.unauthorized, "\(request.command.op) needs an authenticated connection: send {\"op\":\"auth\",\"token\":…} first")
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
    private func startList(prefix: String?, id: JSONValue?) {
        guard let context else { return }
        let sequence = headSequence + slots.count
        slots.append(nil)
        listing = true
        let registry = self.registry
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        Self.listQueue.async {
            let bytes = ReplyEncoder.encode(.list(registry.list(prefix: prefix)), id: id)
            bound.eventLoop.execute { bound.value.listed(sequence, bytes) }
        }
    }

    /// Lists run here, one at a time, whichever connection asks.
    private static let listQueue = DispatchQueue(label: "breakerd.list")

    private func listed(_ sequence: Int, _ bytes: [UInt8]) {
        listing = false
        guard context != nil else {
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
    private func deferredSlot() -> @Sendable ([UInt8]) -> Void {
        let sequence = headSequence + slots.count
        slots.append(nil)
        let bound = NIOLoopBound(self, eventLoop: context!.eventLoop)
        return { bytes in bound.eventLoop.execute { bound.value.fill(sequence, bytes) } }
    }

    /// A wrong token also ends an earlier authentication, so a connection never keeps rights
    /// after a failed attempt.
    private func authenticate(_ token: String, id: JSONValue?) -> ([UInt8], ErrorCode?) {
        guard let adminTokens else { return (ReplyEncoder.encode(.authenticated(name: "anonymous"), id: id), nil) }
        actor = adminTokens.authenticate(token)
        guard let actor else {
            logger.warning("admin authentication failed", metadata: ["code": "unauthorized"])
            return (ReplyEncoder.encode(WireError(.unauthorized, "invalid admin token"), id: id), .unauthorized)
        }
        return (ReplyEncoder.encode(.authenticated(name: actor), id: id), nil)
    }

    private func startWatching(prefix: String?) {
        guard let context else { return }
        if watching { registry.unwatch(ObjectIdentifier(self)) }
        watching = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        registry.watch(ObjectIdentifier(self), prefix: prefix) { line in
            bound.eventLoop.execute { bound.value.push(line) }
        }
    }

    /// A watch event: queued behind any reply still outstanding, so the `watch` reply always
    /// comes first and events never overtake replies.
    private func push(_ line: [UInt8]) {
        guard let context, !closeWhenDrained else { return }
        // A watcher that stopped reading would otherwise make us queue events forever: past
        // the bound it is disconnected and must watch again (and re-read state) when it returns.
        guard slots.count < Self.maxQueuedEvents else {
            logger.warning("closing a watcher that does not read its events", metadata: ["queued": "\(slots.count)"])
            context.close(promise: nil)
            return
        }
        slots.append(line)
        drain(flush: true)
    }

    static let maxQueuedEvents = 10_000

    /// A reply that waited for its commit. One commit acknowledges many requests at once and
    /// their fills arrive as consecutive event-loop tasks, so the flush is queued behind them
    /// once instead of one write syscall per reply.
    private func fill(_ sequence: Int, _ bytes: [UInt8]) {
        guard let context else { return }
        slots[slots.index(slots.startIndex, offsetBy: sequence - headSequence)] = bytes
        drain(flush: false)
        if !flushQueued {
            flushQueued = true
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let handler = bound.value
                handler.flushQueued = false
                guard let context = handler.context else { return }
                handler.writePending(context)
                context.flush()
            }
        }
        updateReading()
    }

    private func drain(flush: Bool) {
        guard let context else { return }
        var wrote = false
        // Only while the socket keeps up: what it cannot take stays in `slots`, which is bounded.
        while context.channel.isWritable, let head = slots.first, let bytes = head {
            slots.removeFirst()
            headSequence += 1
            if pendingOut == nil { pendingOut = context.channel.allocator.buffer(capacity: max(bytes.count, 1024)) }
            pendingOut!.writeBytes(bytes)
            wrote = true
        }
        if closeWhenDrained && slots.isEmpty && !listing && unread == nil && !closing {
            closing = true
            writePending(context)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                channel.close(promise: nil)
            }
        } else if wrote && flush {
            writePending(context)
            context.flush()
        }
    }

    private func writePending(_ context: ChannelHandlerContext) {
        guard let out = pendingOut else { return }
        pendingOut = nil
        context.write(wrapOutboundOut(out), promise: nil)
    }

    /// Reads only while the peer keeps up: bounded outstanding replies, writable socket.
    private func updateReading() {
        guard let context else { return }
        let pause = slots.count >= maxInFlight || !context.channel.isWritable || listing
        guard pause != readingPaused, let options = context.channel.syncOptions else { return }
        readingPaused = pause
        try? options.setOption(.autoRead, value: !pause)
        if !pause { context.read() }
    }
}
