"""The calls a closed local breaker has seen recently, for the rate and slow-call rules."""

from __future__ import annotations

import math


class SlidingWindow:
    """A count window (the last ``size`` calls) or a time window (per-second buckets over
    ``seconds``), like the daemon's. Bounded memory, O(1) work per record.

    The local fallback has one reporter (this process), so it tracks only whether that
    reporter's last bad call is still in the window.
    """

    def __init__(self, kind: str, size: int) -> None:
        self.kind = kind
        self.size = max(1, size)
        self.calls = 0
        self.failures = 0
        self.slow_calls = 0
        self._ring: list[int] = []
        self._next = 0
        self._sequence = 0
        self._buckets: list[list[int]] = []
        self._second: int | None = None
        self._last_bad: float | None = None

    @property
    def reporter_count(self) -> int:
        """Distinct reporters behind the bad calls in the window: 0 or 1 here."""
        if self._last_bad is None:
            return 0
        if self.kind == "count":
            return 1 if self._last_bad > self._sequence - self.size else 0
        current = self._second if self._second is not None else 0
        return 1 if self._last_bad >= current - self.size + 1 else 0

    def record(self, failed: bool, slow: bool, count: int, now: float) -> None:
        """Adds ``count`` calls with the same outcome at ``now`` (seconds)."""
        flags = (1 if failed else 0) | (2 if slow else 0)
        if self.kind == "count":
            for _ in range(min(count, self.size)):
                self._push(flags)
            self._sequence += count
            position: float = self._sequence
        else:
            self.roll(now)
            if not self._buckets:
                self._buckets = [[0, 0, 0] for _ in range(self.size)]
            assert self._second is not None
            bucket = self._buckets[self._second % self.size]
            bucket[0] += count
            if failed:
                bucket[1] += count
            if slow:
                bucket[2] += count
            self._add(flags, count)
            position = self._second
        if flags:
            self._last_bad = position

    def roll(self, now: float) -> None:
        """Drops the seconds that fell out of a time window by ``now``."""
        if self.kind != "time":
            return
        second = math.floor(now)
        if self._second is None:
            self._second = second
            return
        if second <= self._second:
            return
        if second - self._second >= self.size:
            if self._buckets:
                self._buckets = [[0, 0, 0] for _ in range(self.size)]
            self.calls = self.failures = self.slow_calls = 0
        elif self._buckets:
            for expired in range(self._second + 1, second + 1):
                bucket = self._buckets[expired % self.size]
                self.calls -= bucket[0]
                self.failures -= bucket[1]
                self.slow_calls -= bucket[2]
                bucket[0] = bucket[1] = bucket[2] = 0
        self._second = second

    def _push(self, flags: int) -> None:
        if len(self._ring) < self.size:
            self._ring.append(flags)
        else:
            self._add(self._ring[self._next], -1)
            self._ring[self._next] = flags
        self._add(flags, 1)
        self._next = (self._next + 1) % self.size

    def _add(self, flags: int, count: int) -> None:
        self.calls += count
        if flags & 1:
            self.failures += count
        if flags & 2:
            self.slow_calls += count
