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
        let reply = try global.connect(timeoutMs: wait.timeout).request(.history(breaker: name, limit: limit), echoErrors: global.json)
        global.emit(reply) { reply in
            guard case .history(let entries) = reply.reply else { return print(reply.line) }
            var table = Table(["TIME", "FROM", "TO", "REASON", "GENERATION", "BY", "NOTE"])
            for entry in entries {
                let t = entry.transition
                table.add([
                    .init(text: RFC3339.format(t.at)),
                    stateCell(t.from.wireName),
                    stateCell(t.to.wireName),
                    .init(text: t.reason.wireName),
                    .init(text: String(t.generation)),
                    .init(text: entry.actor ?? "-"),
                    .init(text: entry.note ?? ""),
                ])
            }
            print(table.render(colored: global.colored))
        }
    }
}
