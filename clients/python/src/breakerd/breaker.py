"""``Breaker`` (a handle on one named breaker) and ``Attempt`` (permission for one call)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from . import outcomes
from .config import BreakerConfig
from .errors import BreakerOpen

if TYPE_CHECKING:
    from .client import Client
    from .entry import Entry

#: What decided an attempt and what its outcome carries: ("generation", n) for a closed
#: decision of the daemon, ("permit", "...") for a half-open trial, ("local", LocalToken) for
#: the local fallback, ("unguarded", None) for fail_open.
TokenKind = Literal["generation", "permit", "local", "unguarded"]

#: Decides whether an exception raised by the guarded block counts as a failure.
FailurePredicate = Callable[[BaseException], bool]


def _every_exception(exc: BaseException) -> bool:
    return True


class Attempt:
    """Permission to make one call, from :meth:`Breaker.attempt`. Report its outcome exactly
    once with :meth:`succeeded` or :meth:`failed`, or hand it back with :meth:`abandon`
    (nothing counted; a half-open trial's permit is returned to the daemon). Reports never
    block: they are queued and sent in the background."""

    __slots__ = ("_breaker", "_ctx", "_done", "_start", "_token", "kind")

    def __init__(self, breaker: Breaker, kind: TokenKind, token: object, start: float) -> None:
        self._breaker = breaker
        self.kind: TokenKind = kind
        self._token = token
        self._start = start
        self._done = False
        self._ctx: contextvars.Token[Attempt | None] | None = None

    @property
    def breaker_name(self) -> str:
        """The breaker this attempt belongs to."""
        return self._breaker.name

    @property
    def is_trial(self) -> bool:
        """True for a half-open trial (the daemon's or the local fallback's)."""
        if self.kind == "permit":
            return True
        return self.kind == "local" and isinstance(self._token, tuple) and self._token[0] == "permit"

    @property
    def is_fallback(self) -> bool:
        """True when the fallback, not breakerd, allowed this call."""
        return self.kind in ("local", "unguarded")

    @property
    def elapsed(self) -> float:
        """Seconds since the attempt was granted (the call's duration when read at its end)."""
        return self._breaker._client._clock() - self._start

    def succeeded(self, duration_ms: int | None = None) -> None:
        """The call worked. ``duration_ms`` feeds the daemon's slow-call rule; by default it is
        measured when the breaker was made with ``report_duration=True``."""
        self._finish(True, duration_ms)

    def failed(self, duration_ms: int | None = None) -> None:
        """The call failed in a way that says the dependency is unhealthy."""
        self._finish(False, duration_ms)

    def abandon(self) -> None:
        """The call was not made or its outcome says nothing (e.g. cancelled): nothing is
        counted, and a half-open trial's permit is handed back (``return-permit``) so the next
        trial need not wait for the permit timeout."""
        self._claim()
        outcomes.abandon(self._breaker._client, self._breaker._entry, self.kind, self._token)

    def _claim(self) -> None:
        if self._done:
            raise RuntimeError(f"the outcome of this attempt on {self._breaker.name!r} was already reported")
        self._done = True

    def _finish(self, success: bool, duration_ms: int | None) -> None:
        self._claim()
        b = self._breaker
        if duration_ms is None and b.report_duration:
            duration_ms = max(0, int((b._client._clock() - self._start) * 1000))
        outcomes.report(b._client, b._entry, success, self.kind, self._token, duration_ms)


class Breaker:
    """A handle on the breaker ``name``, from :meth:`Client.breaker`. Keep it and share it.

    ``async with breaker:`` asks (a cached answer costs no I/O), runs the block, and records
    its outcome: returning is a success; an exception is a failure if ``failure(exc)`` says so
    (every exception by default) and a success otherwise (the dependency answered);
    ``asyncio.CancelledError`` never counts (a half-open trial's permit is handed back).
    Raises :class:`BreakerOpen` without running the block when the breaker says no.
    """

    def __init__(self, client: Client, entry: Entry, failure: FailurePredicate | None, report_duration: bool) -> None:
        self._client = client
        self._entry = entry
        self.failure: FailurePredicate = failure or _every_exception
        #: Send each call's duration (``duration_ms``) for the daemon's slow-call rule.
        self.report_duration = report_duration
        self._current: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
            f"breakerd-attempt-{entry.name}", default=None)

    @property
    def name(self) -> str:
        """The breaker's name in breakerd."""
        return self._entry.name

    @property
    def known_config(self) -> BreakerConfig | None:
        """The config last learnt from the daemon; the ``local`` fallback uses it."""
        return self._entry.config

    async def attempt(self) -> Attempt:
        """Asks whether the dependency may be called now, for code that cannot be wrapped.

        A cached answer is used while valid (for ``cache_ms``, or a held closed "allow" while
        the watch stream is live); otherwise the daemon is asked (waiting at most
        ``decision_timeout``) and if it cannot answer the fallback decides. Raises
        :class:`BreakerOpen` when the call must not be made.
        """
        client = self._client
        if client._forked:
            client._check_fork()
        e = self._entry
        now = client._clock()
        if now < e.cache_expires or (e.cache_held and now < client._live_until):
            if e.cache_allow:
                return Attempt(self, "generation", e.cache_generation, now)
            raise BreakerOpen(e.name, e.cache_state, e.cache_expires - now if e.cache_is_deadline else None)
        return await client._decide(self)

    async def __aenter__(self) -> Attempt:
        # The cached-decision path of attempt(), inlined: this is the hot path.
        client = self._client
        e = self._entry
        now = client._clock()
        # A held answer (until_pushed) counts while the last heartbeat is recent: two compares.
        if not client._forked and e.cache_allow and (
                now < e.cache_expires or (e.cache_held and now < client._live_until)):
            attempt = Attempt(self, "generation", e.cache_generation, now)
        else:
            attempt = await self.attempt()
        attempt._ctx = self._current.set(attempt)
        return attempt

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        attempt = self._current.get()
        if attempt is None:
            return
        if attempt._ctx is not None:
            self._current.reset(attempt._ctx)
            attempt._ctx = None
        if attempt._done:
            return  # the block reported it itself
        if exc is None:
            if attempt.kind == "generation" and not self.report_duration:
                attempt._done = True  # succeeded(), inlined for the hot path
                outcomes.report_success(self._client, self._entry, attempt._token)  # type: ignore[arg-type]
                return
            attempt.succeeded()
        elif isinstance(exc, asyncio.CancelledError):
            attempt.abandon()
        elif self.failure(exc):
            attempt.failed()
        else:
            attempt.succeeded()

    async def configure(self, **fields: object) -> BreakerConfig:
        """Changes the breaker's config in breakerd (``configure``, an admin op: the daemon may
        need ``Client.connect(admin_token=...)``), e.g. ``await db.configure(failure_threshold=3,
        timeout_ms=20_000)``; returns the resulting config, which the local fallback then uses."""
        reply = await self._client._admin({"op": "configure", "breaker": self.name, "config": dict(fields)})
        config = BreakerConfig.from_wire(reply["breaker"]["config"])
        self._entry.learn(config)
        return config
