import Foundation
import Histogram

/// The result of one run, printed as a table row or as JSON (`--json`).
struct BenchReport: Codable {
    struct Latency: Codable {
        var p50_us: Double
        var p90_us: Double
        var p99_us: Double
        var p99_9_us: Double
        var max_us: Double
        var mean_us: Double
    }

    var target: String
    var protocol_: String
    var mix: String
    var connections: Int
    var pipeline: Int
    var breakers: Int
    var mode: String
    var offered_rate: Double?
    var duration_s: Double
    var warmup_s: Double
    var requests: Int
    var throughput_rps: Double
    var latency: Latency
    var errors: Int
    var unexpected_replies: Int
    var connection_failures: Int
    var outstanding_at_end: Int
    var first_error: String?

    enum CodingKeys: String, CodingKey {
        case target, protocol_ = "protocol", mix, connections, pipeline, breakers, mode, offered_rate
        case duration_s, warmup_s, requests, throughput_rps, latency, errors, unexpected_replies
        case connection_failures, outstanding_at_end, first_error
    }

    var failed: Bool { errors + unexpected_replies + connection_failures > 0 }

    init(config: BenchConfig, stats: WorkerStats, measured: Double) {
        func us(_ ns: UInt64) -> Double { (Double(ns) / 10).rounded() / 100 }
        let h = stats.latency
        target = config.target.description
        protocol_ = config.target.kind == .redis ? "resp" : "ndjson"
        mix = config.mix.description
        connections = config.connections
        pipeline = config.pipeline
        breakers = config.breakers
        mode = config.rate == nil ? "closed" : "open"
        offered_rate = config.rate
        duration_s = measured
        warmup_s = config.warmup
        requests = stats.completed
        throughput_rps = (Double(stats.completed) / measured).rounded()
        let empty = h.totalCount == 0
        latency = Latency(
            p50_us: empty ? 0 : us(h.valueAtPercentile(50)),
            p90_us: empty ? 0 : us(h.valueAtPercentile(90)),
            p99_us: empty ? 0 : us(h.valueAtPercentile(99)),
            p99_9_us: empty ? 0 : us(h.valueAtPercentile(99.9)),
            max_us: empty ? 0 : us(h.max),
            mean_us: empty ? 0 : (h.mean / 10).rounded() / 100
        )
        errors = stats.errors
        unexpected_replies = stats.unexpected
        connection_failures = stats.connectionFailures
        outstanding_at_end = stats.outstandingAtEnd
        first_error = stats.firstError
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    func table() -> String {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var lines: [String] = []
        lines.append("target \(target) (\(protocol_)), mix \(mix), \(connections) connections × pipeline \(pipeline), "
            + "\(breakers) breakers, \(mode) loop" + (offered_rate.map { " at \(Int($0)) req/s offered" } ?? "")
            + ", \(f(duration_s)) s measured after \(f(warmup_s)) s warm-up")
        let header = ["requests", "req/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "errors"]
        let row = ["\(requests)", "\(Int(throughput_rps))", f(latency.p50_us), f(latency.p90_us), f(latency.p99_us),
                   f(latency.p99_9_us), f(latency.max_us), "\(errors + unexpected_replies + connection_failures)"]
        lines.append(zip(header, row).map { pad($0.0, max($0.0.count, $0.1.count)) }.joined(separator: "  "))
        lines.append(zip(header, row).map { pad($0.1, max($0.0.count, $0.1.count)) }.joined(separator: "  "))
        if outstanding_at_end > connections * pipeline && mode == "open" {
            lines.append("note: \(outstanding_at_end) requests were still outstanding at the end: the target did not keep up with the offered rate")
        }
        return lines.joined(separator: "\n")
    }

    func loudErrors() -> String? {
        guard failed else { return nil }
        return "!!! RUN HAD ERRORS: \(errors) error replies, \(unexpected_replies) unexpected replies, "
            + "\(connection_failures) connection failures; first: \(first_error ?? "?")"
    }
}
