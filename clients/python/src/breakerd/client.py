"""The client: one per process, shared by every task."""

from __future__ import annotations

import asyncio
import functools
import os
import ssl as _ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from . import control, decisions, fork, outcomes
from .breaker import Attempt, Breaker, FailurePredicate
from .clock import Clock, monotonic
from .codec import Message, error_of, valid_client_name
from .config import BreakerConfig
from .connection import Endpoint
from .entry import Entry
from .errors import ConnectionLost, ProtocolViolation
from .fallback import FallbackMode
from .guard import guarded_by
from .link import Endpoints, Link, LinkSettings
from .records import RecordQueue
from .stats import Stats

if TYPE_CHECKING:
    # typing.Self is Python 3.11+ and the package has no runtime dependencies: only the type
    # checker reads this (annotations are not evaluated, see the __future__ import).
    from typing_extensions import Self

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class Client:
    """Guards a service's dependencies with breakers that live in breakerd.

    Make one per process with :meth:`connect` and share it. Decisions are cached for the
    daemon's ``cache_ms`` (never in half-open) and replaced the moment a transition is pushed
    on the ``watch`` connection; a closed "allow" the daemon marks ``until_pushed`` is held
    until a push replaces it, for as long as the watch stream's heartbeats (every
    ``watch_heartbeat`` seconds) arrive on time. Successes are summed per breaker and sent every
    ``success_flush`` seconds, failures at once (after their breaker's pending successes);
    several breakers' records share one ``record-batch`` line. Every record carries a
    ``dedupe`` key so a record resent after a reconnect is counted once; when the daemon cannot
    answer within ``decision_timeout`` the ``fallback`` decides.

    All durations of the client's own settings are seconds (floats); values from the protocol
    keep its milliseconds (``cache_ms``, ``timeout_ms``, ``duration_ms``).
    """

    def __init__(self, endpoints: Sequence[str], *, client_name: str | None = None,
                 fallback: FallbackMode = "local", default_local_config: BreakerConfig | None = None,
                 connect_timeout: float = 0.25, decision_timeout: float = 0.25, request_timeout: float = 2.0,
                 heartbeat_interval: float | None = 1.0, reconnect_initial: float = 0.02, reconnect_max: float = 2.0,
                 watch: bool = True, watch_prefix: str | None = None, watch_heartbeat: float | None = 1.0,
                 record_connections: int = 1, success_flush: float = 0.1, fold_window: float | None = None,
                 max_queued_records: int = 10_000, max_in_flight_records: int = 256,
                 record_retry_limit: float = 60.0, inferred_open_cache: float = 1.0,
                 max_line_length: int = 1 << 20, ssl: _ssl.SSLContext | None = None,
                 tls_server_name: str | None = None, admin_token: str | None = None,
                 clock: Clock = monotonic) -> None:
        """Prefer :meth:`connect`, which also starts the connections and waits for the first."""
        if fallback not in ("local", "fail_open", "fail_closed"):
            raise ValueError(f"fallback must be 'local', 'fail_open' or 'fail_closed', not {fallback!r}")
        if client_name is not None and not valid_client_name(client_name):
            raise ValueError("client_name must be 1-64 bytes of A-Z a-z 0-9 . _ : / -")
        if min(connect_timeout, decision_timeout, request_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        if record_connections < 1 or max_queued_records < 1 or max_in_flight_records < 1:
            raise ValueError("record_connections and queue limits must be at least 1")
        if fold_window is not None:  # the old name of success_flush
            success_flush = fold_window
        if record_retry_limit <= 0 or success_flush < 0 or inferred_open_cache < 0:
            raise ValueError("record_retry_limit must be positive, windows not negative")
        if watch_heartbeat is not None and not 0.1 <= watch_heartbeat <= 60:
            raise ValueError("watch_heartbeat must be 0.1-60 seconds (or None)")
        if heartbeat_interval is not None and heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be positive (or None)")
        if max_line_length < 1024:
            raise ValueError("max_line_length must be at least 1024")
        self.fallback: FallbackMode = fallback
        self.client_name = client_name
        self.default_local_config = default_local_config or BreakerConfig()
        self.decision_timeout = decision_timeout
        self.request_timeout = request_timeout
        self.connect_timeout = connect_timeout
        self._clock = clock
        self._open_cache = inferred_open_cache
        self._watch = watch
        self._watch_prefix = watch_prefix
        #: Heartbeats asked for on the watch connection (None: answers are never held).
        self._watch_heartbeat = watch_heartbeat if watch else None
        #: Held (until_pushed) answers are valid while the client clock is before this: two
        #: heartbeat intervals after the last heartbeat (or the watch reply). 0: stream not live.
        self._live_until = 0.0
        self._hold_for = 2 * watch_heartbeat if watch_heartbeat is not None else 0.0
        self._admin_token = admin_token
        self._pid = os.getpid()
        self._forked = False
        self._closed = False
        self._epoch = 1
        self._available = False
        self._entries: dict[str, Entry] = {}
        self._stats = Stats()
        settings = LinkSettings(
            endpoints=Endpoints([Endpoint.parse(e) for e in endpoints]), ssl=ssl, server_hostname=tls_server_name,
            connect_timeout=connect_timeout, request_timeout=request_timeout, heartbeat_interval=heartbeat_interval,
            backoff_initial=reconnect_initial, backoff_max=reconnect_max, max_line_length=max_line_length,
            stats=self._stats)
        # While the watch stream heartbeats, it is silent for two intervals only when stalled.
        control_silence = (max(heartbeat_interval, 2 * self._watch_heartbeat)
                           if heartbeat_interval is not None and self._watch_heartbeat is not None else None)
        bound = functools.partial
        self._control = Link("decisions", settings, prepare=bound(control.prepare_control, self),
                             up=bound(control.control_up, self), down=bound(control.control_down, self),
                             on_event=bound(control.on_event, self), silence_before_ping=control_silence)
        self._record_links = [Link(f"records-{i}", settings, prepare=bound(control.prepare_records, self),
                                   up=bound(control.records_up, self))
                              for i in range(record_connections)]
        self._records = RecordQueue(self._record_links, self._stats, fold_window=success_flush,
                                    max_queued=max_queued_records, max_in_flight=max_in_flight_records,
                                    timeout=request_timeout, retry_limit=record_retry_limit,
                                    current_epoch=lambda: self._epoch, on_reply=bound(outcomes.on_record_reply, self))
        fork.track(self)

    @classmethod
    async def connect(cls, address: str | None = None, *, endpoints: Sequence[str] | None = None,
                      **options: Any) -> Client:
        """Starts a client for breakerd at ``address`` (``HOST:PORT``) or the first answering
        of ``endpoints``, and waits (at most ``connect_timeout + decision_timeout``) for the
        first connection. An unreachable daemon is not an error: the client starts in fallback
        and connects when it can. Options are the keyword arguments of :class:`Client`."""
        targets = list(endpoints or []) if address is None else [address, *(endpoints or [])]
        if not targets:
            targets = ["127.0.0.1:7420"]
        client = cls(targets, **options)
        client._start()
        try:
            await asyncio.wait_for(client._control.tried_once.wait(), client.connect_timeout + client.decision_timeout)
        except asyncio.TimeoutError:
            pass
        return client

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _start(self) -> None:
        self._control.start()
        for link in self._record_links:
            link.start()

    # -- public API ------------------------------------------------------------------------------

    def breaker(self, name: str, *, failure: FailurePredicate | None = None, report_duration: bool = False) -> Breaker:
        """A handle on the breaker ``name`` (created in breakerd on first use). ``failure``
        decides which exceptions count as failures (all by default; others count as successes;
        cancellation never counts). ``report_duration`` sends each call's ``duration_ms`` for
        the daemon's slow-call rule."""
        return Breaker(self, self._entry(name), failure, report_duration)

    def guard(self, name: str, *, fallback: Callable[..., Any] | None = None,
              failure: FailurePredicate | None = None, report_duration: bool = False) -> Callable[[F], F]:
        """Decorates an async function so each call runs inside ``async with breaker:``. When
        the breaker says no, ``fallback`` (sync or async, called with the same arguments) gives
        the result instead; without one, :class:`BreakerOpen` is raised."""
        return guarded_by(self.breaker(name, failure=failure, report_duration=report_duration), fallback)

    @property
    def stats(self) -> Stats:
        """The client's counters (same names as the Swift client's, in snake_case)."""
        s = self._stats
        s.is_daemon_available = self._available
        s.records_pending = self._records.pending
        return s

    async def flush(self, timeout: float = 5.0) -> bool:
        """Sends every queued record now (open folds included) and waits until the daemon has
        answered them, for at most ``timeout`` seconds. False if some are still pending."""
        self._check_fork()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._records.force_folds(True)
        try:
            while not self._records.is_drained:
                if not await self._records.drained.wait(deadline - loop.time()):
                    return self._records.is_drained
            return True
        finally:
            self._records.force_folds(False)

    async def aclose(self) -> None:
        """Flushes queued records (for at most ``request_timeout``) and closes every
        connection. Calls made afterwards are decided by the fallback."""
        if self._closed:
            return
        self._check_fork()
        if self._available:
            await self.flush(self.request_timeout)
        self._closed = True
        await self._control.shutdown()
        for link in self._record_links:
            await link.shutdown()
        self._available = False

    async def inspect(self, name: str) -> dict[str, Any]:
        """The breaker as breakerd shows it (``inspect``): state, config, counts, metrics."""
        reply = await self._admin({"op": "inspect", "breaker": name})
        breaker = reply.get("breaker")
        if not isinstance(breaker, dict):
            raise ProtocolViolation(f"unexpected reply to inspect: {reply!r}")
        return breaker

    # -- internals -----------------------------------------------------------------------------

    def _check_fork(self) -> None:
        fork.check(self)

    def _entry(self, name: str) -> Entry:
        self._check_fork()
        entry = self._entries.get(name)
        if entry is None:
            pushable = (self._watch_heartbeat is not None
                        and (self._watch_prefix is None or name.startswith(self._watch_prefix)))
            entry = Entry(name, len(self._record_links), self._epoch, pushable)
            self._entries[name] = entry
            if entry.valid:
                control.refresh_config(self, entry)
        return entry

    async def _decide(self, breaker: Breaker) -> Attempt:
        """A cache miss (``decisions.decide``): the daemon's answer, or the fallback's."""
        return await decisions.decide(self, breaker)

    async def _admin(self, request: Message) -> Message:
        """A request that is not on the hot path: waits up to ``connect_timeout`` for a connection."""
        self._check_fork()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        while (connection := self._control.connection) is None:
            if not await self._control.ready.wait(deadline - loop.time()):
                break
        if connection is None:
            raise ConnectionLost("breakerd is not reachable")
        reply = await connection.send(request, self.request_timeout)
        error = error_of(reply)
        if error is not None:
            if error.code == "not_leader":
                self._control.redirect(error.leader, connection)
            raise error
        return reply
