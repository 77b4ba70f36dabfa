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
        let reply = try global.connectAsAdmin(timeoutMs: wait.timeout).request(.forceOpen(breaker: name, reason: reason), echoErrors: global.json)
        global.emit(reply) { print(describe(breaker: $0, colored: global.colored)) }
    }
}
