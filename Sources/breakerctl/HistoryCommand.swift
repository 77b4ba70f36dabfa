import ArgumentParser
import BreakerWire

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "A breaker's recent transitions, newest first.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: WaitOptions

    @Argument(help: "Breaker name.")
    var name: String

    @Option(help: "How many transitions (1-1000).")
    var limit = 20

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1...1000") }
    }

    func run() throws {
        let reply = try global.connect(timeoutMs: wait.timeout).request(RequestEncoder.line(.history(breaker: name, limit: limit)), echoErrors: global.json)
        global.emit(reply) { value in
            var table = Table(["TIME", "FROM", "TO", "REASON", "GENERATION", "BY", "NOTE"])
            for t in (value["transitions"] ?? .array([])).arrayValue {
                table.add([
                    .init(text: t.stringValue("at") ?? "?"),
                    stateCell(t.stringValue("from") ?? "?"),
                    stateCell(t.stringValue("to") ?? "?"),
                    .init(text: t.stringValue("reason") ?? "?"),
                    .init(text: String(t.intValue("generation") ?? 0)),
                    .init(text: t.stringValue("actor") ?? "-"),
                    .init(text: t.stringValue("note") ?? ""),
                ])
            }
            print(table.render(colored: global.colored))
        }
    }
}
