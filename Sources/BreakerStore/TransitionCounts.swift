import BreakerCore

/// The `transitions` column: `closed_to_open=3,open_to_half_open=2`, in `TransitionKind` order.
/// Readable in the sqlite3 shell, and parsed by hand because a million rows go through it. The
/// same text in SQLite and PostgreSQL, so a copy between them is a plain string copy.
@usableFromInline
package enum TransitionCounts {
    package static func encode(_ counts: [TransitionKind: UInt64]) -> String {
        counts.sorted { ($0.key, $0.key.key) < ($1.key, $1.key.key) }
            .map { "\($0.key.key)=\($0.value)" }
            .joined(separator: ",")
    }

    /// Every pair of states, not just the ones the state machine produces today, so any
    /// `TransitionKind` that `encode` writes can be read back.
    private static let kinds: [(key: [UInt8], kind: TransitionKind)] =
        BreakerState.allCases.flatMap { from in
            BreakerState.allCases.map { to in
                let kind = TransitionKind(from: from, to: to)
                return (Array(kind.key.utf8), kind)
            }
        }

    /// nil for anything `encode` could not have produced: unknown key, missing or non-decimal
    /// count, overflow, a key twice, stray separators.
    @usableFromInline
    package static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [TransitionKind: UInt64]? {
        var counts: [TransitionKind: UInt64] = [:]
        var index = 0
        while index < text.count {
            guard let equals = text[index...].firstIndex(of: UInt8(ascii: "=")) else { return nil }
            let keyBytes = text[index..<equals]
            guard let kind = kinds.first(where: { $0.key.elementsEqual(keyBytes) })?.kind else { return nil }
            var value: UInt64 = 0
            var digits = 0
            index = equals + 1
            while index < text.count, text[index] != UInt8(ascii: ",") {
                let digit = text[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
                guard !overflow1, !overflow2 else { return nil }
                value = sum
                digits += 1
                index += 1
            }
            guard digits > 0, counts.updateValue(value, forKey: kind) == nil else { return nil }
            if index < text.count {
                index += 1  // the comma
                guard index < text.count else { return nil }  // trailing comma
            }
        }
        return counts
    }
}
