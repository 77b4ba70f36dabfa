#if os(Linux)
import BreakerSync
import Foundation
import CEpoll
import Glibc
import Logging
import NIOCore

/// One thread serving plain-TCP protocol connections from one epoll set, as Redis does: wait
/// for ready sockets, read each once, run its lines, write its replies; no channel pipeline,
/// no promises, no allocation per request. Work from other threads (commit completions, watch
/// events, control) arrives through `send`, an inbox and an eventfd.
///
/// Everything a connection owns lives on this thread (`EpollLoopState`); the loop object itself
/// only holds what other threads may touch: the descriptors and the inbox.
final class EpollLoop: ConnectionExecutor {
    /// Asks a loop to do something to all its connections; `done` gets how many it touched.
    enum Control: Sendable {
        case work(@Sendable () -> Void)
        /// A connection the first loop accepted, dealt to this one.
        case adopt(Int32)
        case stopAccepting(done: @Sendable (Int) -> Void)
        case stopReading(done: @Sendable (Int) -> Void)
        case closeAll(done: @Sendable (Int) -> Void)
        /// Closes the connections served by this registry (a role change).
        case closeServed(by: BreakerRegistry, done: @Sendable (Int) -> Void)
        case exit(done: @Sendable (Int) -> Void)
    }

    private struct Inbox {
        var controls: [Control] = []
        /// The loop's own thread, once it runs: what it sends itself needs no wake-up (it runs
        /// its inbox before it waits again).
        var thread: pthread_t?
        /// An eventfd write is already on its way; later sends need not make another.
        var wakePending = false
        /// The thread has ended: controls are answered at once (there is nothing left to act
        /// on) and work is dropped (its connection is gone).
        var ended = false
    }

    let epollFD: Int32
    let wakeFD: Int32
    private let inbox = Mutex(Inbox())

    static let wakeToken: UInt64 = 0
    static let listenerToken: UInt64 = 1

    init() throws {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw IOError(errnoCode: errno, reason: "epoll_create1") }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            let code = errno
            Glibc.close(epollFD)
            throw IOError(errnoCode: code, reason: "eventfd")
        }
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: Self.wakeToken))
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) == 0 else {
            let code = errno
            Glibc.close(wakeFD)
            Glibc.close(epollFD)
            throw IOError(errnoCode: code, reason: "epoll_ctl")
        }
    }

    func execute(_ work: @escaping @Sendable () -> Void) { send(.work(work)) }

    func send(_ control: Control) {
        let wake = inbox.withLock { inbox -> Bool? in
            guard !inbox.ended else { return nil }
            inbox.controls.append(control)
            if let thread = inbox.thread, pthread_equal(thread, pthread_self()) != 0 { return false }
            guard !inbox.wakePending else { return false }
            inbox.wakePending = true
            return true
        }
        switch wake {
        case true?:
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        case false?: break
        case nil: Self.answerAfterEnd(control)
        }
    }

    private static func answerAfterEnd(_ control: Control) {
        switch control {
        case .work: break
        case .adopt(let fd): Glibc.close(fd)
        case .stopAccepting(let done), .stopReading(let done), .closeAll(let done), .closeServed(_, let done), .exit(let done):
            done(0)
        }
    }

    /// Starts the thread; it ends after an `.exit` control, closing the connections left.
    func start(_ makeState: @escaping @Sendable (EpollLoop) -> EpollLoopState, name: String) {
        let thread = Thread { [self] in
            run(makeState(self))
        }
        thread.name = name
        thread.start()
    }

    private func run(_ state: EpollLoopState) {
        inbox.withLock { $0.thread = pthread_self() }
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while !state.exiting {
            let ready = epoll_wait(epollFD, events, Int32(capacity), state.waitTimeoutMilliseconds())
            if ready < 0 {
                if errno == EINTR { continue }
                state.logger.critical("epoll_wait failed; the protocol listener stops", metadata: ["errno": "\(errno)"])
                break
            }
            for i in 0..<Int(ready) {
                let event = events[i]
                switch event.data.u64 {
                case Self.wakeToken: drainWakeFD()
                case Self.listenerToken: state.acceptConnections()
                case let token: state.connection(token)?.ready(event.events)
                }
            }
            state.sweepIdleConnections()
            // One socket ready (one client, a request per round trip): the hand-off to the
            // writer thread and back is most of a record's cost, so commit here. Several ready
            // at once: leave the commit to the writer thread, whose batches then gather several
            // passes (and their replies go out in bigger groups) while this loop reads on.
            state.commits.mayCommitInline = ready <= 1
            // One commit request for every reply this pass's reads wait for (`CommitCoalescer`),
            // and again for lines the inbox's work ran (a connection reading again). A commit
            // made here, inline, queues its replies on this inbox without a wake-up (as does
            // anything else this thread sends itself): run both until neither has anything
            // left, so nothing waits for the next event.
            repeat {
                state.commits.submit()
            } while runInbox(state)
        }
        _ = state.closeAll()
        let left = inbox.withLock { inbox -> [Control] in
            inbox.ended = true
            defer { inbox.controls = [] }
            return inbox.controls
        }
        left.forEach(Self.answerAfterEnd)
    }

    /// The descriptors close only when nothing can send any more: a commit completion arriving
    /// after the loop ended still writes to this eventfd, never to a reused descriptor.
    deinit {
        Glibc.close(wakeFD)
        Glibc.close(epollFD)
    }

    private func drainWakeFD() {
        var count: UInt64 = 0
        _ = Glibc.read(wakeFD, &count, 8)
    }

    /// Runs what other threads (and this one) sent, until nothing is left: work sent while the
    /// inbox runs (a flush queued behind a batch of commit completions) runs in the same pass.
    /// Returns whether it ran anything.
    @discardableResult
    private func runInbox(_ state: EpollLoopState) -> Bool {
        var ran = false
        while true {
            // Swapped with the inbox's array, so neither side allocates in the steady state.
            inbox.withLock { inbox in
                inbox.wakePending = false
                swap(&inbox.controls, &state.taken)
            }
            if state.taken.isEmpty { return ran }
            ran = true
            defer { state.taken.removeAll(keepingCapacity: true) }
            for control in state.taken {
                switch control {
                case .work(let work): work()
                case .adopt(let fd): state.adopt(fd)
                case .stopAccepting(let done): done(state.stopAccepting())
                case .stopReading(let done): done(state.stopReadingAll())
                case .closeAll(let done): done(state.closeAll())
                case .closeServed(let registry, let done): done(state.closeServed(by: registry))
                case .exit(let done):
                    state.exiting = true
                    done(0)
                }
            }
        }
    }
}
#endif
