import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One line on standard error, for messages meant for the operator rather than the log.
func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// True for the first caller only.
final class OnceFlag: Sendable {
    private let claimed = Atomic<Bool>(false)
    func claim() -> Bool { !claimed.exchange(true, ordering: .acquiringAndReleasing) }
}

/// Keeps signal sources alive for the life of the process.
enum SignalSources {
    /// Safe to share: the array is never mutated after `init`, and dispatch sources are
    /// thread-safe objects.
    final class Box: @unchecked Sendable {
        let sources: [any DispatchSourceSignal]
        init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
    }

    private static let kept = Mutex<[Box]>([])
    static func keep(_ sources: [any DispatchSourceSignal]) {
        let box = Box(sources)
        kept.withLock { $0.append(box) }
    }
}
