import ArgumentParser
import BreakerWire
#if canImport(Glibc)
import Glibc
#endif

struct PingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ping", abstract: "Check that breakerd answers.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: WaitOptions

    func run() throws {
        var start = timespec(), end = timespec()
        let connection = try global.connect(timeoutMs: wait.timeout)
        clock_gettime(CLOCK_MONOTONIC, &start)
        let reply = try connection.request(.ping, echoErrors: global.json)
        clock_gettime(CLOCK_MONOTONIC, &end)
        let micros = (Int64(end.tv_sec) - Int64(start.tv_sec)) * 1_000_000 + (Int64(end.tv_nsec) - Int64(start.tv_nsec)) / 1000
        global.emit(reply) { reply in
            guard case .pong(let version) = reply.reply else { return print(reply.line) }
            print("breakerd \(version) at \(connection.address) answered in \(micros / 1000).\(String(micros % 1000 + 1000).dropFirst()) ms")
        }
    }
}
