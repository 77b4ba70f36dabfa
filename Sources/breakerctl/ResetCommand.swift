import ArgumentParser
import BreakerWire

struct ResetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset", abstract: "Close a breaker, zeroing its counts (metrics are kept).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: WaitOptions

    @Argument(help: "Breaker name.")
    var name: String

    func run() throws {
        let reply = try global.connectAsAdmin(timeoutMs: wait.timeout).request(.reset(breaker: name), echoErrors: global.json)
        global.emit(reply) { print(describe(breaker: $0, colored: global.colored)) }
    }
}
