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

/// One client connection: frames the byte stream into request lines, runs them against the
/// registry, and carries out what its `ConnectionStateMachine` decides (write, close, pause
/// reading). The machine holds every decision — where input and output stand, the replies owed
/// in request order, backpressure; this class holds the things that are not values: the
/// transport, the registry, the bytes of a line still arriving.
///
/// Framing happens here, on the read buffer in place: each line is handed to the decoder as
/// the bytes the transport read, with no `ByteBuffer` slice and no pipeline hop per line. A
/// line ends at `\n` (a `\r` before it is dropped) and may be at most `maxLineLength` bytes; a
/// longer one is answered with `line_too_long` and the connection is closed after what came
/// before it. Only a line still unterminated when a read ends is kept (in `unread`), for the
/// next read.
///
/// The handler knows nothing of how bytes move: a `ConnectionTransport` (a NIO channel, or a
/// socket of `EpollServer`'s loop) calls the event methods below and carries the replies.
final class ConnectionHandler {
    let registry: BreakerRegistry
    let connections: ConnectionCounter
    /// nil: the daemon requires no tokens, and anyone may change breakers.
    let adminTokens: AdminTokens?
    /// Who this connection is to the registry. `actor`: the token name it authenticated as
    /// (`anonymous` when the daemon requires no tokens). `reporter`: what its records count as
    /// for quorums, the `hello` name or until then an anonymous name of its own (`#` is outside
    /// the client alphabet, so it cannot collide); each unnamed connection is a distinct
    /// reporter, so a quorum is never unreachable just because clients did not say hello.
    lazy var caller = Caller(actor: adminTokens == nil ? "anonymous" : nil,
                             reporter: "#" + String(UInt(bitPattern: ObjectIdentifier(self).hashValue), radix: 36))
    let maxLineLength: Int
    let logger: Logger
    /// nil once the connection is gone.
    var transport: (any ConnectionTransport)?
    var machine: ConnectionStateMachine
    /// Reused for every decision this connection answers (see `answer`).
    var scratch = JSONWriter(capacity: 160)
    /// Replies run since the last `submitCommits` that wait to ask for their commit.
    var batch = CommitBatch()
    /// Input read and not yet run: a line still without its `\n`, and, while a list runs,
    /// everything after it. nil almost always.
    var unread: ByteBuffer?
    /// Bytes of the line at the front of `unread` already searched for `\n`, so a slowly
    /// arriving long line is scanned once.
    var scanned = 0
    var watching = false
    /// The heartbeats the last `watch` asked for, if it did.
    var heartbeat: WatchHeartbeat?

    init(registry: BreakerRegistry, connections: ConnectionCounter, adminTokens: AdminTokens?,
         maxLineLength: Int, maxInFlight: Int, logger: Logger) {
        self.registry = registry
        self.connections = connections
        self.adminTokens = adminTokens
        self.maxLineLength = maxLineLength
        self.machine = ConnectionStateMachine(maxInFlight: maxInFlight)
        self.logger = logger
    }

    // MARK: Carrying out the machine's actions

    func perform(_ action: ConnectionStateMachine.Action) {
        guard let transport else { return }
        switch action {
        case .none: break
        case .write(let flush):
            writePending()
            if flush { transport.flush() }
        case .writeAndClose:
            writePending()
            transport.closeAfterFlush()
        case .close:
            transport.close()
        }
    }

    func writePending() {
        if let out = machine.takeOutput() { transport?.write(out) }
    }

    func drain(flush: Bool) {
        perform(machine.drain(isWritable: transport?.isWritable ?? false, flush: flush))
    }

    func updateReading() {
        guard let transport, let reading = machine.readingChange(isWritable: transport.isWritable) else { return }
        transport.setReading(reading)
    }

    // MARK: Transport events

    /// The connection is open: admitted, or told it is over the limit and closed.
    func activate(_ transport: any ConnectionTransport) {
        self.transport = transport
        if !connections.open() {
            let error = WireError(.overloaded, "too many connections (limit \(connections.limit)); try again later")
            perform(machine.refuse(ReplyEncoder.encode(error, id: nil), isWritable: transport.isWritable))
        }
    }

    /// The connection is gone.
    func deactivate() {
        // A connection that ends without a half-close still has its complete lines and a last
        // unterminated one run (nobody will read the replies), unless a list holds them.
        if let resume = machine.inputEnded(lastLineCounts: true) { finishInput(resume) }
        connections.close()
        if watching { registry.unwatch(ObjectIdentifier(self)) }
        heartbeat?.stop()
        machine.closed()
        transport = nil
    }

    /// Bytes read from the peer. The common case runs the lines where they were read and
    /// keeps only an unfinished tail.
    func received(_ data: ByteBuffer) {
        guard machine.acceptsInput else { return }
        var buffer = data
        if unread == nil {
            if runLines(&buffer) {
                lineTooLong()
            } else if buffer.readableBytes > 0 {
                unread = buffer
            }
        } else {
            unread!.writeBuffer(&buffer)
            if machine.mayRunLines { runUnread() }
        }
        drain(flush: false)
        updateReading()
    }

    /// The end of one read batch: what it answered goes out in one write.
    func readComplete() {
        writePending()
        transport?.flush()
    }

    func writabilityChanged() {
        if transport?.isWritable == true { drain(flush: true) }
        updateReading()
    }

    /// Nothing received for the idle timeout.
    func idle() {
        let action = machine.idle(watching: watching)
        if action == .close { logger.debug("closing idle connection") }
        perform(action)
    }

    /// The peer half-closed: lines already read (and an unterminated last one) are answered,
    /// then the connection closes.
    func inputClosed() { finishAndClose(lastLineCounts: machine.input != .discarding) }

    /// Graceful shutdown: as a half-close, except that a line without its `\n` does not count
    /// (the client did not end its input; it is cut off). Lines already read are answered.
    func stopReading() { finishAndClose(lastLineCounts: false) }

    private func finishAndClose(lastLineCounts: Bool) {
        if let resume = machine.finishAndClose(lastLineCounts: lastLineCounts) { finishInput(resume) }
        drain(flush: true)
    }

    func failed(_ error: any Error) {
        if isTLSFailure(error) { registry.metrics.tlsFailures.increment() }
        logger.debug("connection error", metadata: ["error": "\(error)", "peer": "\(transport?.peerDescription ?? "?")"])
        transport?.close()
    }

    // MARK: Framing

    /// Runs the complete lines at the front of `buffer`, moving its reader index past them, until
    /// a list starts (the rest waits for it) or a line is too long: then it returns true and the
    /// caller, outside its access to `buffer`, calls `lineTooLong`.
    func runLines(_ buffer: inout ByteBuffer) -> Bool {
        var tooLong = false
        let used = buffer.withUnsafeReadableBytes { bytes -> Int in
            guard let base = bytes.baseAddress else { return 0 }
            var start = 0
            while machine.mayRunLines {
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
        submitCommits()
        return tooLong
    }

    /// `runLines` over `unread`, which is then dropped once empty.
    func runUnread() {
        guard unread != nil else { return }
        if runLines(&unread!) {
            lineTooLong()
        } else if unread!.readableBytes == 0 {
            unread = nil
        } else if unread!.readerIndex > 16_384 {
            unread!.discardReadBytes()
        }
    }

    func lineTooLong() {
        unread = nil
        scanned = 0
        let error = WireError(.lineTooLong, "request line is longer than \(maxLineLength) bytes; closing the connection")
        machine.lineTooLong(answer(nil, .failure(error), id: nil))
    }

    /// Input is over: the complete lines still waiting run, then (`lastLineCounts`) an
    /// unterminated last line as it is, unless a list starts among them (it resumes here).
    func finishInput(_ resume: ConnectionStateMachine.Resume) {
        guard case .end(let lastLineCounts) = resume else { return runUnread() }
        runUnread()
        guard machine.mayRunLines, machine.input != .discarding, let rest = unread else { return }
        unread = nil
        if lastLineCounts && rest.readableBytes > 0 {
            rest.withUnsafeReadableBytes { handle($0) }
            submitCommits()
        }
    }
}

/// A change applied in memory whose reply waits for its commit.
struct PendingReply: Sendable {
    let sequence: Int
    let op: Op
    let reply: Reply
    let id: JSONValue?
}

/// The changes of one read, acknowledged by one commit.
struct CommitBatch {
    var replies: [PendingReply] = []
    var scope = CommitScope.empty
}
