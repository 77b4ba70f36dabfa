import BreakerTestSupport
import Foundation

/// Writer threads for the kill and shutdown tests: each drives its own breaker over its own
/// connection with a fixed round of requests (configure, failures, a decision, successes) until
/// the daemon stops answering, and counts what was acknowledged, so the test can compare it
/// with what is on disk after a restart.
struct TrafficWriters {
    /// What one writer saw acknowledged before the daemon stopped answering.
    final class Acks: @unchecked Sendable {
        // Safe: each instance is written by exactly one writer thread, and read only after
        // `wait()` has joined that thread.
        var successes = 0
        var failures = 0
        var configuredTimeout: Int64?
        /// A configure sent but not (yet) acknowledged: it may or may not have been committed.
        var pendingTimeout: Int64?
    }

    /// One round of requests: request 0 configures `timeout_ms` to `timeoutBase` plus the
    /// request's index; then `failures` records of `failureCount` failures each; then one
    /// `should-attempt`; the rest of the `length` requests are single successes.
    struct Round: Sendable {
        var breakerPrefix: String
        var length: Int
        var failures: Int
        var failureCount = 1
        var timeoutBase: Int
        /// Sleep 1 ms before every `pauseEvery`-th request (nil: flat out).
        var pauseEvery: Int?
    }

    let acks: [Acks]
    private let group = DispatchGroup()

    /// Starts `writers` threads against 127.0.0.1:`port`; writer `w` uses breaker
    /// `<breakerPrefix><w>`.
    init(port: Int, writers: Int, round: Round) {
        acks = (0..<writers).map { _ in Acks() }
        for (w, acks) in acks.enumerated() {
            group.enter()
            // A thread each: they block in socket calls, which a dispatch queue's few threads would not survive.
            Thread { [group] in
                defer { group.leave() }
                Self.write(port: port, breaker: "\(round.breakerPrefix)\(w)", round: round, acks: acks)
            }.start()
        }
    }

    /// Returns when every writer has stopped (the daemon closed or stopped answering).
    func wait() { group.wait() }

    private static func write(port: Int, breaker: String, round: Round, acks: Acks) {
        guard let c = try? LineClient(port: port) else { return }
        let count = round.failureCount == 1 ? "" : #","count":\#(round.failureCount)"#
        var i = 0
        while true {
            if let pause = round.pauseEvery, i % pause == pause - 1 { usleep(1000) }
            let step = i % round.length
            let timeout = Int64(round.timeoutBase + i)
            let line: String
            switch step {
            case 0: line = #"{"op":"configure","breaker":"\#(breaker)","config":{"timeout_ms":\#(timeout),"failure_threshold":1000000}}"#
            case 1...round.failures: line = #"{"op":"record-failure","breaker":"\#(breaker)"\#(count)}"#
            case round.failures + 1: line = #"{"op":"should-attempt","breaker":"\#(breaker)"}"#
            default: line = #"{"op":"record-success","breaker":"\#(breaker)"}"#
            }
            if step == 0 { acks.pendingTimeout = timeout }
            guard let reply = try? c.request(line), reply["ok"] == .bool(true) else { return }
            switch step {
            case 0: acks.configuredTimeout = timeout
            case 1...round.failures: acks.failures += round.failureCount
            case round.failures + 1: break
            default: acks.successes += 1
            }
            i += 1
        }
    }
}
