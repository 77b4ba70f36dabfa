"""A breaker's configuration, as ``inspect`` shows it (PROTOCOL.md "Configuration" and
"Trip policies"). The ``local`` fallback runs the breaker rules with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class BreakerConfig:
    """Every field of a breaker's config, with the daemon's defaults. Times are milliseconds,
    as on the wire."""

    failure_threshold: int = 5
    success_threshold: int = 2
    timeout_ms: int = 60_000
    half_open_max_calls: int = 1
    half_open_permit_timeout_ms: int = 30_000
    policy: Literal["consecutive", "rate"] = "consecutive"
    #: ``("count", size)`` or ``("time", seconds)``.
    window: tuple[Literal["count", "time"], int] = ("count", 100)
    failure_rate_threshold: int = 50
    minimum_calls: int = 20
    slow_call_duration_ms: int | None = None
    slow_call_rate_threshold: int = 100
    #: ``(multiplier, max_ms)`` or ``None``.
    timeout_backoff: tuple[float, int] | None = None
    min_reporters: int | None = None
    mode: Literal["normal", "metrics_only", "disabled"] = "normal"

    @property
    def needs_window(self) -> bool:
        """Whether breakers with this config keep a window of recent calls."""
        return self.policy == "rate" or self.slow_call_duration_ms is not None or self.min_reporters is not None

    def open_duration_ms(self, reopens: int) -> float:
        """How long the breaker stays open after ``reopens`` reopens in a row from half-open."""
        if self.timeout_backoff is None or reopens <= 0:
            return float(self.timeout_ms)
        multiplier, max_ms = self.timeout_backoff
        duration = float(self.timeout_ms)
        for _ in range(reopens):
            duration *= multiplier
            if duration >= max_ms:
                return float(max_ms)
        return float(int(duration))

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> BreakerConfig:
        """Parses the ``config`` object of an ``inspect`` reply; unknown fields are ignored,
        missing ones take the defaults."""
        d = cls()

        def integer(key: str, default: int) -> int:
            value = raw.get(key, default)
            return value if isinstance(value, int) and not isinstance(value, bool) else default

        def optional(key: str) -> int | None:
            value = raw.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        window = d.window
        w = raw.get("window")
        if isinstance(w, dict):
            if w.get("kind") == "count" and isinstance(w.get("size"), int):
                window = ("count", int(w["size"]))
            elif w.get("kind") == "time" and isinstance(w.get("seconds"), int):
                window = ("time", int(w["seconds"]))
        backoff: tuple[float, int] | None = None
        b = raw.get("timeout_backoff")
        if isinstance(b, dict) and isinstance(b.get("multiplier"), (int, float)) and isinstance(b.get("max_ms"), int):
            backoff = (float(b["multiplier"]), int(b["max_ms"]))
        policy = raw.get("policy")
        mode = raw.get("mode")
        return cls(
            failure_threshold=integer("failure_threshold", d.failure_threshold),
            success_threshold=integer("success_threshold", d.success_threshold),
            timeout_ms=integer("timeout_ms", d.timeout_ms),
            half_open_max_calls=integer("half_open_max_calls", d.half_open_max_calls),
            half_open_permit_timeout_ms=integer("half_open_permit_timeout_ms", d.half_open_permit_timeout_ms),
            policy="rate" if policy == "rate" else "consecutive",
            window=window,
            failure_rate_threshold=integer("failure_rate_threshold", d.failure_rate_threshold),
            minimum_calls=integer("minimum_calls", d.minimum_calls),
            slow_call_duration_ms=optional("slow_call_duration_ms"),
            slow_call_rate_threshold=integer("slow_call_rate_threshold", d.slow_call_rate_threshold),
            timeout_backoff=backoff,
            min_reporters=optional("min_reporters"),
            mode="metrics_only" if mode == "metrics_only" else "disabled" if mode == "disabled" else "normal",
        )

    def to_wire(self) -> dict[str, Any]:
        """The config as ``configure`` takes it."""
        kind, size = self.window
        return {
            "failure_threshold": self.failure_threshold,
            "success_threshold": self.success_threshold,
            "timeout_ms": self.timeout_ms,
            "half_open_max_calls": self.half_open_max_calls,
            "half_open_permit_timeout_ms": self.half_open_permit_timeout_ms,
            "policy": self.policy,
            "window": {"kind": kind, ("size" if kind == "count" else "seconds"): size},
            "failure_rate_threshold": self.failure_rate_threshold,
            "minimum_calls": self.minimum_calls,
            "slow_call_duration_ms": self.slow_call_duration_ms,
            "slow_call_rate_threshold": self.slow_call_rate_threshold,
            "timeout_backoff": None if self.timeout_backoff is None
            else {"multiplier": self.timeout_backoff[0], "max_ms": self.timeout_backoff[1]},
            "min_reporters": self.min_reporters,
            "mode": self.mode,
        }
