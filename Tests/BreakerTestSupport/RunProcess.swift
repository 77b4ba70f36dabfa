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
    let process = try ChildProcess(executable, arguments, environment: environment,
                                   standardOutput: .pipe, standardError: .pipe)
    let stderr = DrainedPipe()
    let drained = DispatchGroup()
    DispatchQueue.global().async(group: drained) { stderr.data = process.standardError.readDataToEndOfFile() }
    let stdout = process.standardOutput.readDataToEndOfFile()
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
