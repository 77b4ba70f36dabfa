import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// Many SIGKILLs at random moments under mixed load from several connections, a restart on the
/// same file after each, and after every restart: every acknowledged record, configure, reset
/// and transition is there, no count is lower than acknowledged, and `PRAGMA integrity_check`
/// says ok. `BREAKERD_CRASH_CYCLES` sets the number of cycles (default 20); `BREAKERD_BIN` picks
/// the binary (scripts/crash-loop.sh runs it against a release build).
extension ExecutableTests {
@Suite("Crash loop")
struct CrashLoopTests {
    /// What one connection saw acknowledged during one cycle. Written by exactly one thread,
    /// read by the test only after that thread is joined (DispatchGroup.wait), hence Sendable.
    final class Acks: @unchecked Sendable {
        var successes = 0
        var failures = 0
        /// The last acknowledged configure's timeout, and one sent but not answered.
        var configured: Int64?
        var pendingConfigure: Int64?
        /// Highest generation any acknowledged change reported.
        var generation: Int64 = 0
        /// Generations of transitions an acknowledged change made (its reply shows a state other
        /// than the one the previous reply on this connection showed): opens by records, resets.
        var transitions: [Int64] = []
        var resets = 0
        /// The record in flight when the daemon died (sent, never answered), with its
        /// `dedupe` key: the test sends it again after the restart, as a client would.
        var pendingRecord: (line: String, outcome: Outcome, count: Int)?
    }

    enum Outcome { case success, failure }

    /// What the test knows must survive, per breaker, across all cycles so far.
    struct Known {
        var successes = 0
        var failures = 0
        var configured: Int64?
        var generation: Int64 = 0
    }

    static func integrityCheck(_ path: String) throws -> String {
        let output = try runProcess("/usr/bin/env", ["sqlite3", path, "PRAGMA integrity_check;"])
        return (output.stdout + output.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func load(worker w: Int, cycle: Int, port: Int, acks: Acks) {
        guard let c = try? LineClient(port: port) else { return }
        let name = "loop-\(w)"
        var i = 0
        var lastState: String?
        while true {
            let line: String
            let timeout = Int64(10_000 + cycle * 1000 + i)
            switch i % 12 {
            case 0:
                line = #"{"op":"configure","breaker":"\#(name)","config":{"timeout_ms":\#(timeout),"failure_threshold":3}}"#
                acks.pendingConfigure = timeout
            case 1, 2, 3, 4:
                line = #"{"op":"record-failure","breaker":"\#(name)","count":\#(i % 3 + 1),"dedupe":"c\#(cycle)-\#(i)"}"#
                acks.pendingRecord = (line, .failure, i % 3 + 1)
            case 5: line = #"{"op":"should-attempt","breaker":"\#(name)"}"#
            case 6: line = #"{"op":"reset","breaker":"\#(name)"}"#
            default:
                line = #"{"op":"record-success","breaker":"\#(name)","dedupe":"c\#(cycle)-\#(i)"}"#
                acks.pendingRecord = (line, .success, 1)
            }
            guard let reply = try? c.request(line), reply["ok"] == .bool(true) else { return }
            acks.pendingRecord = nil
            let generation = reply["generation"]?.int ?? reply["breaker"]?["generation"]?.int ?? 0
            let state = reply["state"]?.string ?? reply["breaker"]?["state"]?.string
            if i % 12 != 5, let lastState, let state, state != lastState { acks.transitions.append(generation) }
            lastState = state
            switch i % 12 {
            case 0: acks.configured = timeout
            case 1, 2, 3, 4: acks.failures += i % 3 + 1
            case 5: break
            case 6: acks.resets += 1
            default: acks.successes += 1
            }
            if i % 12 != 5 { acks.generation = max(acks.generation, generation) }
            i += 1
        }
    }

    @Test func twentySigkillsUnderMixedLoadLoseNothingAcknowledged() throws {
        let cycles = Int(ProcessInfo.processInfo.environment["BREAKERD_CRASH_CYCLES"] ?? "") ?? 20
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/breakerd.sqlite3"
        let workers = 4
        var known = [Known](repeating: Known(), count: workers)
        var acknowledged = 0, transitionsChecked = 0, resetsAcknowledged = 0, retried = 0
        let started = Date()
        var daemon = DaemonProcess(database: database)
        try daemon.start()
        for cycle in 0..<cycles {
            let acks = (0..<workers).map { _ in Acks() }
            let group = DispatchGroup()
            let port = daemon.port
            for w in 0..<workers {
                group.enter()
                Thread { Self.load(worker: w, cycle: cycle, port: port, acks: acks[w]); group.leave() }.start()
            }
            usleep(UInt32.random(in: 50_000...400_000))
            daemon.kill(SIGKILL)
            group.wait()
            for w in 0..<workers {
                known[w].successes += acks[w].successes
                known[w].failures += acks[w].failures
                known[w].generation = max(known[w].generation, acks[w].generation)
                acknowledged += acks[w].successes + acks[w].failures
            }

            daemon = DaemonProcess(database: database)
            try daemon.start()
            let check = try Self.integrityCheck(database)
            #expect(check == "ok", "cycle \(cycle): integrity_check says \(check)")
            let c = try daemon.client()
            // The record that was in flight is sent again with its dedupe key, twice: it must be
            // counted exactly once in all, whether or not it was committed before the kill.
            for w in 0..<workers {
                guard let pending = acks[w].pendingRecord else { continue }
                let first = try c.request(pending.line), second = try c.request(pending.line)
                #expect(first["ok"] == .bool(true) && first["generation"] == second["generation"] && first["state"] == second["state"],
                        "cycle \(cycle): retried record answered \(first) then \(second)")
                switch pending.outcome {
                case .success: known[w].successes += pending.count
                case .failure: known[w].failures += pending.count
                }
                retried += 1
            }
            for w in 0..<workers {
                let name = "loop-\(w)"
                guard let breaker = try c.request(#"{"op":"inspect","breaker":"\#(name)"}"#)["breaker"] else {
                    #expect(known[w].successes + known[w].failures == 0 && acks[w].configured == nil && known[w].configured == nil,
                            "cycle \(cycle): \(name) missing after acknowledged changes")
                    continue
                }
                let metrics = breaker["metrics"]
                let successes = Int(metrics?["successful_calls"]?.int ?? -1), failures = Int(metrics?["failed_calls"]?.int ?? -1)
                // Exactly: every acknowledged record once, the retried one once, nothing else
                // (every record carries a dedupe key, and the only unanswered one was retried).
                #expect(successes == known[w].successes, "cycle \(cycle) \(name): successes \(successes), acknowledged \(known[w].successes)")
                #expect(failures == known[w].failures, "cycle \(cycle) \(name): failures \(failures), acknowledged \(known[w].failures)")
                let generation = breaker["generation"]?.int ?? -1
                #expect(generation >= known[w].generation, "cycle \(cycle) \(name): generation \(generation) < acknowledged \(known[w].generation)")
                if let t = acks[w].configured ?? known[w].configured {
                    let stored = breaker["config"]?["timeout_ms"]?.int ?? 0
                    // The configure sent when the daemon died may have been committed unanswered.
                    #expect(stored == t || stored == acks[w].pendingConfigure, "cycle \(cycle) \(name): timeout \(stored), acknowledged \(t)")
                    known[w].configured = stored
                }
                // Every transition an acknowledged change made (this cycle) is in the transition log.
                if !acks[w].transitions.isEmpty {
                    let history = try c.request(#"{"op":"history","breaker":"\#(name)","limit":1000}"#)
                    let logged = Set(history["transitions"]?.array?.compactMap { $0["generation"]?.int } ?? [])
                    let missing = acks[w].transitions.filter { !logged.contains($0) }
                    #expect(missing.isEmpty, "cycle \(cycle) \(name): acknowledged transitions \(missing) not in history")
                }
                transitionsChecked += acks[w].transitions.count
                resetsAcknowledged += acks[w].resets
                // From here on, what was committed is what must survive.
                known[w].successes = successes
                known[w].failures = failures
                known[w].generation = generation
            }
        }
        print("crash loop: \(cycles) SIGKILL cycles, \(acknowledged) acknowledged outcomes, \(resetsAcknowledged) resets, \(transitionsChecked) acknowledged transitions found in the log, \(retried) in-flight records retried with their dedupe key and counted exactly once, 0 lost, integrity_check ok after every restart, \(Int(Date().timeIntervalSince(started))) s")
        daemon.kill(SIGTERM)
        #expect(daemon.process.terminationStatus == 0)
    }
}
}
