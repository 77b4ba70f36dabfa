"""Everything the client knows about one breaker: the cached decision the hot path reads, the
newest generation heard of, the config learnt from ``inspect``, the local fallback breaker and
the successes being folded into one record."""

from __future__ import annotations

from .codec import valid_breaker_name
from .config import BreakerConfig
from .local import LocalBreaker, LocalToken, LocalVerdict


class Fold:
    """Successes of one generation (and one side of the slow-call line) counted into one record."""

    __slots__ = ("count", "deadline", "duration_ms", "generation", "slow")

    def __init__(self, generation: int, deadline: float, slow: bool, duration_ms: int | None) -> None:
        self.generation = generation
        self.count = 1
        self.deadline = deadline
        self.slow = slow
        self.duration_ms = duration_ms


class Entry:
    """One breaker's client-side state. The event loop is the only lock."""

    __slots__ = (
        "cache_allow",
        "cache_expires",
        "cache_generation",
        "cache_held",
        "cache_is_deadline",
        "cache_state",
        "config",
        "config_in_flight",
        "epoch",
        "fold",
        "folding",
        "last_state",
        "latest_generation",
        "link",
        "local",
        "name",
        "open_until",
        "pushable",
        "valid",
    )

    def __init__(self, name: str, links: int, epoch: int, pushable: bool = False) -> None:
        self.name = name
        self.valid = valid_breaker_name(name)
        h = 0xCBF29CE484222325  # FNV-1a, stable across runs (like the Swift client's)
        for byte in name.encode():
            h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        #: The record connection carrying this breaker's outcomes (always the same: in order).
        self.link = h % max(1, links)
        # The cached decision; cache_expires 0 means none (client clock, seconds).
        self.cache_expires = 0.0
        self.cache_allow = False
        self.cache_state = "closed"
        self.cache_generation = 0
        #: Whether a cached rejection ends exactly when the breaker stops being open.
        self.cache_is_deadline = False
        #: A closed "allow" the daemon said may be held ``until_pushed``: valid beyond
        #: ``cache_expires`` while the client's watch stream is live (see Client._live_until).
        self.cache_held = False
        #: Whether this breaker's transitions and resets reach the client's watch stream (so an
        #: answer about it may be held until pushed).
        self.pushable = pushable
        self.epoch = epoch
        self.latest_generation = 0
        self.last_state: str | None = None
        self.open_until: float | None = None
        self.config: BreakerConfig | None = None
        self.config_in_flight = False
        self.local: LocalBreaker | None = None
        self.fold: Fold | None = None
        self.folding = False

    def install(self, reply: dict[str, object], epoch: int, now: float) -> None:
        """Caches a ``should-attempt`` answer unless something newer is known. Nothing is cached
        in half-open (every trial needs its own permit) or when ``cache_ms`` is 0, except a
        closed "allow" with ``until_pushed``, which is held until a push replaces it (while the
        watch stream is live) and for ``cache_ms`` otherwise."""
        generation = reply["generation"]
        assert isinstance(generation, int)
        if epoch != self.epoch or generation < self.latest_generation:
            return
        state = str(reply["state"])
        retry_after = reply.get("retry_after_ms")
        cache_ms = reply.get("cache_ms")
        self.latest_generation = generation
        self.last_state = state
        self.open_until = now + (retry_after if isinstance(retry_after, int) else 0) / 1000 if state == "open" else None
        allow = reply.get("allow") is True
        held = allow and self.pushable and state == "closed" and reply.get("until_pushed") is True
        self.cache_held = held
        if not held and (state == "half_open" or not isinstance(cache_ms, int) or cache_ms <= 0):
            self.cache_expires = 0.0
            return
        self.cache_allow = allow
        self.cache_is_deadline = not allow
        self.cache_state = state
        self.cache_generation = generation
        self.cache_expires = now + (cache_ms if isinstance(cache_ms, int) and cache_ms > 0 else 0) / 1000

    def observe(self, state: str, generation: int, epoch: int, now: float, open_cache: float,
                default_timeout_ms: int) -> bool:
        """News without a decision (a pushed transition or a record reply): a newer open caches
        a rejection for at most ``open_cache`` seconds; anything else drops the cache."""
        if epoch != self.epoch or generation <= self.latest_generation:
            return False
        self.cache_held = False
        self.latest_generation = generation
        self.last_state = state
        if state not in ("open", "forced_open"):
            self.cache_expires = 0.0
            self.open_until = None
            return True
        timeout = (self.config.timeout_ms if self.config else default_timeout_ms) / 1000
        self.open_until = now + timeout if state == "open" else None
        self.cache_allow = False
        self.cache_is_deadline = False
        self.cache_state = state
        self.cache_generation = generation
        self.cache_expires = now + min(open_cache, timeout)
        return True

    def learn(self, config: BreakerConfig) -> None:
        self.config = config
        if self.local is not None:
            self.local.set_config(config)

    def resync(self, epoch: int) -> None:
        """The daemon is back: forget the old connection's answers and the fallback's state."""
        self.epoch = epoch
        self.cache_expires = 0.0
        self.cache_held = False
        self.latest_generation = 0
        self.last_state = None
        self.open_until = None
        self.local = None

    def local_decide(self, now: float, default: BreakerConfig) -> LocalVerdict:
        if self.local is None:
            self.local = self._seed(now, default)
        return self.local.should_attempt(now)

    def feed_local(self, success: bool, token: LocalToken | None, now: float, seed: BreakerConfig | None,
                   duration_ms: int | None) -> None:
        if self.local is None and seed is not None:
            self.local = self._seed(now, seed)
        if self.local is not None:
            self.local.record(success, now, token, duration_ms=duration_ms)

    def _seed(self, now: float, default: BreakerConfig) -> LocalBreaker:
        """A local breaker that starts where the daemon's was last seen: an open breaker stays
        open until its (estimated) deadline instead of letting traffic through at once."""
        config = self.config or default
        if self.last_state in ("open", "half_open", "forced_open"):
            return LocalBreaker(config, now, self.last_state, self.open_until)
        return LocalBreaker(config, now)
