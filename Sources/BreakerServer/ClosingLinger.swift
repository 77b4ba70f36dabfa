/// Closing a connection after its last reply, the same way on both transports: send our FIN
/// (with TLS, close_notify first), then read and drop whatever the peer still sends until it
/// closes too or the policy's `linger` passes, and only then close. Closing at once over unread
/// input would make the kernel answer with a reset, which can destroy that last reply (say,
/// `line_too_long`) before the client reads it.
///
/// A value each transport keeps per connection; it decides, the transport does the socket work.
struct ClosingLinger: Equatable {
    enum State: Equatable {
        /// Serving requests: input goes to the handler.
        case serving
        /// Our side is shut; input is dropped until the peer closes or `until` (monotonic ns).
        case lingering(until: UInt64)
        case closed
    }

    /// What the transport does next.
    enum Action: Equatable {
        /// Close the socket now.
        case close
        /// Shut our output, keep reading (and dropping) input, and check again at `deadline`.
        case shutOutputAndDrain(deadline: UInt64)
        case none
    }

    private(set) var state = State.serving
    let duration: Duration

    init(duration: Duration) { self.duration = duration }

    var isLingering: Bool {
        if case .lingering = state { return true }
        return false
    }

    /// Input read now goes to the handler only while serving.
    var dropsInput: Bool { state != .serving }

    /// Everything owed is written. A peer that already closed its side needs no linger.
    mutating func lastReplyWritten(peerInputEnded: Bool, now: UInt64) -> Action {
        guard state == .serving else { return .none }
        if peerInputEnded {
            state = .closed
            return .close
        }
        let deadline = now &+ duration.nanosecondsClamped
        state = .lingering(until: deadline)
        return .shutOutputAndDrain(deadline: deadline)
    }

    /// The peer closed its side (or reset) while we lingered.
    mutating func peerClosed() -> Action {
        guard isLingering else { return .none }
        state = .closed
        return .close
    }

    /// Time passed; a linger past its deadline ends.
    mutating func tick(now: UInt64) -> Action {
        guard case .lingering(let until) = state, now >= until else { return .none }
        state = .closed
        return .close
    }

    /// Closed for any other reason.
    mutating func closed() { state = .closed }
}
