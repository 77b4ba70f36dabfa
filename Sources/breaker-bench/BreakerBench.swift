import ArgumentParser
import Foundation

@main
struct BreakerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breaker-bench",
        abstract: "Load generator for breakerd (newline-delimited JSON) and Redis (RESP) over real TCP.",
        discussion: """
        Closed loop by default (every connection keeps --pipeline requests in flight); --rate R
        switches to an open loop at R req/s in all, with latency measured from when each request
        was due. Exits with status 1 when any request got an error or unexpected reply.
        """
    )

    @Option(help: "breakerd as HOST:PORT, or Redis as redis://HOST:PORT.")
    var target: Target = Target(argument: "127.0.0.1:7420")!

    @Option(name: [.customShort("c"), .long], help: "TCP connections.")
    var connections = 16

    @Option(name: [.customShort("P"), .long], help: "Requests in flight per connection (closed loop).")
    var pipeline = 1

    @Option(help: "Measured time: 10s, 500ms, 1m.")
    var duration = Seconds(10)

    @Option(help: "Warm-up before measuring (same load, not counted).")
    var warmup = Seconds(1)

    @Option(help: "Number of breakers (keys) the requests are spread over, uniformly.")
    var breakers = 10

    @Option(help: "Operation weights: should-attempt, record-success, record-failure.")
    var mix = OpMix(weights: [90, 8, 2])

    @Option(help: "Open loop: offered load in requests per second, all connections together.")
    var rate: Double?

    @Option(help: "Client threads; connections are spread over them.")
    var threads = 1

    @Option(name: .customLong("name-prefix"), help: "Breaker (key) names are PREFIX0 … PREFIX(K-1).")
    var namePrefix = "bench-"

    @Flag(help: "Before the run, touch every one of the K names once (should-attempt / GET), in order.")
    var populate = false

    @Flag(help: "Print the result as one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard connections >= 1, connections <= 10_000 else { throw ValidationError("--connections: 1…10000") }
        guard pipeline >= 1, pipeline <= 10_000 else { throw ValidationError("--pipeline: 1…10000") }
        guard breakers >= 1, breakers <= 100_000_000 else { throw ValidationError("--breakers: 1…100000000") }
        guard threads >= 1, threads <= connections else { throw ValidationError("--threads: 1…connections") }
        guard duration.value > 0 else { throw ValidationError("--duration must be positive") }
        if let rate { guard rate > 0 else { throw ValidationError("--rate must be positive") } }
        guard namePrefix.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { throw ValidationError("--name-prefix: printable ASCII without quotes or backslashes") }
    }

    func run() throws {
        let config = BenchConfig(
            target: target, connections: connections, pipeline: pipeline, duration: duration.value,
            warmup: warmup.value, breakers: breakers, mix: mix, rate: rate, threads: threads,
            prefix: namePrefix, populate: populate
        )
        signal(SIGPIPE, SIG_IGN)
        var conns: [Connection] = []
        do {
            for _ in 0..<connections { conns.append(try Connection(host: target.host, port: target.port)) }
        } catch {
            FileHandle.standardError.write(Data("breaker-bench: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if populate {
            let t0 = nowNanos()
            let filler = Worker(config: config, connections: conns, seed: 1)
            filler.populate(names: 0..<breakers, window: 256)
            let secs = Double(nowNanos() - t0) / 1e9
            FileHandle.standardError.write(Data(String(format: "populated %d names in %.2f s (%d errors)\n",
                                                       breakers, secs, filler.stats.errors + filler.stats.connectionFailures).utf8))
            if filler.stats.errors + filler.stats.connectionFailures > 0 { throw ExitCode(1) }
        }
        let workers = (0..<threads).map { t in
            Worker(config: config, connections: stride(from: t, to: conns.count, by: threads).map { conns[$0] },
                   seed: UInt64(t + 1) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(nowNanos()))
        }
        let start = nowNanos()
        let measureFrom = start + UInt64(config.warmup * 1e9)
        let end = measureFrom + UInt64(config.duration * 1e9)
        let group = DispatchGroup()
        for w in workers {
            group.enter()
            let thread = Thread { w.run(measureFrom: measureFrom, end: end); group.leave() }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        var total = WorkerStats()
        for w in workers { total.merge(w.stats) }
        for c in conns { c.shutdown() }
        let report = BenchReport(config: config, stats: total, measured: config.duration)
        print(json ? report.json() : report.table())
        if let loud = report.loudErrors() {
            FileHandle.standardError.write(Data((loud + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

extension Worker: @unchecked Sendable {}
