"""The breaker rules in-process: the ``local`` fallback's state machine.

A port of the daemon's state machine (PROTOCOL.md "States and rules" and "Trip policies"):
consecutive failures or a failure rate / slow-call rate over a window, an open timeout with
optional backoff, half-open trials limited to ``half_open_max_calls`` with a permit timeout,
``success_threshold`` successful trials to close, modes, and an operator's force-open kept until
the daemon is back. It runs on the client's injected clock and does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import BreakerConfig
from .window import SlidingWindow

#: A local decision's token: ("generation", n) for a closed decision, ("permit", n) for a trial.
LocalToken = tuple[str, int]


@dataclass
class LocalVerdict:
    """What the local breaker decided."""

    allow: bool
    state: str
    token: LocalToken | None = None
    retry_after: float | None = None


class LocalBreaker:
    """One breaker's rules, decided in this process from this process's outcomes."""

    def __init__(self, config: BreakerConfig, now: float, state: str = "closed",
                 open_until: float | None = None) -> None:
        self.config = config
        self.state = state
        self.generation = 1
        self.failure_count = config.failure_threshold if state == "open" else 0
        self.success_count = 0
        self.open_until: float | None = None
        if state == "open":
            self.open_until = open_until if open_until is not None else now + config.timeout_ms / 1000
        self.permits: dict[int, float] = {}
        self.reopen_count = 0
        self.window: SlidingWindow | None = self._fresh_window()
        self._next_permit = 0

    def set_config(self, config: BreakerConfig) -> None:
        """Applies a newer config; state and counts are kept, a changed window starts empty."""
        old = self.config
        self.config = config
        if config.needs_window != old.needs_window or config.window != old.window:
            self.window = self._fresh_window()

    def advance(self, now: float) -> None:
        """Applies what time alone did by ``now``: open → half-open, expired permits."""
        if self.window is not None:
            self.window.roll(now)
        while True:
            if self.state == "open" and self.open_until is not None and self.open_until <= now:
                self._move("half_open", self.open_until)
            elif self.state == "half_open" and self.permits and min(self.permits.values()) <= now:
                self._move("open", min(self.permits.values()))
            else:
                return

    def should_attempt(self, now: float) -> LocalVerdict:
        """May a call go ahead now? Grants at most ``half_open_max_calls`` trials at once."""
        self.advance(now)
        mode = self.config.mode
        if mode == "disabled" and self.state != "forced_open":
            return LocalVerdict(True, self.state, ("generation", self.generation))
        verdict: LocalVerdict
        if self.state == "closed":
            return LocalVerdict(True, "closed", ("generation", self.generation))
        if self.state == "open":
            verdict = LocalVerdict(False, "open", retry_after=max(0.0, (self.open_until or now) - now))
        elif self.state == "forced_open":
            verdict = LocalVerdict(False, "forced_open", retry_after=1.0)
        elif len(self.permits) < self.config.half_open_max_calls:
            permit = self._next_permit
            self._next_permit += 1
            self.permits[permit] = now + self.config.half_open_permit_timeout_ms / 1000
            return LocalVerdict(True, "half_open", ("permit", permit))
        else:
            verdict = LocalVerdict(False, "half_open", retry_after=max(0.0, min(self.permits.values()) - now))
        if mode == "metrics_only" and self.state != "forced_open":
            return LocalVerdict(True, self.state, ("generation", -1))
        return verdict

    def record(self, success: bool, now: float, token: LocalToken | None = None, count: int = 1,
               duration_ms: int | None = None) -> bool:
        """Records ``count`` outcomes; returns False when stale (they did not move the state).
        ``token`` None is an outcome without a decision, which moves a closed breaker only."""
        if self.config.mode == "disabled":
            return True
        self.advance(now)
        if self.state == "closed":
            current = token is None or token == ("generation", self.generation)
        elif self.state == "half_open" and token is not None and token[0] == "permit":
            current = self.permits.pop(token[1], None) is not None
        else:
            current = False
        if not current:
            return False
        c = self.config
        if self.state == "closed":
            slow = c.slow_call_duration_ms is not None and (duration_ms or 0) >= c.slow_call_duration_ms
            if self.window is not None:
                self.window.record(not success, slow, count, now)
            self.failure_count = 0 if success else min(c.failure_threshold, self.failure_count + count)
            if self._trips():
                self._move("open", now)
        elif success:
            self.success_count = min(c.success_threshold, self.success_count + count)
            if self.success_count >= c.success_threshold:
                self._move("closed", now)
        else:
            self._move("open", now)
        return True

    def return_permit(self, permit: int) -> None:
        """Frees a trial slot without counting an outcome (a cancelled or abandoned trial)."""
        self.permits.pop(permit, None)

    def _trips(self) -> bool:
        c = self.config
        trips = c.policy == "consecutive" and self.failure_count >= c.failure_threshold
        w = self.window
        if not trips and w is not None and w.calls > 0 and w.calls >= c.minimum_calls:
            too_many_failures = c.policy == "rate" and w.failures * 100 >= c.failure_rate_threshold * w.calls
            too_many_slow = (c.slow_call_duration_ms is not None
                             and w.slow_calls * 100 >= c.slow_call_rate_threshold * w.calls)
            trips = too_many_failures or too_many_slow
        if trips and c.min_reporters is not None and c.min_reporters > 1:
            return (w.reporter_count if w is not None else 0) >= c.min_reporters
        return trips

    def _fresh_window(self) -> SlidingWindow | None:
        return SlidingWindow(*self.config.window) if self.config.needs_window else None

    def _move(self, target: str, at: float) -> None:
        if self.state == "half_open" and target == "open":
            self.reopen_count = min(self.reopen_count + 1, 64)
        elif target == "closed" or (self.state == "closed" and target == "open"):
            self.reopen_count = 0
        if target == "closed":
            self.window = self._fresh_window()
        self.state = target
        self.generation += 1
        self.success_count = 0
        self.permits = {}
        if target != "open":
            self.failure_count = 0
        self.open_until = at + self.config.open_duration_ms(self.reopen_count) / 1000 if target == "open" else None


def local_token(token: object) -> LocalToken | None:
    """An attempt's token as the local breaker's, when it is one."""
    if isinstance(token, tuple) and len(token) == 2 and isinstance(token[0], str) and isinstance(token[1], int):
        return (token[0], token[1])
    return None
