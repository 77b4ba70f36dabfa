import ArgumentParser
import BreakerClient
import Foundation
import Logging
import Synchronization

/// A fleet of real `BreakerClient` instances (one per simulated replica) guarding `B` breakers
/// each at `R` calls/s per breaker, against a running breakerd. Prints what the daemon saw per
/// guarded call (requests from its `/metrics`, CPU from `/proc`) and, when one dependency breaks
/// halfway, how long until every replica rejects it.
@main
struct FleetBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "breaker-fleet",
                                                    abstract: "Simulates a fleet of BreakerClient replicas against breakerd.")

    @Option(help: "breakerd's protocol address") var target = "127.0.0.1:7420"
    @Option(help: "breakerd's HTTP port (for /metrics)") var httpPort = 7421
    @Option(help: "breakerd's process id (for its CPU time from /proc)") var daemonPid: Int32
    @Option(help: "replicas (one BreakerClient each)") var replicas = 50
    @Option(help: "breakers each replica guards") var breakers = 10
    @Option(help: "guarded calls per second per breaker per replica") var rate = 100
    @Option(help: "seconds to run") var seconds = 10.0
    @Option(help: "at this fraction of the run, dependency 0 starts failing (0: never)") var breakAt = 0.5
    @Option(help: "prefix of the breakers' names (fresh names per run keep runs apart)") var prefix = "fleet-"
    @Option(help: "seconds of calls before the measurement starts (steady state: first decisions and config reads left out)") var warmup = 0.0

    func run() async throws {
        LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
        let parts = target.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--target HOST:PORT") }
        var clients: [BreakerClient] = []
        for replica in 0..<replicas {
            var configuration = BreakerClient.Configuration(host: String(parts[0]), port: port)
            configuration.clientName = "replica-\(replica)"
            clients.append(try await BreakerClient(configuration: configuration))
        }
        let names = (0..<breakers).map { "\(prefix)dep-\($0)" }
        for name in names {  // a threshold the broken dependency reaches in a few calls
            _ = try await clients[0].breaker(name).configure(BreakerConfigPatch(failureThreshold: 5))
        }
        let callsStart = ContinuousClock.now
        let start = callsStart + .seconds(warmup)
        let end = start + .seconds(seconds)
        let breakTime = breakAt > 0 ? start + .seconds(seconds * breakAt) : nil
        let tally = Tally()
        let baseline = Task { () throws -> ([String: Double], Double) in
            try await Task.sleep(until: start, clock: .continuous)
            tally.calls.store(0, ordering: .relaxed)
            return (try Self.daemonRequests(httpPort: httpPort), try Self.cpuSeconds(pid: daemonPid))
        }
        await withTaskGroup(of: Void.self) { group in
            for (replica, client) in clients.enumerated() {
                for (index, name) in names.enumerated() {
                    let breaker = client.breaker(name)
                    let broken = index == 0 ? breakTime : nil
                    group.addTask {
                        await Self.callLoop(breaker, rate: rate, until: end, brokenFrom: broken, replica: replica, tally: tally)
                    }
                }
            }
        }
        let (requests0, cpu0) = try await baseline.value
        let requestsEnd = try Self.daemonRequests(httpPort: httpPort), cpuEnd = try Self.cpuSeconds(pid: daemonPid)
        let elapsed = ContinuousClock.now - start
        let calls = tally.calls.load(ordering: .relaxed)
        for client in clients { _ = await client.flush(timeout: .seconds(5)); await client.shutdown() }
        let byOp = requestsEnd.mapValues { $0 } .merging(requests0.mapValues { -$0 }, uniquingKeysWith: +)
        let requests = byOp.values.reduce(0, +)
        let cpu = cpuEnd - cpu0
        let secondsRun = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("fleet: \(replicas) replicas x \(breakers) breakers x \(rate)/s for \(String(format: "%.1f", secondsRun)) s")
        print(String(format: "guarded calls: %d (%.0f/s)", calls, Double(calls) / secondsRun))
        print(String(format: "daemon requests: %.0f (%.0f/s), %.4f per guarded call", requests, requests / secondsRun, requests / Double(max(calls, 1))))
        for (op, count) in byOp.sorted(by: { $0.value > $1.value }) where count > 0 {
            print(String(format: "  %@: %.0f (%.1f/s per replica)", op, count, count / secondsRun / Double(replicas)))
        }
        print(String(format: "daemon CPU: %.2f s (%.2f cores), %.3f µs per guarded call", cpu, cpu / secondsRun, cpu * 1e6 / Double(max(calls, 1))))
        if cpu > 0 {
            print(String(format: "one daemon core at this cost: %.0f guarded calls/s", Double(calls) / cpu))
        }
        if let breakTime {
            let rejectedAt = tally.firstRejections()
            let firstFailure = tally.firstFailure() ?? breakTime
            if rejectedAt.count == replicas, let last = rejectedAt.max() {
                print("dependency 0 broke: every replica rejected it \(Self.ms(last - firstFailure)) after the first failure (first replica \(Self.ms(rejectedAt.min()! - firstFailure)))")
            } else {
                print("dependency 0 broke: only \(rejectedAt.count) of \(replicas) replicas rejected it")
            }
        }
    }

    static func ms(_ d: Duration) -> String {
        String(format: "%.1f ms", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
    }

    struct DependencyDown: Error {}

    /// Calls at a steady pace (catching up if late), the dependency failing from `brokenFrom`.
    static func callLoop(_ breaker: Breaker, rate: Int, until end: ContinuousClock.Instant,
                         brokenFrom: ContinuousClock.Instant?, replica: Int, tally: Tally) async {
        let interval = Duration.seconds(1) / rate
        var next = ContinuousClock.now + interval * Double.random(in: 0..<1)
        while next < end {
            try? await Task.sleep(until: next, clock: .continuous)
            next += interval
            let now = ContinuousClock.now
            let broken = brokenFrom.map { now >= $0 } ?? false
            do {
                try await breaker.run {
                    if broken {
                        tally.failed(at: now)
                        throw DependencyDown()
                    }
                }
            } catch is BreakerOpenError {
                if broken { tally.rejected(replica: replica, at: now) }
            } catch {}
            tally.calls.add(1, ordering: .relaxed)
        }
    }

    /// What breakerd counted in `breakerd_requests_total`, by its labels, from its `/metrics`.
    static func daemonRequests(httpPort: Int) throws -> [String: Double] {
        let text = try httpGet(port: httpPort, path: "/metrics")
        var byLabels: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("breakerd_requests_total{") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[parts.count - 1]) else { continue }
            let labels = line.dropFirst("breakerd_requests_total".count).prefix { $0 != " " }
            byLabels[String(labels), default: 0] += value
        }
        return byLabels
    }

    struct HTTPFailure: Error {}

    /// A plain HTTP/1.0 GET on 127.0.0.1, body as text (the bench needs nothing more).
    static func httpGet(port: Int, path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPFailure() }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw HTTPFailure() }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { throw HTTPFailure() }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            response += chunk[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let body = text.range(of: "\r\n\r\n") else { throw HTTPFailure() }
        return String(text[body.upperBound...])
    }

    /// The daemon's user + system CPU time, from /proc/PID/stat.
    static func cpuSeconds(pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        let ticks = Double(fields[11])! + Double(fields[12])!  // utime, stime (fields 14, 15)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Counts shared by every call loop.
final class Tally: Sendable {
    let calls = Atomic<Int>(0)
    private let times = Mutex<(firstFailure: ContinuousClock.Instant?, rejected: [Int: ContinuousClock.Instant])>((nil, [:]))

    func failed(at time: ContinuousClock.Instant) {
        times.withLock { if $0.firstFailure == nil || time < $0.firstFailure! { $0.firstFailure = time } }
    }

    func rejected(replica: Int, at time: ContinuousClock.Instant) {
        times.withLock { if $0.rejected[replica] == nil { $0.rejected[replica] = time } }
    }

    func firstFailure() -> ContinuousClock.Instant? { times.withLock { $0.firstFailure } }
    func firstRejections() -> [ContinuousClock.Instant] { times.withLock { Array($0.rejected.values) } }
}
