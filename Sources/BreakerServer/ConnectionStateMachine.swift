import NIOCore

/// The protocol side of one connection as a value: where its input and output stand, the
/// replies it owes in request order, and backpressure. Every event is a `mutating` method that
/// returns what the transport must do (`Action`); `ConnectionHandler` only carries actions out
/// and frames and runs lines. Tested without sockets (`ConnectionStateMachineTests`).
///
/// Replies in request order: each request takes a slot; a slot is filled when its reply is
/// ready (at once for decisions and errors, after a commit or an off-loop walk for the rest),
/// and filled slots at the head move to the outgoing buffer. Pushed watch events take an
/// already-filled slot at the tail, so they never overtake a reply.
struct ConnectionStateMachine {
    enum Input: Equatable {
        /// Lines run as they arrive.
        case open
        /// A `list` walks the registry off the event loop; what is read meanwhile, and the end of
        /// input if it comes, wait until it is answered (`then`), so a list sees exactly the
        /// requests sent before it.
        case listing(then: Resume)
        /// No more input will come: the complete lines already read still run, and an
        /// unterminated last line too when `lastLineCounts` (a peer's half-close, not a stop).
        case ended(lastLineCounts: Bool)
        /// Nothing read is run any more (after `line_too_long`, or over the connection limit).
        case discarding
    }

    /// What input does once a list is answered.
    enum Resume: Equatable {
        case open
        /// The input ended meanwhile; `lastLineCounts`: an unterminated last line still runs.
        case end(lastLineCounts: Bool)
    }

    enum Output: Equatable {
        case open
        /// Close once every reply owed is written.
        case closeWhenDrained
        /// The transport was told to close after its last write.
        case closing
        /// The transport is gone; late replies (commits, walks) are dropped.
        case closed
    }

    /// What the transport does next.
    enum Action: Equatable {
        case none
        /// Hand `takeOutput()` to the transport, and flush it when `flush`.
        case write(flush: Bool)
        /// Hand `takeOutput()` to the transport, flush, then close (FIN, then linger).
        case writeAndClose
        /// Close now; anything queued is dropped.
        case close
    }

    private(set) var input = Input.open
    private(set) var output = Output.open
    /// Reading is paused: too many replies outstanding, the socket not writable, or a list runs.
    private(set) var readingPaused = false
    /// Replies a connection may have outstanding before reading pauses.
    let maxInFlight: Int
    /// Events queued for a watcher that does not read, past which it is disconnected.
    static let maxQueuedEvents = 10_000

    private var slots = CircularBuffer<[UInt8]?>()
    /// The sequence number of `slots.first`; slot `n` lives at offset `n - headSequence`.
    private var headSequence = 0
    /// Replies taken from the head of `slots` and not yet handed to the transport: one buffer
    /// per read (written at its end), not one write per reply.
    private var out: ByteBuffer?

    init(maxInFlight: Int) { self.maxInFlight = maxInFlight }

    /// Replies owed and not yet moved to the outgoing buffer.
    var outstanding: Int { slots.count }

    /// Whether lines read may run now (not while a list walks).
    var mayRunLines: Bool {
        if case .listing = input { return false }
        return true
    }

    /// Whether newly read bytes are still wanted (to run now or after a list).
    var acceptsInput: Bool {
        switch input {
        case .open, .listing: true
        case .ended, .discarding: false
        }
    }

    // MARK: Replies

    /// A reply ready now: straight into the outgoing buffer when nothing is owed before it.
    mutating func reply(_ bytes: [UInt8], isWritable: Bool) {
        guard slots.isEmpty, output == .open, isWritable else {
            slots.append(bytes)
            return
        }
        append(bytes)
        headSequence += 1
    }

    /// A slot for a reply that comes later; fill it with `fill(_:_:)`.
    mutating func reserve() -> Int {
        slots.append(nil)
        return headSequence + slots.count - 1
    }

    /// The reply of a reserved slot. Dropped once the connection is closed.
    mutating func fill(_ sequence: Int, _ bytes: [UInt8]) {
        guard output != .closed else { return }
        slots[slots.index(slots.startIndex, offsetBy: sequence - headSequence)] = bytes
    }

    /// A watch event, behind everything owed. A watcher that stopped reading would make us queue
    /// events forever: past the bound it is closed and must watch (and re-read state) again.
    mutating func push(_ event: [UInt8], isWritable: Bool) -> Action {
        guard output == .open else { return .none }
        guard slots.count < Self.maxQueuedEvents else { return .close }
        slots.append(event)
        return drain(isWritable: isWritable, flush: true)
    }

    /// Moves filled replies at the head to the outgoing buffer while the socket keeps up (what
    /// it cannot take stays in `slots`, which is bounded), and says whether to write or close.
    mutating func drain(isWritable: Bool, flush: Bool) -> Action {
        guard output != .closed else { return .none }
        var moved = false
        while isWritable, let head = slots.first, let bytes = head {
            slots.removeFirst()
            headSequence += 1
            append(bytes)
            moved = true
        }
        if output == .closeWhenDrained, slots.isEmpty, mayRunLines {
            output = .closing
            return .writeAndClose
        }
        return moved && flush ? .write(flush: true) : .none
    }

    /// The bytes to hand to the transport now.
    mutating func takeOutput() -> ByteBuffer? {
        defer { out = nil }
        return out
    }

    private mutating func append(_ bytes: [UInt8]) {
        if out == nil { out = Self.allocator.buffer(capacity: max(bytes.count, 1024)) }
        out!.writeBytes(bytes)
    }

    static let allocator = ByteBufferAllocator()

    /// Reads only while the peer keeps up: bounded outstanding replies, a writable socket, no
    /// list walking. Returns the new setting when it changes.
    mutating func readingChange(isWritable: Bool) -> Bool? {
        guard output != .closed else { return nil }
        let pause = slots.count >= maxInFlight || !isWritable || !mayRunLines
        guard pause != readingPaused else { return nil }
        readingPaused = pause
        return !pause
    }

    // MARK: Input

    /// The connection limit was passed: `error` is the only reply, then it closes.
    mutating func refuse(_ error: [UInt8], isWritable: Bool) -> Action {
        input = .discarding
        output = .closeWhenDrained
        slots.append(error)
        return drain(isWritable: isWritable, flush: true)
    }

    /// A line broke the length limit: everything read and still to come is dropped, `error` is
    /// answered after the replies owed, then the connection closes.
    mutating func lineTooLong(_ error: [UInt8]) {
        input = .discarding
        output = .closeWhenDrained
        slots.append(error)
    }

    mutating func listStarted() -> Int {
        switch input {
        case .open: input = .listing(then: .open)
        case .ended(let lastLineCounts): input = .listing(then: .end(lastLineCounts: lastLineCounts))
        case .listing, .discarding: break
        }
        return reserve()
    }

    /// The list's reply is in its slot; returns what input does now.
    mutating func listFinished() -> Resume {
        guard case .listing(let then) = input else { return .open }
        switch then {
        case .open: input = .open
        case .end(let lastLineCounts): input = .ended(lastLineCounts: lastLineCounts)
        }
        return then
    }

    /// No more input: the peer half-closed (`lastLineCounts`: an unterminated last line still
    /// runs) or the daemon is stopping (it does not). Returns how to finish the lines read, or
    /// nil when there is nothing to run now (a list holds them, or input was dropped or over).
    mutating func inputEnded(lastLineCounts: Bool) -> Resume? {
        switch input {
        case .open:
            input = .ended(lastLineCounts: lastLineCounts)
            return .end(lastLineCounts: lastLineCounts)
        case .listing:
            input = .listing(then: .end(lastLineCounts: lastLineCounts))
            return nil
        case .ended, .discarding:
            return nil
        }
    }

    /// The peer half-closed, or a graceful stop: answer what was read, then close.
    mutating func finishAndClose(lastLineCounts: Bool) -> Resume? {
        if output == .open { output = .closeWhenDrained }
        return inputEnded(lastLineCounts: lastLineCounts)
    }

    /// Nothing received for the idle timeout: a watcher is waiting on purpose, anyone else is
    /// holding a connection for nothing.
    func idle(watching: Bool) -> Action { watching ? .none : .close }

    /// The transport is gone.
    mutating func closed() {
        output = .closed
        slots.removeAll()
        out = nil
    }
}
