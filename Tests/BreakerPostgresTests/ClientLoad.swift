import BreakerClient
import BreakerSync
import Foundation
import struct Synchronization.Atomic

/// Real `BreakerClient`s driving a cluster of daemons, as services would: each client has every
/// daemon as an endpoint, one decision connection and `recordConnections` record connections,
/// and worker tasks that ask for a decision (each one goes to the daemon: the daemons run with
/// `--cache-ms 0` and the clients do not watch) and report a success or a failure.
///
/// What was reported is counted per breaker, only for attempts the daemon allowed: the fallback
/// is fail-closed, so no other attempt is made. That makes the daemon's metrics comparable:
/// failures carry dedupe keys and are resent until acknowledged, so the daemon must count each
/// exactly once; successes are summed and sent at most once, so it counts at most as many, and
/// at least as many less those the clients report lost (`successesLost`).
final class ClientLoad: Sendable {
    struct Tally: Sendable, Hashable {
        var successes = 0
        var failures = 0
    }

    let clients: [BreakerClient]
    let breakers: [String]
    private let tallies = Mutex<[String: Tally]>([:])
    private let allowed = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// The breaker every client's tripping task sends failures to, if any.
    private let tripping = Mutex<String?>(nil)
    private let tasks = Mutex<[Task<Void, Never>]>([])

    /// `clients` clients of the daemons on `ports`, each with `recordConnections` record
    /// connections, reporting on `breakers` once started.
    init(ports: [Int], clients: Int, recordConnections: Int, breakers: [String]) async throws {
        var made: [BreakerClient] = []
        for index in 0..<clients {
            var configuration = BreakerClient.Configuration(endpoints: ports.map { .init(host: "127.0.0.1", port: $0) })
            configuration.fallback = .failClosed
            configuration.watchTransitions = false
            configuration.recordConnections = recordConnections
            configuration.clientName = "load-\(index)"
            // A debug daemon on a shared machine: a slow decision is not a lost daemon.
            configuration.decisionTimeout = .seconds(1)
            configuration.logger = quietLogger
            made.append(try await BreakerClient(configuration: configuration))
        }
        self.clients = made
        self.breakers = breakers
    }

    /// Attempts the daemon allowed so far, all clients.
    var allowedAttempts: Int { allowed.load(ordering: .acquiring) }
    /// Outcomes reported per breaker (of attempts the daemon allowed).
    var reported: [String: Tally] { tallies.withLock { $0 } }

    /// Starts `workers` tasks per client on the breakers, each pausing `pause` between attempts
    /// and reporting every `failureEvery`-th outcome as a failure, and one task per client that
    /// fails the breaker named by `trip(_:)` every `tripPause`.
    func start(workers: Int, pause: Duration, failureEvery: Int, tripPause: Duration) {
        var started: [Task<Void, Never>] = []
        for client in clients {
            let handles = breakers.map { client.breaker($0) }
            for worker in 0..<workers {
                started.append(Task.detached { [self] in
                    var turn = worker
                    while !stopping.load(ordering: .acquiring) {
                        let breaker = handles[(turn * 7 + worker) % handles.count]
                        await report(on: breaker, failure: turn % failureEvery == 0)
                        turn += 1
                        try? await Task.sleep(for: pause)
                    }
                })
            }
            started.append(Task.detached { [self] in
                while !stopping.load(ordering: .acquiring) {
                    if let name = tripping.withLock({ $0 }) { await report(on: client.breaker(name), failure: true) }
                    try? await Task.sleep(for: tripPause)
                }
            })
        }
        tasks.withLock { $0 = started }
    }

    /// From now on each client's tripping task fails `breaker` (nil: none).
    func trip(_ breaker: String?) {
        tripping.withLock { $0 = breaker }
    }

    /// One attempt; its outcome is reported and counted when the daemon allowed it.
    private func report(on breaker: Breaker, failure: Bool) async {
        guard let attempt = try? await breaker.attempt() else { return }  // open, or no daemon (fail-closed)
        guard !attempt.isFallback else {
            attempt.abandon()
            return
        }
        // Counted before it is handed over: the count is never behind what the client may send.
        tallies.withLock { tallies in
            if failure { tallies[breaker.name, default: Tally()].failures += 1 } else { tallies[breaker.name, default: Tally()].successes += 1 }
        }
        if failure { attempt.failed() } else { attempt.succeeded() }
        allowed.add(1, ordering: .releasing)
    }

    /// Stops the tasks, then waits until every client has its records acknowledged; false if
    /// one still has records pending after `timeout`.
    func stop(timeout: Duration = .seconds(60)) async -> Bool {
        stopping.store(true, ordering: .releasing)
        for task in tasks.withLock({ $0 }) { await task.value }
        var flushed = true
        for client in clients where !(await client.flush(timeout: timeout)) { flushed = false }
        return flushed
    }

    func shutdown() async {
        stopping.store(true, ordering: .releasing)
        for task in tasks.withLock({ $0 }) { await task.value }
        for client in clients { await client.shutdown() }
    }
}
