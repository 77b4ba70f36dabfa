import ArgumentParser

/// The operations a load mix is made of, with their breakerd op and the Redis command that does
/// the same job for a shared-state breaker (pybreaker's CircuitRedisStorage, gobreaker v2).
enum BenchOp: Int, CaseIterable, Sendable {
    case shouldAttempt = 0
    case recordSuccess = 1
    case recordFailure = 2

    var wireName: String {
        switch self {
        case .shouldAttempt: "should-attempt"
        case .recordSuccess: "record-success"
        case .recordFailure: "record-failure"
        }
    }

    /// Redis: GET for a decision, SET name 0 for a success (resets the count), INCR for a failure.
    var redisName: String {
        switch self {
        case .shouldAttempt: "GET"
        case .recordSuccess: "SET"
        case .recordFailure: "INCR"
        }
    }
}

/// `should-attempt=90,record-success=8,record-failure=2`: weights, not necessarily summing to 100.
struct OpMix: ExpressibleByArgument, CustomStringConvertible, Sendable {
    /// Cumulative thresholds out of `total`, in `BenchOp` order.
    var weights: [Int]
    var total: Int { weights.reduce(0, +) }

    init(weights: [Int]) { self.weights = weights }

    init?(argument: String) {
        var weights = [0, 0, 0]
        for part in argument.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let w = Int(kv[1]), w >= 0,
                  let op = BenchOp.allCases.first(where: { $0.wireName == kv[0] }) else { return nil }
            weights[op.rawValue] = w
        }
        guard weights.reduce(0, +) > 0 else { return nil }
        self.weights = weights
    }

    var description: String {
        BenchOp.allCases.filter { weights[$0.rawValue] > 0 }
            .map { "\($0.wireName)=\(weights[$0.rawValue])" }.joined(separator: ",")
    }

    /// Picks an op from a uniform random number in 0..<total.
    @inline(__always)
    func pick(_ r: Int) -> BenchOp {
        if r < weights[0] { return .shouldAttempt }
        if r < weights[0] + weights[1] { return .recordSuccess }
        return .recordFailure
    }
}

/// `127.0.0.1:7420` (breakerd, newline-delimited JSON) or `redis://127.0.0.1:6379` (RESP).
struct Target: ExpressibleByArgument, CustomStringConvertible, Sendable {
    enum Kind: String, Sendable { case breakerd, redis }
    var kind: Kind
    var host: String
    var port: UInt16

    init?(argument: String) {
        var rest = Substring(argument)
        if rest.hasPrefix("redis://") {
            kind = .redis
            rest = rest.dropFirst("redis://".count)
        } else if rest.hasPrefix("breakerd://") {
            kind = .breakerd
            rest = rest.dropFirst("breakerd://".count)
        } else {
            kind = .breakerd
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]) else {
            return nil
        }
        host = String(rest[..<colon])
        // An IPv4 literal (checked when connecting); no name resolution in a load generator.
        if host == "localhost" || host.isEmpty { host = "127.0.0.1" }
        self.port = port
    }

    var description: String { kind == .redis ? "redis://\(host):\(port)" : "\(host):\(port)" }
}

/// Time in seconds with a suffix: `10s`, `500ms`, `2m`, or a bare number of seconds.
struct Seconds: ExpressibleByArgument, Sendable {
    var value: Double
    init(_ value: Double) { self.value = value }
    init?(argument: String) {
        let table: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        for (suffix, factor) in table where argument.hasSuffix(suffix) {
            guard let n = Double(argument.dropLast(suffix.count)), n >= 0 else { return nil }
            value = n * factor
            return
        }
        guard let n = Double(argument), n >= 0 else { return nil }
        value = n
    }
}

/// Everything a run needs, validated.
struct BenchConfig: Sendable {
    var target: Target
    var connections: Int
    var pipeline: Int
    var duration: Double
    var warmup: Double
    var breakers: Int
    var mix: OpMix
    var rate: Double?
    var threads: Int
    var prefix: String
    var populate: Bool
}
