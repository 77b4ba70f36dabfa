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
        _ = try connection.request(RequestEncoder.line(.watch(prefix: prefix)), echoErrors: global.json)
        if !global.json { printError("watching \(connection.address)\(prefix.map { " for \($0)*" } ?? ""); Ctrl-C to stop") }
        while true {
            let event = try connection.readReply(waitForever: true)
            if global.json {
                print(event.line)
            } else {
                let v = event.value
                let to = v.stringValue("to") ?? "?"
                let colored = global.colored ? "\u{1B}[\(stateCell(to).color ?? "0")m\(to)\u{1B}[0m" : to
                print("\(v.stringValue("at") ?? "?")  \(v.stringValue("breaker") ?? "?")  \(v.stringValue("from") ?? "?") -> \(colored)  (\(v.stringValue("reason") ?? "?"), generation \(v.intValue("generation") ?? 0))")
            }
            fflush(nil)
        }
    }
}
