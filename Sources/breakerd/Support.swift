#if canImport(Glibc)
import Glibc
#endif

/// One line on standard error, for messages meant for the operator rather than the log.
func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
