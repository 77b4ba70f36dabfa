"""How queued records become lines: runs as ``record-batch``, a permit handed back alone."""

from __future__ import annotations

import json

from breakerd.entry import Entry
from breakerd.record import MAX_BATCH, Record, encode_lines
from breakerd.stats import Stats


def _record(entry: Entry, op: str, sequence: int, **fields: object) -> Record:
    record = Record(entry, op, **fields)  # type: ignore[arg-type]
    record.sequence = sequence
    record.key_second = 0x5F5E100
    record.writes = 1
    return record


def test_a_run_is_one_batch_line_and_a_returned_permit_stands_alone() -> None:
    a, b = Entry("a", 1, 1), Entry("b", 1, 1)
    batch = [
        _record(a, "record-failure", 0, generation=3),
        _record(b, "record-success", 1, count=5, generation=7),
        _record(a, "return-permit", 2, permit="p1"),
        _record(b, "record-failure", 3, permit="p2", duration_ms=12),
    ]
    stats = Stats()
    lines, groups = encode_lines(batch, "c0ffee", stats)
    assert lines == [
        {"op": "record-batch", "records": [
            {"op": "record-failure", "breaker": "a", "generation": 3, "dedupe": "05f5e100-c0ffee-0"},
            {"op": "record-success", "breaker": "b", "generation": 7, "count": 5},
        ]},
        {"op": "return-permit", "breaker": "a", "permit": "p1"},
        {"op": "record-failure", "breaker": "b", "permit": "p2", "duration_ms": 12, "dedupe": "05f5e100-c0ffee-3"},
    ]
    assert groups == [batch[0:2], batch[2:3], batch[3:4]]
    assert (stats.records_sent, stats.outcomes_sent, stats.record_batches_sent, stats.records_resent) == (4, 7, 1, 0)


def test_a_long_run_is_cut_into_lines_the_daemon_accepts() -> None:
    # The daemon's default --max-line-length is 65,536 bytes and a record-batch holds at most
    # MAX_BATCH entries; names at their longest (200 bytes), keys at their longest sequence.
    entries = [Entry(f"{i:03d}" + "n" * 197, 1, 1) for i in range(7)]
    batch = [_record(entries[i % 7], "record-failure", 36**12 + i, generation=2**53, duration_ms=10**9)
             for i in range(2_000)]
    lines, groups = encode_lines(batch, "f" * 16, Stats())
    assert [r for g in groups for r in g] == batch  # every record once, in order
    for line, group in zip(lines, groups, strict=True):
        assert len(json.dumps(line, separators=(",", ":")).encode()) + 1 < 65_536
        assert line["op"] == "record-batch" and len(line["records"]) == len(group) <= MAX_BATCH  # type: ignore[arg-type]
    assert len(lines) > 2  # cut by bytes long before MAX_BATCH entries
