import BreakerTestSupport
import Foundation
import Testing

@Suite struct ChildProcessTests {
    @Test func aChildInheritsNoDescriptorBeyondStdinStdoutAndStderr() throws {
        // A pipe of ours without close-on-exec: only the spawn's closing keeps it from the child.
        var extra: [Int32] = [0, 0]
        try #require(pipe(&extra) == 0)
        defer { extra.forEach { close($0) } }
        #expect(fcntl(extra[0], F_GETFD) & FD_CLOEXEC == 0)
        let listed = try runProcess("/bin/sh", ["-c", "ls /proc/self/fd"])
        // 3 is the directory ls itself opens to list them.
        #expect(listed.stdout.split(separator: "\n").map(String.init).sorted() == ["0", "1", "2", "3"], "\(listed)")
    }

    @Test func childrenStartedAtTheSameMomentGetNoneOfEachOthersPipes() {
        // Each start makes pipes in this process that stay open while the others spawn (no
        // lock between starts): only the closing in each child keeps them out of the others.
        let listings = Listings()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            let listed = try? runProcess("/bin/sh", ["-c", "ls /proc/self/fd"])
            listings.add(listed?.stdout.split(separator: "\n").map(String.init).sorted() ?? [])
        }
        #expect(listings.all == Array(repeating: ["0", "1", "2", "3"], count: 16))
    }

    @Test func theExitCodeAndTheEndingSignalAreTold() throws {
        let exited = try ChildProcess("/bin/sh", ["-c", "exit 3"])
        exited.waitUntilExit()
        #expect(exited.termination == .init(reason: .exit, status: 3))
        let signalled = try ChildProcess("/bin/sh", ["-c", "kill -TERM $$"])
        signalled.waitUntilExit()
        #expect(signalled.termination == .init(reason: .uncaughtSignal, status: SIGTERM))
        #expect(!signalled.isRunning)
    }

    @Test func aSignalReachesTheRunningChild() throws {
        let child = try ChildProcess("/bin/sleep", ["30"])
        #expect(child.isRunning)
        child.send(SIGKILL)
        child.waitUntilExit()
        #expect(child.termination == .init(reason: .uncaughtSignal, status: SIGKILL))
    }

    @Test func theChildIsReapedWithNobodyWaiting() throws {
        let child = try ChildProcess("/bin/sh", ["-c", "exit 0"])
        #expect(eventually { !child.isRunning })
        // Reaped, not a zombie: the pid is gone from /proc.
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(child.processIdentifier)"))
        #expect(child.termination == .init(reason: .exit, status: 0))
    }

    @Test func stdinStdoutAndStderrAreThePipesAskedFor() throws {
        let child = try ChildProcess("/bin/sh", ["-c", "cat; echo said >&2"], standardInput: .pipe,
                                     standardOutput: .pipe, standardError: .standardOutput)
        child.standardInput.write(Data("line\n".utf8))
        try child.standardInput.close()
        let output = child.standardOutput.readDataToEndOfFile()
        child.waitUntilExit()
        #expect(String(decoding: output, as: UTF8.self) == "line\nsaid\n")
        #expect(child.terminationStatus == 0)
    }

    @Test func aGivenEnvironmentIsTheWholeEnvironment() throws {
        #expect(try runProcess("/usr/bin/env", [], environment: ["ONLY": "this"]).stdout == "ONLY=this\n")
    }

    @Test func aMissingExecutableThrows() {
        #expect(throws: ChildProcess.SpawnError.self) { try ChildProcess("/nonexistent/tool", []) }
    }
}

/// @unchecked: `lists` is touched only under `lock`.
private final class Listings: @unchecked Sendable {
    private let lock = NSLock()
    private var lists: [[String]] = []

    func add(_ list: [String]) { lock.withLock { lists.append(list) } }
    var all: [[String]] { lock.withLock { lists } }
}
