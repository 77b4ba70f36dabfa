"""Time sources. Everything in the client reads time through a :data:`Clock`, so tests can
inject a manual one and cross deadlines without sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable

#: A monotonic clock in seconds.
Clock = Callable[[], float]

monotonic: Clock = time.monotonic


class ManualClock:
    """A clock that moves only when told to (for tests of the local fallback's deadlines)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Moves time forward by ``seconds``."""
        self.now += seconds
