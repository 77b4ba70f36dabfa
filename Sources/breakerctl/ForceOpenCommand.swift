import ArgumentParser
import BreakerWire

struct ForceOpenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "force-open",
        abstract: "Open a breaker by hand (maintenance): it rejects everything until released.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: WaitOptions

    @Argument(help: "Breaker name.")
    var name: String

    @Option(help: "Why, kept with the breaker and in its history.")
    var reason: String?

    func run() throws {
        let extra: [(String, JSONValue)] = reason.map { [("reason", .string($0))] } ?? []
        let reply = try global.connectAsAdmin(timeoutMs: wait.timeout).request(request(op: "force-open", breaker: name, extra), echoErrors: global.json)
        global.emit(reply) { print(describe(breaker: $0["breaker"] ?? .null, colored: global.colored)) }
    }
}
