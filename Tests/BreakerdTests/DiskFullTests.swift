import BreakerTestSupport
import BreakerWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The database on a tiny tmpfs mounted by the test (needs root; skipped otherwise): fill it,
/// and the daemon keeps deciding from memory, answers `internal` to changes it cannot persist,
/// turns `/readyz` red, and recovers on its own once space is back, losing nothing it applied.
extension ExecutableTests {
@Suite("Disk full")
struct DiskFullTests {
    static func run(_ arguments: [String]) -> Int32 {
        (try? runProcess("/usr/bin/env", arguments))?.status ?? -1
    }

    /// Writes 64 KiB blocks to `path` until the file system refuses (ENOSPC).
    static func fill(_ path: String) -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let block = [UInt8](repeating: 0xAB, count: 65_536)
        var written = 0
        while true {
            let n = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            written += n
        }
        // Then byte-sized writes for the last partial block.
        while write(fd, block, 1) == 1 { written += 1 }
        return written
    }

    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aFullDiskRefusesChangesKeepsDecidingAndRecovers() throws {
        let mountPoint = makeTempDirectory()
        guard Self.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint]) == 0 else {
            print("disk full: cannot mount a tmpfs here; skipped")
            return
        }
        defer {
            _ = Self.run(["umount", "-l", mountPoint])
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        let database = mountPoint + "/breakerd.sqlite3"
        let daemon = DaemonProcess(database: database)
        try daemon.start()
        let c = try daemon.client()
        #expect(try c.request(#"{"op":"record-failure","breaker":"kept","count":2}"#)["ok"] == .bool(true))
        #expect(try HTTPTestClient.get("/readyz", port: daemon.httpPort).status == 200)

        let filler = mountPoint + "/filler"
        let filled = Self.fill(filler)
        // Changes now fail: new breakers need new pages the disk does not have.
        var refused: JSONValue?
        var applied = 0
        for i in 0..<20_000 where refused == nil {
            let reply = try c.request(#"{"op":"record-failure","breaker":"full-\#(i)-\#(String(repeating: "x", count: 150))"}"#)
            if reply["ok"] == .bool(true) { applied += 1 } else { refused = reply }
        }
        print("disk full: filled \(filled) bytes; \(applied) records committed before the first refusal: \(refused.map { "\($0)" } ?? "none")")
        #expect(refused?["error"]?["code"] == .string("internal"))
        let message = refused?["error"]?["message"]?.string ?? ""
        #expect(message.contains("not persisted") && message.contains("full"), "\(message)")
        // Decisions keep coming from memory; more changes keep failing clearly.
        #expect(try c.request(#"{"op":"should-attempt","breaker":"kept"}"#)["allow"] == .bool(true))
        #expect(try c.request(#"{"op":"record-failure","breaker":"kept"}"#)["error"]?["code"] == .string("internal"))
        let ready = try HTTPTestClient.get("/readyz", port: daemon.httpPort)
        #expect(ready.status == 503)
        #expect(ready.text.contains("database"), "\(ready.text)")

        // Space comes back: the writer's retry commits what memory holds, readiness turns green.
        try FileManager.default.removeItem(atPath: filler)
        let recovered = eventually(within: 15) { (try? HTTPTestClient.get("/readyz", port: daemon.httpPort).status) == 200 }
        #expect(recovered, "/readyz still red after the disk was freed")
        #expect(try c.request(#"{"op":"record-failure","breaker":"kept"}"#)["ok"] == .bool(true))
        daemon.kill(SIGKILL)  // no graceful flush: what is there was committed by the retry

        let again = DaemonProcess(database: database)
        try again.start()
        // 2 acknowledged + 1 refused (applied in memory, committed by the retry) + 1 after recovery.
        let kept = try again.client().request(#"{"op":"inspect","breaker":"kept"}"#)["breaker"]
        #expect(kept?["metrics"]?["failed_calls"] == .int(4), "\(String(describing: kept))")
        #expect(try again.client().request(#"{"op":"list","prefix":"full-"}"#)["breakers"]?.array?.count == applied + 1)
        again.kill(SIGTERM)
    }
}
}
