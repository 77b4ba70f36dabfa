"""One record on its way to breakerd, and how a run of them is written as lines."""

from __future__ import annotations

import time

from .codec import Message
from .entry import Entry
from .stats import Stats

#: The most outcomes one record counts (a larger fold starts a second record).
MAX_COUNT = 1_000_000
#: Entries in one ``record-batch`` line (the daemon's limit).
MAX_BATCH = 1_000
#: Bytes of one ``record-batch`` line: the daemon's default ``--max-line-length`` (65,536), less
#: room for the envelope. Entries are counted at an upper bound of their encoded size.
MAX_BATCH_BYTES = 65_536 - 64
#: An entry's encoded size beyond its breaker name and permit: op, generation, count,
#: duration_ms, dedupe, keys and punctuation, all at their longest.
_ENTRY_OVERHEAD = 200
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
        if n == 0:
            return out


class Record:
    """One record on its way: queued, in flight, or queued again after its connection failed."""

    __slots__ = (
        "count",
        "duration_ms",
        "entry",
        "epoch",
        "first_sent",
        "generation",
        "key_second",
        "op",
        "permit",
        "sequence",
        "writes",
    )

    def __init__(self, entry: Entry, op: str, count: int = 1, generation: int | None = None,
                 permit: str | None = None, duration_ms: int | None = None) -> None:
        self.entry = entry
        self.op = op
        self.count = count
        self.generation = generation
        self.permit = permit
        self.duration_ms = duration_ms
        #: Queue order; with the client's random prefix, also the dedupe key.
        self.sequence = 0
        self.first_sent: float | None = None
        self.epoch = 0
        self.writes = 0
        #: The wall-clock second the record was made, which leads its dedupe key.
        self.key_second = int(time.time())

    def __lt__(self, other: Record) -> bool:
        return self.sequence < other.sequence

    @property
    def is_success_aggregate(self) -> bool:
        """A closed breaker's successes (no permit): written once, without a ``dedupe`` key."""
        return self.op == "record-success" and self.permit is None

    def command(self, prefix: str) -> Message:
        """The request, with the same ``dedupe`` key on every write of this record (none for a
        success aggregate, written once)."""
        c: Message = {"op": self.op, "breaker": self.entry.name}
        if self.permit is not None:
            c["permit"] = self.permit
        elif self.generation is not None:
            c["generation"] = self.generation
        if self.op == "return-permit":
            return c
        if self.count != 1:
            c["count"] = self.count
        if self.duration_ms is not None:
            c["duration_ms"] = self.duration_ms
        if self.is_success_aggregate:
            return c
        # The leading second (8 hex digits, so keys sort by it) only orders keys: the daemon
        # keeps remembered keys sorted by breaker and key, and keys starting with about the
        # same time are added at the end of each breaker's range, a few pages per commit,
        # instead of at one place per client and breaker (BENCHMARKS.md, fleet).
        c["dedupe"] = f"{self.key_second & 0xFFFFFFFF:08x}-{prefix}-{_base36(self.sequence)}"
        return c


def encode_lines(batch: list[Record], prefix: str, stats: Stats) -> tuple[list[Message], list[list[Record]]]:
    """Writes ``batch`` (in order) as lines: runs of records as ``record-batch`` lines of at most
    ``MAX_BATCH`` entries and ``MAX_BATCH_BYTES`` bytes, a lone record or a ``return-permit`` as
    its own line. Returns the lines and, for each, the records its reply answers."""
    lines: list[Message] = []
    groups: list[list[Record]] = []
    run: list[Record] = []
    size = 0

    def close_run() -> None:
        nonlocal size
        size = 0
        if len(run) == 1:
            lines.append(run[0].command(prefix))
        elif run:
            lines.append({"op": "record-batch", "records": [r.command(prefix) for r in run]})
            stats.record_batches_sent += 1
        if run:
            groups.append(run.copy())
            run.clear()

    for record in batch:
        if record.writes == 1:
            stats.records_sent += 1
            if record.op != "return-permit":
                stats.outcomes_sent += record.count
        else:
            stats.records_resent += 1
        if record.op == "return-permit":
            close_run()
            lines.append(record.command(prefix))
            groups.append([record])
        else:
            # Names are ASCII (validated); a permit is opaque: counted as if all escaped.
            entry_size = len(record.entry.name) + 6 * len(record.permit or "") + _ENTRY_OVERHEAD
            if run and (len(run) >= MAX_BATCH or size + entry_size > MAX_BATCH_BYTES):
                close_run()
            run.append(record)
            size += entry_size
    close_run()
    return lines, groups
