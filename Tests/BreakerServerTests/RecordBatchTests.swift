import BreakerServer
import BreakerStore
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// The hot-path records of one read are acknowledged by one commit, together: their replies
/// still come back in request order among the replies that did not wait, each with its own
/// state, and a failed commit fails every one of them and nothing else.
@Suite("Records acknowledged per read")
struct RecordBatchTests {
    /// 300 lines in one write: records on three breakers, decisions and pings between them.
    static func pipeline() -> (bytes: [UInt8], ops: [String]) {
        var text = ""
        var ops: [String] = []
        for i in 0..<300 {
            switch i % 5 {
            case 0, 1: ops.append("record-failure"); text += #"{"op":"record-failure","breaker":"b\#(i % 3)","id":\#(i)}"#
            case 2: ops.append("record-success"); text += #"{"op":"record-success","breaker":"b\#(i % 3)","id":\#(i)}"#
            case 3: ops.append("should-attempt"); text += #"{"op":"should-attempt","breaker":"b\#(i % 3)","id":\#(i)}"#
            default: ops.append("ping"); text += #"{"op":"ping","id":\#(i)}"#
            }
            text += "\n"
        }
        return (Array(text.utf8), ops)
    }

    @Test func aPipelinedBatchIsAnsweredInOrderAndEveryRecordCounted() async throws {
        try await withDaemon { daemon in
            let client = try daemon.client()
            let (bytes, ops) = Self.pipeline()
            try client.sendRaw(bytes)
            var states: [String: String] = [:]
            for (i, op) in ops.enumerated() {
                let reply = try client.readJSON()
                #expect(reply["id"] == .int(Int64(i)), "reply \(i) out of order: \(reply)")
                #expect(reply["ok"] == .bool(true), "\(op) \(i): \(reply)")
                if op.hasPrefix("record"), case .string(let state)? = reply["state"] { states["b\(i % 3)"] = state }
            }
            // Each breaker saw its records in order: the last reply's state is what inspect shows,
            // and every record counted exactly once.
            for name in ["b0", "b1", "b2"] {
                let inspected = try client.request(#"{"op":"inspect","breaker":"\#(name)"}"#)["breaker"]
                #expect(inspected?["state"] == states[name].map(JSONValue.string))
                let metrics = inspected?["metrics"]
                let recorded = ops.indices.filter { ops[$0].hasPrefix("record") && $0 % 3 == Int(name.dropFirst())! }.count
                #expect((metrics?["failed_calls"]?.int ?? 0) + (metrics?["successful_calls"]?.int ?? 0) == Int64(recorded),
                        "\(name): \(String(describing: metrics))")
            }
        }
    }

    // Makes SQLite refuse writes with a PRAGMA; the storage contract covers refused writes on PostgreSQL.
    @Test(.enabled(if: !PostgresTestStorage.enabled, "refuses writes through SQLite"))
    func aRefusedCommitFailsEveryRecordOfTheBatchAndOnlyThem() async throws {
        try await withDaemon { daemon in
            let writer = daemon.registry.storeWriterForTesting
            writer.withDatabaseForTesting { try? $0.executeForTesting("PRAGMA query_only = ON") }
            let client = try daemon.client()
            let (bytes, ops) = Self.pipeline()
            try client.sendRaw(bytes)
            for (i, op) in ops.enumerated() {
                let reply = try client.readJSON()
                #expect(reply["id"] == .int(Int64(i)), "reply \(i) out of order: \(reply)")
                if op.hasPrefix("record") {
                    #expect(reply["error"]?["code"] == .string("internal"), "\(op) \(i): \(reply)")
                } else {
                    #expect(reply["ok"] == .bool(true), "\(op) \(i): \(reply)")
                }
            }
            writer.withDatabaseForTesting { try? $0.executeForTesting("PRAGMA query_only = OFF") }
            #expect(try client.request(#"{"op":"record-failure","breaker":"b0"}"#)["ok"] == .bool(true))
        }
    }
}
