import ArgumentParser
import BreakerWire
#if canImport(Glibc)
import Glibc
#endif

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List breakers as a table.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: WaitOptions

    @Option(help: "Only breakers whose name starts with this.")
    var prefix: String?

    @Option(help: "Only breakers in this state: closed, open, half_open or forced_open.")
    var state: String?

    func validate() throws {
        if let state, !["closed", "open", "half_open", "forced_open"].contains(state) {
            throw ValidationError("--state must be closed, open, half_open or forced_open")
        }
    }

    func run() throws {
        let connection = try global.connect(timeoutMs: wait.timeout)
        let reply = try connection.request(.list(prefix: prefix), echoErrors: global.json)
        if global.json {
            // The daemon's reply, narrowed to the --state filter when one was given.
            guard state != nil else { return print(reply.line) }
            let kept = (reply["breakers"] ?? .array([])).arrayValue.filter { $0.stringValue("state") == state }
            var out = JSONWriter()
            out.beginObject(); out.field("ok", true); out.key("breakers"); out.value(.array(kept)); out.endObject()
            return print(String(decoding: out.bytes, as: UTF8.self))
        }
        guard case .list(let views) = reply.reply else { return print(reply.line) }
        let breakers = views.filter { view in state.map { view.breaker.state.wireName == $0 } ?? true }
        let now = wallClockMs()
        var table = Table(["NAME", "STATE", "FAILURES", "CALLS", "REJECTED", "LAST CHANGE"])
        for view in breakers {
            let b = view.breaker
            table.add([
                .init(text: view.name),
                stateCell(b.state.wireName),
                .init(text: String(b.failureCount)),
                .init(text: String(b.metrics.totalCalls)),
                .init(text: String(b.metrics.rejectedCalls)),
                .init(text: formatAgo(now - b.metrics.lastStateChange.millisecondsSinceEpoch)),
            ])
        }
        print(table.render(colored: global.colored))
        if breakers.isEmpty { print("(no breakers)") }
    }
}

func wallClockMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
