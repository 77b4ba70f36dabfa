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
/// the bytes the transport read, with no `ByteBuffer` slice and no pipeline hop per line. A
/// line ends at `\n` (a `\r` before it is dropped) and may be at most `maxLineLength` bytes; a
/// longer one is answered with `line_too_long` and the connection is closed after what came
/// before it.
/// Only a line still unterminated when a read ends is kept (in `unread`), for the next read.
///
/// Every request takes a slot in `slots`; a slot is filled when its reply is ready and the head
/// of the queue is written as soon as it is filled. Pushed watch events take a slot that is
/// filled at once. Reading pauses while too many replies are outstanding or the socket is not
/// writable, so a client that pipelines without reading cannot make the daemon buffer without
/// bound.
///
/// The handler knows nothing of how bytes move: a `ConnectionTransport` (a NIO channel, or a
/// socket of `EpollServer`'s loop) calls the event methods below and carries the replies.
final class ConnectionHandler {
    let registry: BreakerRegistry
    let connections: ConnectionCounter
    /// nil: the daemon requires no tokens, and anyone may change breakers.
    let adminTokens: AdminTokens?
    /// The token name this connection authenticated as.
    var actor: String?
    /// The reporter this connection's records count as for quorums: the `hello` name, or until
    /// then an anonymous name of its own (`#` is outside the client alphabet, so it cannot
    /// collide). Each unnamed connection is a distinct reporter: a quorum is never unreachable
    /// just because clients did not say hello.
    lazy var reporter = "#" + String(UInt(bitPattern: ObjectIdentifier(self).hashValue), radix: 36)
    let maxLineLength: Int
    let maxInFlight: Int
    let logger: Logger
    /// nil once the connection is gone.
    var transport: (any ConnectionTransport)?
    var slots = CircularBuffer<[UInt8]?>()
    /// Reused for every decision this connection answers (see `decide`).
    var scratch = JSONWriter(capacity: 160)
    /// Replies run since the last `submitRecords` that wait to ask for their commit.
    var batch = CommitBatch()
    /// Replies taken from the head of `slots` and not yet handed to the transport: one buffer per
    /// read batch (written at `readComplete` or when a flush is due), not one per reply.
    var pendingOut: ByteBuffer?
    /// A flush of replies filled after their commit is already queued on the event loop.
    var flushQueued = false
    /// The sequence number of `slots.first`; slot `n` lives at offset `n - headSequence`.
    var headSequence = 0
    var closing = false
    var closeWhenDrained = false
    /// Nothing more read is run (after `line_too_long`, or over the connection limit).
    var ignoringInput = false
    /// A `list` is walking the registry off the event loop (see `startList`). Input read
    /// meanwhile waits in `unread` and runs, in order, once it is done, so a list sees exactly
    /// the requests sent before it, as when it ran inline.
    var listing = false
    /// Input read and not yet run: a line still without its `\n`, and, while a list runs,
    /// everything after it. nil almost always.
    var unread: ByteBuffer?
    /// Bytes of the line at the front of `unread` already searched for `\n`, so a slowly
    /// arriving long line is scanned once.
    var scanned = 0
    /// No more input will come: the peer half-closed (`lastLine`: an unterminated last line
    /// still counts), or the daemon is stopping (it does not).
    var inputEnded = false
    var lastLineCounts = false
    var readingPaused = false
    var watching = false

    init(registry: BreakerRegistry, connections: ConnectionCounter, adminTokens: AdminTokens?,
         maxLineLength: Int, maxInFlight: Int, logger: Logger) {
        self.registry = registry
        self.connections = connections
        self.adminTokens = adminTokens
        self.maxLineLength = maxLineLength
        self.maxInFlight = maxInFlight
        self.logger = logger
    }

    /// The connection is open: admitted, or told it is over the limit and closed.
    func activate(_ transport: any ConnectionTransport) {
        self.transport = transport
        if !connections.open() {
            closeWhenDrained = true
            ignoringInput = true
            slots.append(ReplyEncoder.encode(WireError(.overloaded, "too many connections (limit \(connections.limit)); try again later"), id: nil))
            drain(flush: true)
        }
    }

    /// The connection is gone.
    func deactivate() {
        // A connection that ends without a half-close still has its complete lines and a last
        // unterminated one run (nobody will read the replies), unless a list holds them.
        if !inputEnded && !listing {
            endInput(lastLineCounts: true)
        }
        connections.close()
        if watching { registry.unwatch(ObjectIdentifier(self)) }
        transport = nil
    }

    /// Bytes read from the peer. The common case runs the lines where they were read and
    /// keeps only an unfinished tail.
    func received(_ data: ByteBuffer) {
        guard !ignoringInput, !inputEnded else { return }
        var buffer = data
        if unread == nil {
            // The common case: run the lines where they were read, keep only an unfinished tail.
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
    func runLines(_ buffer: inout ByteBuffer) -> Bool {
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
        submitRecords()
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

    /// The line limit was broken: everything read and still to come is dropped, the error is
    /// answered after the replies owed, then the connection closes.
    func lineTooLong() {
        closeWhenDrained = true
        ignoringInput = true
        unread = nil
        scanned = 0
        let error = WireError(.lineTooLong, "request line is longer than \(maxLineLength) bytes; closing the connection")
        slots.append(answer(nil, .failure(error), id: nil))
    }

    /// No more input: the complete lines still waiting run, then (after a peer's half-close or
    /// a dropped connection) an unterminated last line as it is. While a list runs, it is its
    /// completion that comes back here.
    func endInput(lastLineCounts: Bool) {
        inputEnded = true
        self.lastLineCounts = lastLineCounts
        finishInput()
    }

    func finishInput() {
        guard !listing, !ignoringInput else { return }
        runUnread()
        guard !listing, !ignoringInput, let rest = unread else { return }
        unread = nil
        if lastLineCounts && rest.readableBytes > 0 {
            rest.withUnsafeReadableBytes { handle($0) }
            submitRecords()
        }
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

    /// Nothing received for the idle timeout: a watcher is waiting on purpose, anyone else is
    /// holding a connection for nothing (or trickling bytes slower than one per timeout).
    func idle() {
        guard !watching else { return }
        logger.debug("closing idle connection")
        transport?.close()
    }

    /// The peer half-closed: lines already read (and an unterminated last one) are answered,
    /// then the connection closes.
    func inputClosed() {
        guard !inputEnded else { return }
        endInput(lastLineCounts: !ignoringInput)
        closeWhenDrained = true
        drain(flush: true)
    }

    /// Graceful shutdown: as a half-close, except that a line without its `\n` does not count
    /// (the client did not end its input; it is cut off). Lines already read are answered.
    func stopReading() {
        guard !inputEnded else { return }
        endInput(lastLineCounts: false)
        closeWhenDrained = true
        drain(flush: true)
    }

    func failed(_ error: any Error) {
        if isTLSFailure(error) { registry.metrics.tlsFailures.increment() }
        logger.debug("connection error", metadata: ["error": "\(error)", "peer": "\(transport?.peerDescription ?? "?")"])
        transport?.close()
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
    var names: [String] = []
}
