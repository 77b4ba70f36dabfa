// A service that guards its SQLite queries with a breaker in breakerd.
//
//   swift run breakerd &                      # the daemon on 127.0.0.1:7420
//   swift run ExampleService --requests 300 --outage 100-160
//
// Requests 100 to 160 query a table that does not exist (an "outage"): after a few failures
// the breaker opens — for every replica at once, if you start several — and the service
// answers from its fallback instead of hammering the database. Two seconds later trial calls
// go through, succeed, and the breaker closes. Without breakerd the client's `.local`
// fallback does the same within this process.
import BreakerClient
import Foundation
import Logging

struct Options {
    var host = "127.0.0.1"
    var port = 7420
    var requests = 300
    var outage = 100...160
    var database = NSTemporaryDirectory() + "example-orders.sqlite3"

    init(_ arguments: [String]) {
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            let value = rest.popFirst() ?? ""
            switch flag {
            case "--host": host = value
            case "--port": port = Int(value) ?? port
            case "--requests": requests = Int(value) ?? requests
            case "--db": database = value
            case "--outage":
                let bounds = value.split(separator: "-").compactMap { Int($0) }
                if bounds.count == 2, bounds[0] <= bounds[1] { outage = bounds[0]...bounds[1] }
            default: print("unknown option \(flag)")
            }
        }
    }
}

let options = Options(CommandLine.arguments)
var logger = Logger(label: "example-service")
logger.logLevel = .notice

let orders = try OrdersDatabase(path: options.database)
try orders.seed(orders: 10_000)

var configuration = BreakerClient.Configuration(host: options.host, port: options.port)
configuration.fallback = .local  // without breakerd, decide from this process's own outcomes
configuration.defaultLocalConfig = BreakerConfig(failureThreshold: 3, timeoutMs: 2_000)
configuration.logger = logger
let client = try await BreakerClient(configuration: configuration)
let breaker = client.breaker("sqlite-orders")
do {
    _ = try await breaker.configure(BreakerConfigPatch(failureThreshold: 3, successThreshold: 2, timeout: .seconds(2)))
} catch {
    logger.notice("breakerd is not reachable; the local fallback guards the database", metadata: ["error": "\(error)"])
}

var served = 0, failed = 0, rejected: [BreakerOpenError.Source: Int] = [:]
let retry = RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(5), maxDelay: .milliseconds(20))
for request in 1...options.requests {
    let table = options.outage.contains(request) ? "orders_missing" : "orders"
    do {
        let cents = try await breaker.run(retrying: retry) { try orders.revenue(segment: request, table: table) }
        served += 1
        if request % 50 == 0 { print("request \(request): segment revenue \(Double(cents) / 100)") }
    } catch let open as BreakerOpenError {
        rejected[open.source, default: 0] += 1  // serve a cached page, a default, a 503…
        if rejected.values.reduce(0, +) == 1 { print("request \(request): \(open)") }
    } catch {
        failed += 1
    }
    try await Task.sleep(for: .milliseconds(20))
}

let stats = client.statistics
print("""
    served \(served), failed \(failed), rejected by the breaker \(rejected.map { "\($0.value) (\($0.key.rawValue))" }.joined(separator: ", "))
    daemon reachable: \(stats.isDaemonAvailable); decisions asked: \(stats.decisionRequests); \
    outcomes sent: \(stats.outcomesSent) in \(stats.recordsSent) records; fallback decisions: \(stats.fallbackDecisions)
    """)
await client.shutdown()
