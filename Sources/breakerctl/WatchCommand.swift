import ArgumentParser
import BreakerWire
#if canImport(Glibc)
import Glibc
#endif

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Stream state changes, one line each, until Ctrl-C.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: WaitOptions

    @Option(help: "Only breakers whose name starts with this.")
    var prefix: String?

    func run() throws {
        let connection = try global.connect(timeoutMs: wait.timeout)
        _ = try connection.request(.watch(prefix: prefix), echoErrors: global.json)
        if !global.json { printError("watching \(connection.address)\(prefix.map { " for \($0)*" } ?? ""); Ctrl-C to stop") }
        while true {
            let (line, _, message) = try connection.read(expecting: nil, waitForever: true)
            if global.json {
                print(line)
            } else if case .event(let event) = message {
                print(describe(event, colored: global.colored))
            }
            fflush(nil)
        }
    }
}

/// One event as `watch` prints it.
func describe(_ event: Event, colored: Bool) -> String {
    switch event {
    case .transition(let breaker, let t):
        let to = t.to.wireName
        let shown = colored ? "\u{1B}[\(stateCell(to).color ?? "0")m\(to)\u{1B}[0m" : to
        return "\(RFC3339.format(t.at))  \(breaker)  \(t.from.wireName) -> \(shown)  (\(t.reason.wireName), generation \(t.generation))"
    case .reset(let breaker, let generation, let at):
        return "\(RFC3339.format(at))  \(breaker)  reset (generation \(generation))"
    case .heartbeat(let at):
        return "\(RFC3339.format(at))  heartbeat"
    }
}
