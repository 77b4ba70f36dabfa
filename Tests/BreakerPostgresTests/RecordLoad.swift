import BreakerSync
import BreakerTestSupport
import BreakerWire
import Foundation
import struct Synchronization.Atomic

/// Clients recording against a cluster of daemons over raw protocol connections, as a client
/// that knows every daemon would: each worker sends `record-success` with a dedupe key of its own
/// and resends that same record (same key) until it is acknowledged, following `not_leader` to
/// the daemon it names and trying the next daemon on a closed connection, a timeout or any other
/// refusal. What was acknowledged is counted per breaker, so a test can check that the final
/// state counts each acknowledged record exactly once (none lost, none twice).
final class RecordLoad: Sendable {
    let ports: [Int]
    let breakers: [String]
    let workers: Int
    private let stopping = Atomic<Bool>(false)
    private let acknowledgedTotal = Atomic<Int>(0)
    private let acknowledged = Mutex<[String: Int]>([:])
    private let refusals = Mutex<[String: Int]>([:])
    private let problems = Mutex<[String]>([])
    private let finished = DispatchGroup()

    init(ports: [Int], breakers: [String], workers: Int) {
        self.ports = ports
        self.breakers = breakers
        self.workers = workers
    }

    /// Records acknowledged so far, all breakers.
    var acked: Int { acknowledgedTotal.load(ordering: .acquiring) }
    /// Records acknowledged per breaker.
    var ackedPerBreaker: [String: Int] { acknowledged.withLock { $0 } }
    /// Error codes of refused records (retried), with how often each came.
    var refusalCodes: [String: Int] { refusals.withLock { $0 } }
    /// Records that were never acknowledged within two minutes of resending.
    var failures: [String] { problems.withLock { $0 } }

    func start() {
        for worker in 0..<workers {
            finished.enter()
            let thread = Thread { [self] in
                run(worker)
                finished.leave()
            }
            thread.name = "record-load-\(worker)"
            thread.start()
        }
    }

    /// Stops once every worker's record in flight is acknowledged (so nothing sent is left
    /// unaccounted for); false if that did not happen within `seconds`.
    func stop(within seconds: Double = 120) -> Bool {
        stopping.store(true, ordering: .releasing)
        return finished.wait(timeout: .now() + seconds) == .success
    }

    private func run(_ worker: Int) {
        var target = worker % ports.count
        var client: LineClient?
        var sequence = 0
        while !stopping.load(ordering: .acquiring) {
            let breaker = breakers[(worker + sequence) % breakers.count]
            let line = #"{"op":"record-success","breaker":"\#(breaker)","dedupe":"w\#(worker)-\#(sequence)"}"#
            let giveUp = ContinuousClock.now + .seconds(120)
            while true {
                guard ContinuousClock.now < giveUp else {
                    problems.withLock { $0.append("never acknowledged: \(line)") }
                    return
                }
                var code = "connection"
                do {
                    if client == nil { client = try LineClient(port: ports[target], timeoutSeconds: 2) }
                    let reply = try client!.request(line)
                    if reply["ok"]?.bool == true {
                        acknowledged.withLock { $0[breaker, default: 0] += 1 }
                        acknowledgedTotal.add(1, ordering: .releasing)
                        break
                    }
                    code = reply["error"]?["code"]?.string ?? "unknown"
                    if code == "not_leader", let leader = reply["error"]?["leader"]?.string,
                       let port = leader.split(separator: ":").last.flatMap({ Int($0) }),
                       let index = ports.firstIndex(of: port), index != target {
                        refusals.withLock { $0[code, default: 0] += 1 }
                        target = index
                        client = nil
                        continue
                    }
                } catch {}
                refusals.withLock { $0[code, default: 0] += 1 }
                client = nil
                target = (target + 1) % ports.count
                usleep(20_000)  // the client's retry backoff
            }
            sequence += 1
        }
    }
}
