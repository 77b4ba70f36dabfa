import ArgumentParser
import BreakerWire

struct ReleaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release", abstract: "End a force-open: the breaker closes.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: WaitOptions

    @Argument(help: "Breaker name.")
    var name: String

    func run() throws {
        let reply = try global.connectAsAdmin(timeoutMs: wait.timeout).request(.release(breaker: name), echoErrors: global.json)
        global.emit(reply) { print(describe(breaker: $0, colored: global.colored)) }
    }
}
