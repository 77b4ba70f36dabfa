import Dispatch
import Foundation

/// What a child process printed and how it ended.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` with `arguments` to its exit. Both pipes are drained at once (stderr on
/// another thread), so a child that writes a lot to one of them cannot block on a full pipe
/// while we wait on the other.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try launch(process)
    let stderr = DrainedPipe()
    let drained = DispatchGroup()
    DispatchQueue.global().async(group: drained) { stderr.data = err.fileHandleForReading.readDataToEndOfFile() }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    drained.wait()
    process.waitUntilExit()
    return ProcessOutput(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr.data, as: UTF8.self))
}

/// @unchecked: `data` is written once by the draining thread and read only after
/// `DispatchGroup.wait()` returns, which orders the write before the read.
private final class DrainedPipe: @unchecked Sendable {
    var data = Data()
}

/// Starts `process`, one start at a time in this test process. Foundation's `Process.run()`
/// crashed twice (SIGSEGV in its `memcpy`, session 5 and session 6's first CI run) while
/// tests running in parallel started PostgreSQL tools and daemons at the same moment; every
/// test starts its children through here, so no two `run()` calls overlap.
public func launch(_ process: Process) throws {
    try launchLock.withLock { try process.run() }
}

private let launchLock = NSLock()
