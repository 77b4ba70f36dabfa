"""What the client does as its connections come and go: preparing the decisions link
(``auth``, ``watch`` with heartbeats) and the record links (``hello``), dropping cached answers
after a reconnect, and applying what the watch stream pushes. Functions of the client, like
``fork``'s and ``decisions``', kept apart so ``client.py`` holds the API."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from . import outcomes
from .codec import Message, error_of
from .config import BreakerConfig
from .connection import Connection
from .entry import Entry
from .errors import DaemonError

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("breakerd")


async def prepare_control(client: Client, connection: Connection) -> None:
    if client._admin_token is not None:
        await expect_ok(client, connection, {"op": "auth", "token": client._admin_token})
    client._live_until = 0.0
    if client._watch:
        request: Message = {"op": "watch"}
        if client._watch_prefix is not None:
            request["prefix"] = client._watch_prefix
        if client._watch_heartbeat is not None:
            request["heartbeat_ms"] = round(client._watch_heartbeat * 1000)
        try:
            await expect_ok(client, connection, request)
        except DaemonError as exc:
            if exc.code != "bad_request" or "heartbeat_ms" not in request:
                raise
            # A daemon from before heartbeats: watch without them, and hold nothing.
            del request["heartbeat_ms"]
            await expect_ok(client, connection, request)
        else:
            if client._watch_heartbeat is not None:
                # The reply proves the stream live now, like a heartbeat; the first one
                # follows within an interval.
                client._live_until = client._clock() + client._hold_for
    resync(client)


async def prepare_records(client: Client, connection: Connection) -> None:
    if client.client_name is not None:
        await expect_ok(client, connection, {"op": "hello", "client": client.client_name})


async def expect_ok(client: Client, connection: Connection, request: Message) -> Message:
    reply = await connection.send(request, client.request_timeout)
    error = error_of(reply)
    if error is not None:
        raise error
    return reply


def resync(client: Client) -> None:
    """A (re)connected decision link: transitions may have been missed, so every cached
    answer and the fallback's state are dropped; the daemon decides again."""
    client._epoch += 1
    for entry in client._entries.values():
        entry.resync(client._epoch)
    client._stats.resyncs += 1


def control_up(client: Client) -> None:
    client._available = True
    log.info("breakerd reachable; decisions come from the daemon")
    for entry in list(client._entries.values()):
        if entry.valid:
            refresh_config(client, entry)
    client._records.kick()


def control_down(client: Client) -> None:
    client._available = False
    client._live_until = 0.0  # held answers now last for cache_ms only
    if not client._closed:
        log.warning("lost breakerd; cached decisions, then the %s fallback decide", client.fallback)


def records_up(client: Client) -> None:
    client._records.kick()


def on_event(client: Client, event: Message) -> None:
    """A heartbeat keeps held answers valid for two more intervals; a pushed transition
    updates (open) or drops (anything else) the cached decision; a reset drops it."""
    kind = event.get("event")
    if kind == "heartbeat":
        if client._watch_heartbeat is not None and client._control.connection is not None:
            client._live_until = client._clock() + client._hold_for
        client._stats.heartbeats += 1
        return
    if kind == "transition":
        client._stats.pushed_transitions += 1
        to = event.get("to")
    elif kind == "reset":
        client._stats.pushed_resets += 1
        to = "closed"
    else:
        return
    entry = client._entries.get(str(event.get("breaker")))
    generation = event.get("generation")
    if entry is None or not isinstance(to, str) or not isinstance(generation, int):
        return
    entry.cache_held = False  # any news about the breaker ends a held answer
    outcomes.on_record_reply(client, entry, to, generation, client._epoch)
    if kind == "transition":
        refresh_config(client, entry)


def refresh_config(client: Client, entry: Entry) -> None:
    """Learns the breaker's config (for the local fallback) with ``inspect``, in the background."""
    connection = client._control.connection
    if connection is None or entry.config_in_flight or client._closed:
        return
    entry.config_in_flight = True
    future = connection.send({"op": "inspect", "breaker": entry.name}, client.request_timeout)

    def learnt(f: asyncio.Future[Message]) -> None:
        entry.config_in_flight = False
        if f.cancelled() or f.exception() is not None:
            return
        breaker = f.result().get("breaker")
        if isinstance(breaker, dict) and isinstance(breaker.get("config"), dict):
            entry.learn(BreakerConfig.from_wire(breaker["config"]))

    future.add_done_callback(learnt)
