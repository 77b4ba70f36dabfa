"""What decides when breakerd cannot: the three fallback modes."""

from __future__ import annotations

from typing import Literal

from .breaker import Attempt, Breaker
from .config import BreakerConfig
from .errors import BreakerOpen

#: What the client does when breakerd cannot answer within ``decision_timeout`` and no cached
#: answer is valid: ``"local"`` runs the breaker rules in-process (from the last config and
#: state seen), ``"fail_open"`` allows every call, ``"fail_closed"`` rejects every call.
FallbackMode = Literal["local", "fail_open", "fail_closed"]


def fallback_attempt(mode: FallbackMode, breaker: Breaker, now: float, default_config: BreakerConfig) -> Attempt:
    """The fallback's decision for one call: an attempt, or :class:`BreakerOpen`."""
    entry = breaker._entry
    if mode == "fail_open":
        return Attempt(breaker, "unguarded", None, now)
    if mode == "fail_closed":
        raise BreakerOpen(entry.name, "open", None, "fail_closed")
    verdict = entry.local_decide(now, default_config)
    if verdict.allow:
        return Attempt(breaker, "local", verdict.token, now)
    raise BreakerOpen(entry.name, verdict.state, verdict.retry_after, "local")
