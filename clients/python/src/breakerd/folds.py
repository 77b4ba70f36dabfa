"""The successes a client sums per breaker before sending them: see ``Folds``."""

from __future__ import annotations

from collections.abc import Callable

from .entry import Entry, Fold
from .record import MAX_COUNT, Record


class Folds:
    """Every breaker's open fold (``Entry.fold``): successes of one generation (and one side of
    the slow-call line) summed into one ``record-success``. All folds opened before the next
    flush tick close at it together, so that they share batch lines.

    A closed fold becomes a record handed to ``queue``; ``tick_at`` asks for a flush at a time.
    Times are the record pipeline's monotonic seconds, given by the caller."""

    def __init__(self, window: float, queue: Callable[[Record], None], tick_at: Callable[[float], None]) -> None:
        self._window = window
        self._queue = queue
        self._tick_at = tick_at
        #: Entries that may have an open fold (``Entry.folding``).
        self._folding: list[Entry] = []
        #: When the open folds close (all together); None: no tick.
        self._due: float | None = None
        #: Every fold closes at the next flush, whatever its tick (``Client.flush``).
        self.forced = False

    @property
    def open(self) -> int:
        return sum(1 for e in self._folding if e.fold is not None)

    def add(self, entry: Entry, generation: int, duration_ms: int | None, slow: bool, now: float) -> bool:
        """Counts one success into ``entry``'s fold, or closes the fold and opens another (a new
        generation or side of the slow-call line, a passed tick, a full count). True if it
        opened one."""
        f = entry.fold
        if f is not None and f.generation == generation and now < f.deadline and f.slow == slow and f.count < MAX_COUNT:
            f.count += 1
            if duration_ms is not None and f.duration_ms is not None:
                # One duration stands for all: the largest fast one, the smallest slow one, so
                # the fold lands on the same side of the daemon's slow-call line as its calls.
                f.duration_ms = min(f.duration_ms, duration_ms) if slow else max(f.duration_ms, duration_ms)
            return False
        self.close(entry)
        entry.fold = Fold(generation, self.tick(now), slow, duration_ms)
        if not entry.folding:
            entry.folding = True
            self._folding.append(entry)
        return True

    def close(self, entry: Entry) -> None:
        """Closes ``entry``'s open fold, if any, now: before a record that must follow its successes."""
        f = entry.fold
        if f is not None:
            entry.fold = None
            self._queue(Record(entry, "record-success", f.count, f.generation, None, f.duration_ms))

    def tick(self, now: float) -> float:
        """The next flush tick (asked for when it is new): every fold opened before it closes at it."""
        due = self._due
        if due is None or due <= now:
            due = self._due = now + self._window
            self._tick_at(due)
        return due

    def close_due(self, now: float) -> float | None:
        """Closes the folds whose tick has come (all of them when ``forced``); returns the
        earliest tick of those still open."""
        next_due: float | None = None
        still: list[Entry] = []
        for entry in self._folding:
            f = entry.fold
            if f is not None and (self.forced or f.deadline <= now):
                self.close(entry)
                f = None
            if f is not None:
                next_due = f.deadline if next_due is None else min(next_due, f.deadline)
                still.append(entry)
            else:
                entry.folding = False
        self._folding = still
        return next_due
