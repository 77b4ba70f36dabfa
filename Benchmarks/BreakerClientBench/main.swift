// The client's hot path, in release mode (see BENCHMARKS.md for the command and numbers):
//   cached `attempt()`: a CLOSED decision reused from the cache;
//   `run {}` around a no-op: cached decision + folded, asynchronous success record.
// A real daemon (in-process registry and server over a temp SQLite file) answers the first
// question and receives the records; `--cache-ms` is an hour so every call hits the cache.
import BreakerClient
import BreakerServer
import BreakerStore
import Foundation
import Logging
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Allocations counted by Benchmarks/malloc-counter.c when it is preloaded; nil otherwise.
let mallocCount: (@convention(c) () -> UInt64)? = dlsym(nil, "bench_malloc_count").map {
    unsafeBitCast($0, to: (@convention(c) () -> UInt64).self)
}

var logger = Logger(label: "bench")
logger.logLevel = .critical
let directory = NSTemporaryDirectory() + "breaker-client-bench-" + UUID().uuidString
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
var settings = BreakerRegistry.Settings()
settings.closedCacheMs = 3_600_000
let registry = try BreakerRegistry(database: try BreakerDatabase(path: directory + "/bench.sqlite3", logger: logger),
                                   settings: settings, timers: group.next(), logger: logger)
var serverConfiguration = BreakerServer.Configuration()
serverConfiguration.port = 0
let server = try await BreakerServer.start(configuration: serverConfiguration, registry: registry, group: group, logger: logger)

var configuration = BreakerClient.Configuration(host: "127.0.0.1", port: server.localAddress.port!)
configuration.heartbeatInterval = nil
configuration.logger = logger
let client = try await BreakerClient(configuration: configuration)
let breaker = client.breaker("bench")
_ = try await breaker.attempt()  // the one question the daemon answers

struct Result: Sendable {
    var name: String
    var nanosPerOp: [Double]
    var mallocsPerOp: Double?
}

/// Runs `body` `iterations` times per round and keeps every round's ns/op.
nonisolated func measure(_ name: String, iterations: Int, rounds: Int = 7, _ body: () async throws -> Int) async rethrows -> Result {
    _ = try await body()  // warm-up round
    var samples: [Double] = []
    var mallocs: UInt64 = 0
    for _ in 0..<rounds {
        let before = mallocCount?() ?? 0
        let start = ContinuousClock.now
        var sink = 0
        for _ in 0..<iterations { sink &+= try await body() }
        let elapsed = ContinuousClock.now - start
        mallocs += (mallocCount?() ?? 0) - before
        if sink == -1 { print("unreachable") }
        let (s, atto) = elapsed.components
        samples.append((Double(s) * 1e9 + Double(atto) / 1e9) / Double(iterations))
    }
    return Result(name: name, nanosPerOp: samples.sorted(),
                  mallocsPerOp: mallocCount.map { _ in Double(mallocs) / Double(iterations * rounds) })
}

/// Kept out of the main actor: closures made in top-level code are main-actor isolated, and
/// calling them from the loop would measure two executor hops per iteration.
nonisolated func runBenchmarks(_ breaker: Breaker, iterations: Int) async throws -> [Result] {
    var results: [Result] = []
    results.append(try await measure("cached attempt()", iterations: iterations) {
        try await breaker.attempt().isTrial ? 0 : 1
    })
    results.append(try await measure("run {} around a no-op", iterations: iterations) {
        try await breaker.run { 1 }
    })
    return results
}

let iterations = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 2_000_000
let results = try await runBenchmarks(breaker, iterations: iterations)
await client.flush()
let stats = client.statistics

print("iterations per round: \(iterations), rounds: 7 (best / median ns per op)")
for r in results {
    let best = r.nanosPerOp.first!, median = r.nanosPerOp[r.nanosPerOp.count / 2]
    let mallocs = r.mallocsPerOp.map { String(format: ", %.4f mallocs/op", $0) } ?? ""
    let name = r.name.padding(toLength: 34, withPad: " ", startingAt: 0)
    print(name + String(format: "best %7.1f ns  median %7.1f ns  (%.2f M ops/s best)", best, median, 1e3 / best) + mallocs)
}
print("decisions asked of the daemon: \(stats.decisionRequests); successes sent: \(stats.outcomesSent) in \(stats.recordsSent) records")

await client.shutdown()
await server.stop()
registry.shutdown()
try await group.shutdownGracefully()
