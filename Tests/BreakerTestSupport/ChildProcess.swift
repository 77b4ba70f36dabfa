import CSpawn
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process of a test, started with `posix_spawn`: what the tests used of Foundation's
/// `Process`, without `Process.run()`.
///
/// Why not Foundation: on Linux, `Process.run()` (swift-corelibs-foundation up to Swift 6.3.1)
/// calls `findMaximumOpenFromProcSelfFD()`, which copies the whole 256-byte `d_name` of each
/// `readdir` record of /proc/self/fd. When a record ends near the tail of glibc's readdir
/// buffer and the next page is unmapped, that copy faults (SIGSEGV in
/// `__memcpy_avx512_unaligned_erms`) and kills the whole test run. Whether it hits depends on
/// how many descriptors the test process has open, so a large parallel suite hits it now and
/// then, and starting one child at a time did not help. Fixed upstream by
/// swiftlang/swift-corelibs-foundation PR #5472 (2026-05), not in the Swift we build with.
///
/// The child gets stdin, stdout and stderr as asked and no other descriptor of ours: every
/// descriptor from 3 up is closed in the child (`posix_spawn_file_actions_addclosefrom_np`),
/// so no child inherits the sockets and pipes of the tests running beside it, and no lock is
/// needed between tests starting children at the same moment (posix_spawn is thread-safe).
/// It starts with no signal blocked and every signal at its default action, as with Foundation.
///
/// Reaping: one reaper thread per child waits (`waitid` with `WNOWAIT`) for it to end, then
/// reaps it under `state`'s lock and publishes how it ended. Nothing else calls `waitpid` on the
/// child, and `send(_:)` signals only while the child is not yet reaped, under the same lock,
/// so its pid cannot have been reused by then.
public final class ChildProcess: Sendable {
    /// Where one of the child's standard descriptors goes.
    public enum Stream: Sendable {
        case nullDevice
        /// A pipe whose other end the parent holds (`standardInput`, `standardOutput`, …).
        case pipe
        /// A file: read for stdin; created or truncated for stdout and stderr.
        case file(String)
        /// For stderr only: the same as the child's stdout.
        case standardOutput
    }

    public enum TerminationReason: Sendable, Equatable { case exit, uncaughtSignal }

    /// How a child ended: its exit code, or the signal that ended it.
    public struct Termination: Sendable, Equatable {
        public var reason: TerminationReason
        public var status: Int32

        /// From `waitpid`'s status word (WIFEXITED / WTERMSIG, which Swift does not import).
        init(waitStatus: Int32) {
            let signal = waitStatus & 0x7f
            self = signal == 0 ? .init(reason: .exit, status: (waitStatus >> 8) & 0xff)
                               : .init(reason: .uncaughtSignal, status: signal)
        }

        public init(reason: TerminationReason, status: Int32) {
            self.reason = reason
            self.status = status
        }
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    public let processIdentifier: pid_t
    private let pipes: [FileHandle?]
    private let state: ExitState

    /// Starts `executable` (argv[0] is its path) with `arguments`, in `environment` (the whole
    /// environment; ours when nil).
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                standardInput: Stream = .nullDevice, standardOutput: Stream = .nullDevice,
                standardError: Stream = .nullDevice) throws {
        let (pid, pipes) = try Self.spawn(executable, arguments, environment: environment,
                                          streams: [standardInput, standardOutput, standardError])
        processIdentifier = pid
        self.pipes = pipes
        let state = ExitState()
        self.state = state
        let reaper = Thread {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
            state.reap(pid)
        }
        reaper.name = "reaper \(pid)"
        reaper.start()
    }

    /// The parent's end of the child's stdin pipe (write to it, close it for end-of-file).
    public var standardInput: FileHandle { pipe(0) }
    /// The parent's end of the child's stdout pipe.
    public var standardOutput: FileHandle { pipe(1) }
    /// The parent's end of the child's stderr pipe.
    public var standardError: FileHandle { pipe(2) }

    private func pipe(_ fd: Int) -> FileHandle {
        guard let handle = pipes[fd] else { preconditionFailure("descriptor \(fd) of the child is not a pipe") }
        return handle
    }

    /// False once the child has ended and been reaped.
    public var isRunning: Bool { state.termination == nil }

    /// Blocks until the child has ended and been reaped.
    public func waitUntilExit() { _ = state.wait() }

    /// How the child ended; only after it has (`waitUntilExit()`).
    public var termination: Termination {
        guard let termination = state.termination else { preconditionFailure("the child \(processIdentifier) is still running") }
        return termination
    }

    /// The exit code, or the number of the signal that ended the child (as Foundation's).
    public var terminationStatus: Int32 { termination.status }
    public var terminationReason: TerminationReason { termination.reason }

    /// Sends `signal` unless the child has already been reaped.
    public func send(_ signal: Int32) { state.whileUnreaped { _ = kill(processIdentifier, signal) } }

    /// SIGTERM, as Foundation's `terminate()`.
    public func terminate() { send(SIGTERM) }

    /// Runs a child to its exit on the calling thread, without a reaper thread — for process
    /// exit (`atexit`), where no thread should be started. No pipes: nobody would drain them.
    public static func runToExit(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                                 standardInput: Stream = .nullDevice, standardOutput: Stream = .nullDevice,
                                 standardError: Stream = .nullDevice) throws -> Termination {
        let streams = [standardInput, standardOutput, standardError]
        precondition(!streams.contains { if case .pipe = $0 { true } else { false } }, "runToExit takes no pipes")
        let (pid, _) = try spawn(executable, arguments, environment: environment, streams: streams)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw SpawnError(description: "waitpid \(pid): \(String(cString: strerror(errno)))") }
        }
        return Termination(waitStatus: status)
    }

    /// posix_spawn with `streams` as fds 0, 1, 2 and every other descriptor closed; returns the
    /// pid and the parent's ends of the pipes asked for.
    private static func spawn(_ executable: String, _ arguments: [String], environment: [String: String]?,
                              streams: [Stream]) throws -> (pid_t, [FileHandle?]) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32?] = [nil, nil, nil]
        var childEnds: [Int32] = []
        defer { childEnds.forEach { close($0) } }
        func failed(_ what: String, _ code: Int32) -> SpawnError {
            parentEnds.forEach { if let fd = $0 { close(fd) } }
            return SpawnError(description: "\(what) for \(executable): \(String(cString: strerror(code)))")
        }
        for (index, stream) in streams.enumerated() {
            let fd = Int32(index)
            switch stream {
            case .nullDevice:
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, fd, path, fd == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            case .standardOutput:
                precondition(fd == 2, "only stderr can go to stdout")
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
            case .pipe:
                var ends: [Int32] = [0, 0]
                guard Glibc.pipe(&ends) == 0 else { throw failed("pipe", errno) }
                // Close-on-exec on our ends too, for children started some other way.
                ends.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
                let (childEnd, parentEnd) = fd == 0 ? (ends[0], ends[1]) : (ends[1], ends[0])
                childEnds.append(childEnd)
                parentEnds[index] = parentEnd
                posix_spawn_file_actions_adddup2(&actions, childEnd, fd)
            }
        }
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        // Signals as in a fresh process: none blocked (the spawning thread may block some) and
        // every one at its default action (ignored ones would stay ignored across exec).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environmentStrings = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { environmentStrings?.forEach { free($0) } }
        var pid: pid_t = 0
        let result = environmentStrings.map { posix_spawn(&pid, executable, &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw failed("posix_spawn", result) }
        return (pid, parentEnds.map { $0.map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) } })
    }
}

/// How the child ended, once reaped; written by the reaper only.
/// @unchecked: `termination` is read and written only between `condition.lock()` and
/// `condition.unlock()`.
private final class ExitState: @unchecked Sendable {
    private let condition = NSCondition()
    private var reaped: ChildProcess.Termination?

    var termination: ChildProcess.Termination? {
        condition.lock()
        defer { condition.unlock() }
        return reaped
    }

    /// Reaps the child, which has ended (a zombie) or cannot be waited for, and wakes waiters.
    func reap(_ pid: pid_t) {
        condition.lock()
        defer { condition.unlock() }
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, 0) } while result == -1 && errno == EINTR
        // -1 (ECHILD): someone else reaped it; say so rather than leave waiters hanging.
        reaped = result == pid ? .init(waitStatus: status) : .init(reason: .exit, status: -1)
        condition.broadcast()
    }

    func wait() -> ChildProcess.Termination {
        condition.lock()
        defer { condition.unlock() }
        while reaped == nil { condition.wait() }
        return reaped!
    }

    /// Runs `body` if the child is not reaped yet, holding the lock so it cannot be meanwhile.
    func whileUnreaped(_ body: () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        if reaped == nil { body() }
    }
}
