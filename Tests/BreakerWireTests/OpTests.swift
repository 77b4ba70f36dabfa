import BreakerWire
import Foundation
import Testing

@Suite("The op list")
struct OpTests {
    /// PROTOCOL.md documents exactly the ops `Op` declares: one `### \`op\`` heading each (the
    /// record ops share one).
    @Test func protocolDocumentsEveryOpAndNoOther() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../proto-docs/PROTOCOL.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        let operations = try #require(text.components(separatedBy: "\n## Operations\n").last?
            .components(separatedBy: "\n## ").first)
        var documented: Set<String> = []
        for line in operations.split(separator: "\n") where line.hasPrefix("### ") {
            for part in line.split(separator: "`").enumerated() where part.offset % 2 == 1 { documented.insert(String(part.element)) }
        }
        #expect(documented == Set(Op.allCases.map(\.rawValue)))
    }

    @Test func everyOpDecodesByItsNameAndEncodesBack() {
        for op in Op.allCases {
            // Each op's minimal line: its name gets through the decoder to the op's own checks.
            let result = RequestDecoder.decode(#"{"op":"\#(op.rawValue)","id":1}"#)
            switch result {
            case .success(let request): #expect(request.command.op == op)
            case .failure(let failure): #expect(failure.op == op, "\(op)")
            }
        }
        #expect(RequestDecoder.decode(#"{"op":"explode"}"#) == .failure(RequestError(id: nil, op: nil, error: WireError(.unknownOp, "unknown op 'explode'"))))
    }

    @Test func returnPermitRoundTripsThroughTheEncoder() {
        let command = Command.returnPermit(breaker: "db", permit: "k2x9q1.3.0")
        #expect(RequestEncoder.line(command) == #"{"op":"return-permit","breaker":"db","permit":"k2x9q1.3.0"}"#)
        #expect(RequestDecoder.decode(RequestEncoder.line(command)) == .success(Request(command: command)))
    }
}
