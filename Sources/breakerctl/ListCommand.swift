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
        let reply = try connection.request(RequestEncoder.line(.list(prefix: prefix)), echoErrors: global.json)
        let breakers = (reply["breakers"] ?? .array([])).arrayValue.filter { b in state.map { b.stringValue("state") == $0 } ?? true }
        if global.json {
            // The daemon's reply, narrowed to the --state filter when one was given.
            guard state != nil else { return print(reply.line) }
            var out = JSONWriter()
            out.beginObject(); out.field("ok", true); out.key("breakers"); out.value(.array(breakers)); out.endObject()
            return print(String(decoding: out.bytes, as: UTF8.self))
        }
        let now = wallClockMs()
        var table = Table(["NAME", "STATE", "FAILURES", "CALLS", "REJECTED", "LAST CHANGE"])
        for b in breakers {
            let metrics = b["metrics"]
            let changed = metrics?.stringValue("last_state_change").flatMap(RFC3339.parse)
            table.add([
                .init(text: b.stringValue("name") ?? "?"),
                stateCell(b.stringValue("state") ?? "?"),
                .init(text: String(b.intValue("failure_count") ?? 0)),
                .init(text: String(metrics?.intValue("total_calls") ?? 0)),
                .init(text: String(metrics?.intValue("rejected_calls") ?? 0)),
                .init(text: changed.map { formatAgo(now - $0.millisecondsSinceEpoch) } ?? "-"),
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
