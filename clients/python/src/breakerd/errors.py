"""Exceptions raised by the client."""

from __future__ import annotations

from typing import Literal

#: Who decided a rejection: breakerd itself (directly, from a cached answer or a pushed
#: transition), the in-process ``local`` fallback, or ``fail_closed`` while breakerd was away.
DecisionSource = Literal["daemon", "local", "fail_closed"]


class BreakerdError(Exception):
    """Base class of every error this package raises on purpose."""


class BreakerOpen(BreakerdError):
    """The breaker said no: the guarded call was not made.

    Never retry it (the :func:`breakerd.retry` helper does not): retrying a rejection only adds
    load to a dependency the breaker is protecting.

    Attributes:
        name: the breaker that rejected the call.
        state: the breaker's state as the decider saw it (``"open"``, ``"half_open"`` when every
            trial slot is taken, ``"forced_open"``; ``"open"`` for ``fail_closed``).
        retry_after: seconds until asking again may succeed, or ``None`` when nobody knows
            (``fail_closed``, or an open breaker learnt of from a pushed transition).
        source: who decided, see :data:`DecisionSource`.
    """

    def __init__(self, name: str, state: str, retry_after: float | None, source: DecisionSource = "daemon") -> None:
        self.name = name
        self.state = state
        self.retry_after = retry_after
        self.source: DecisionSource = source
        retry = "" if retry_after is None else f", retry after {retry_after:.3f}s"
        super().__init__(f"breaker {name!r} is {state} (decided by {source}{retry})")


class DaemonError(BreakerdError):
    """breakerd answered a request with an error reply (``{"ok":false,"error":{...}}``).

    Attributes:
        code: the protocol's error code (``invalid_name``, ``bad_request``, ``not_leader``, ...).
        leader: for ``not_leader``, the ``HOST:PORT`` to ask instead, when the daemon named one.
    """

    def __init__(self, code: str, message: str, leader: str | None = None) -> None:
        self.code = code
        self.message = message
        self.leader = leader
        super().__init__(f"{code}: {message}")


class ConnectionLost(BreakerdError):
    """The connection to breakerd closed, timed out or broke the protocol before a reply came."""


class ProtocolViolation(ConnectionLost):
    """breakerd sent a line protocol v1 does not allow; the connection is dropped."""


class ForkedClientError(BreakerdError):
    """A client created in one process was used in another after ``os.fork()``.

    Its sockets and tasks belong to the parent's event loop. Create the client in each worker
    process, after the fork (for example in the ASGI app's lifespan startup).
    """
