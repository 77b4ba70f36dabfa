import BreakerClient
import BreakerTestSupport
import Foundation
import Testing

/// The record entries in request lines (a `record-batch` line's entries one by one), as the
/// daemon received them.
private func recordEntries(_ lines: [String]) -> [[String: Any]] {
    lines.flatMap { line -> [[String: Any]] in
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let op = object["op"] as? String else { return [] }
        if op == "record-batch" { return object["records"] as? [[String: Any]] ?? [] }
        return op.hasPrefix("record-") ? [object] : []
    }
}

extension BreakerClientTests {
    /// A closed breaker's summed successes are sent at most once, without a dedupe key: lost
    /// in a failed connection they can only make a breaker trip sooner, never later, and a
    /// remembered key per aggregate costs the daemon most of a healthy fleet's CPU. Failures
    /// and half-open trials keep their keys and are resent.
    @Suite struct SuccessAtMostOnce {
        @Test func aSuccessAggregateCarriesNoDedupeKeyWhileFailuresAndTrialsDo() async throws {
            try await withProxiedClient { daemon, proxy, client in
                try daemon.configure("db", #"{"failure_threshold":1000000}"#)
                let db = client.breaker("db")
                for _ in 0..<5 { try await db.attempt().succeeded() }
                try await db.attempt().failed()
                // A half-open trial: one failure opens "api", which is half_open a millisecond later.
                try daemon.configure("api", #"{"failure_threshold":1,"success_threshold":1,"timeout_ms":1,"half_open_max_calls":1}"#)
                let api = client.breaker("api")
                try await api.attempt().failed()
                #expect(await client.flush(timeout: patience))
                #expect(await eventually(within: patience) { (try? daemon.inspect("api")["state"]) == .string("half_open") })
                #expect(await eventually(within: patience) { client.statistics.pushedTransitions >= 2 })
                let trial = try await api.attempt()
                #expect(trial.isTrial == true)
                trial.succeeded()
                #expect(await client.flush(timeout: patience))

                let entries = recordEntries(proxy.forwarded)
                let aggregates = entries.filter { $0["op"] as? String == "record-success" && $0["permit"] == nil }
                let trials = entries.filter { $0["op"] as? String == "record-success" && $0["permit"] != nil }
                let failures = entries.filter { $0["op"] as? String == "record-failure" }
                #expect(aggregates.count == 1 && aggregates.first?["count"] as? Int == 5)
                #expect(aggregates.allSatisfy { $0["dedupe"] == nil }, "\(aggregates)")
                #expect(trials.count == 1 && failures.count == 2)
                #expect((trials + failures).allSatisfy { ($0["dedupe"] as? String)?.isEmpty == false }, "\(trials + failures)")
                #expect(try daemon.inspect("api")["state"] == .string("closed"), "the trial's success closed it")
            }
        }

        /// The proxy passes the aggregate to the daemon, which counts it, and cuts the connection
        /// before the reply reaches the client. The client does not know whether it was counted
        /// and does not resend it: it is counted as lost, and the daemon counted it once.
        @Test func aSuccessAggregateCutOffBeforeItsReplyIsNotResentAndCountedAsLost() async throws {
            let clock = ManualClock()  // stands still: the ten successes fold into one aggregate
            try await withProxiedClient({ $0.clock = .manual(clock) }) { daemon, proxy, client in
                try daemon.configure("db", #"{"failure_threshold":1000000}"#)
                let db = client.breaker("db")
                try await db.attempt().succeeded()  // caches the decision
                #expect(await client.flush(timeout: patience))
                proxy.set(.cutNextRecordReply)
                for _ in 0..<10 { try await db.attempt().succeeded() }
                #expect(await client.flush(timeout: .seconds(30)))
                #expect(proxy.swallowed == 1)

                let stats = client.statistics
                #expect(stats.recordsResent == 0, "a success aggregate is written once")
                #expect(stats.recordsLost == 1 && stats.successesLost == 10)
                #expect(stats.recordsAcknowledged == 1 && stats.recordsSent == 2 && stats.recordsPending == 0)
                let aggregates = recordEntries(proxy.forwarded).filter { $0["op"] as? String == "record-success" }
                #expect(aggregates.map { $0["count"] as? Int } == [nil, 10], "one write of each aggregate")
                #expect(try daemon.inspect("db")["metrics"]?["successful_calls"] == .int(11))
            }
        }

        /// The same cut on a failure: it is resent with the same key on the next connection, and
        /// the daemon, which committed the first write, counts it once.
        @Test func aFailureCutOffBeforeItsReplyIsResentWithItsKeyAndCountedOnce() async throws {
            try await withProxiedClient { daemon, proxy, client in
                try daemon.configure("db", #"{"failure_threshold":1000000}"#)
                let db = client.breaker("db")
                _ = try await db.attempt()  // caches the decision
                proxy.set(.cutNextRecordReply)
                try await db.attempt().failed()
                #expect(await client.flush(timeout: .seconds(30)))
                #expect(proxy.swallowed == 1)

                let stats = client.statistics
                #expect(stats.recordsResent == 1 && stats.recordsAcknowledged == 1)
                #expect(stats.recordsLost == 0 && stats.successesLost == 0)
                let writes = recordEntries(proxy.forwarded).filter { $0["op"] as? String == "record-failure" }
                #expect(writes.count == 2)
                #expect(writes.first?["dedupe"] as? String != nil && writes.first?["dedupe"] as? String == writes.last?["dedupe"] as? String)
                #expect(try daemon.inspect("db")["metrics"]?["failed_calls"] == .int(1))
            }
        }
    }
}
