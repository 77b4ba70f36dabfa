import BreakerCore
import BreakerWire
import Testing

/// The server answers decisions through `encodeDecision` into one reused writer; the bytes must
/// be exactly those of `encode(.decision(…), id:)`, whatever the writer held before.
@Suite struct ReplyEncoderReuseTests {
    @Test func reusedWriterWritesTheSameLinesAsTheGeneralEncoder() {
        let ids: [JSONValue?] = [nil, .int(0), .int(-7), .int(123_456_789_012_345_678), .string(""), .string("req-42 x"),
                                 .string("quote\"back\\slash\u{1}"), .null, .bool(false), .double(1.5),
                                 .array([.int(1), .array([]), .string("a")])]
        var decisions: [DecisionReply] = []
        for state in BreakerState.allCases {
            for generation: UInt64 in [0, 1, 99, .max] {
                decisions.append(DecisionReply(allow: true, state: state, generation: generation, cacheMs: 100))
                decisions.append(DecisionReply(allow: true, state: state, generation: generation, cacheMs: 100, untilPushed: true))
                decisions.append(DecisionReply(allow: false, state: state, generation: generation, cacheMs: 5000, retryAfterMs: 5000))
                decisions.append(DecisionReply(allow: true, state: state, generation: generation, cacheMs: 0, permit: "ab12.3"))
                decisions.append(DecisionReply(allow: false, state: state, generation: generation, cacheMs: 0,
                                               permit: "p", retryAfterMs: -1))
            }
        }
        var writer = JSONWriter(capacity: 8)
        for decision in decisions {
            for id in ids {
                ReplyEncoder.encodeDecision(decision, id: id, into: &writer)
                #expect(writer.bytes == ReplyEncoder.encode(.decision(decision), id: id), "\(decision) \(String(describing: id))")
            }
        }
        // After something longer and deeper than any decision, the writer starts clean.
        writer.beginObject(); writer.key("a"); writer.beginArray(); writer.beginArray()
        let decision = DecisionReply(allow: true, state: .closed, generation: 1, cacheMs: 100)
        ReplyEncoder.encodeDecision(decision, id: .int(1), into: &writer)
        #expect(String(decoding: writer.bytes, as: UTF8.self)
                == #"{"ok":true,"id":1,"allow":true,"state":"closed","generation":1,"cache_ms":100}"# + "\n")
    }

    @Test func recordedLinesAreTheGeneralEncodersLines() {
        let ids: [JSONValue?] = [nil, .int(0), .int(-7), .string("r-1"), .string("esc\"\\\u{7}"), .null, .bool(true),
                                 .double(2.5), .array([.int(1), .string("a")])]
        for state in BreakerState.allCases {
            for generation: UInt64 in [0, 1, 42, .max] {
                for stale in [false, true] {
                    for id in ids {
                        #expect(ReplyEncoder.encodeRecorded(state: state, generation: generation, stale: stale, id: id)
                                == ReplyEncoder.encode(.recorded(state: state, generation: generation, stale: stale), id: id))
                    }
                }
            }
        }
    }

    @Test func hotDecoderReturnsTheRequestTheGeneralDecoderReturns() {
        for line in [#"{"op":"should-attempt","breaker":"a"}"#, #"{"op":"record-failure","breaker":"b","id":"x","count":3}"#,
                     #"{"id":9,"op":"record-success","generation":4,"breaker":"c.d"}"#] {
            var text = line
            let hot = text.withUTF8 { HotRequestDecoder.decode(UnsafeRawBufferPointer($0)) }
            #expect(hot != nil)
            #expect(RequestDecoder.decode(line) == .success(hot!))
        }
    }
}
