"""What a cache miss does: asks breakerd within ``decision_timeout`` and turns its answer into
an :class:`Attempt` (or :class:`BreakerOpen`), hands back a trial the daemon granted after the
caller gave up, and lets the fallback decide when the daemon cannot answer. Functions of the
client, like ``control``'s."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING

from . import control
from .breaker import Attempt, Breaker
from .codec import Message, error_of, require_int, require_str
from .entry import Entry
from .errors import BreakerOpen, ConnectionLost, DaemonError, ProtocolViolation
from .fallback import fallback_attempt

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("breakerd")


async def decide(client: Client, breaker: Breaker) -> Attempt:
    """A cache miss: ask the daemon within ``decision_timeout``, or let the fallback decide."""
    client._check_fork()
    entry = breaker._entry
    if not entry.valid:
        raise DaemonError("invalid_name",
                          f"breaker name {entry.name!r} is not 1-200 bytes of A-Z a-z 0-9 . _ : / -")
    connection = client._control.connection
    if connection is not None and not client._closed:
        epoch = client._epoch
        client._stats.decision_requests += 1
        future = connection.send({"op": "should-attempt", "breaker": entry.name}, client.decision_timeout)
        try:
            reply: Message | None = await asyncio.shield(future)
        except asyncio.CancelledError:
            # The caller gave up while asking: a trial the daemon grants meanwhile is handed back.
            future.add_done_callback(functools.partial(_return_late_permit, client, entry))
            raise
        except ConnectionLost:
            reply = None  # unreachable or too slow (the connection is replaced)
        if reply is not None:
            error = error_of(reply)
            if error is None:
                try:
                    return _from_decision(client, breaker, reply, epoch)
                except ProtocolViolation as exc:
                    client._stats.protocol_violations += 1
                    log.warning("%s; reconnecting", exc)
                    connection.close(str(exc))
            elif error.code == "not_leader":
                client._control.redirect(error.leader, connection)
            else:
                raise error
    client._stats.fallback_decisions += 1
    return fallback_attempt(client.fallback, breaker, client._clock(), client.default_local_config)


def _from_decision(client: Client, breaker: Breaker, reply: Message, epoch: int) -> Attempt:
    entry = breaker._entry
    now = client._clock()
    allow = reply.get("allow")
    if not isinstance(allow, bool):
        raise ProtocolViolation(f"should-attempt reply without allow: {reply!r}")
    state = require_str(reply, "state")
    generation = require_int(reply, "generation")
    entry.install(reply, epoch, now)
    if entry.config is None:
        control.refresh_config(client, entry)
    if not allow:
        retry = reply.get("retry_after_ms")
        raise BreakerOpen(entry.name, state, retry / 1000 if isinstance(retry, int) else None)
    permit = reply.get("permit")
    if isinstance(permit, str):
        return Attempt(breaker, "permit", permit, now)
    return Attempt(breaker, "generation", generation, now)


def _return_late_permit(client: Client, entry: Entry, future: asyncio.Future[Message]) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    permit = future.result().get("permit")
    if isinstance(permit, str):
        client._records.report(entry, "return-permit", permit=permit)
