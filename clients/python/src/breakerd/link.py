"""A connection to breakerd that keeps itself alive across endpoints and leader changes."""

from __future__ import annotations

import asyncio
import logging
import ssl as _ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .codec import Message
from .connection import Connection, Endpoint
from .errors import ConnectionLost, DaemonError
from .retry import backoff_delay
from .stats import Stats
from .waiters import Waiters

log = logging.getLogger("breakerd")


class Endpoints:
    """The daemons a client may talk to, shared by all its links: the one that answered last
    is tried first; a ``not_leader`` reply's leader is tried next (and added if unknown)."""

    def __init__(self, endpoints: list[Endpoint]) -> None:
        if not endpoints:
            raise ValueError("at least one endpoint is needed")
        self.all = list(dict.fromkeys(endpoints))
        self.preferred = 0

    def current(self) -> Endpoint:
        return self.all[self.preferred % len(self.all)]

    def failed(self, endpoint: Endpoint) -> None:
        """``endpoint`` did not answer: the next one is tried."""
        if self.current() == endpoint:
            self.preferred = (self.preferred + 1) % len(self.all)

    def worked(self, endpoint: Endpoint) -> None:
        if endpoint in self.all:
            self.preferred = self.all.index(endpoint)

    def redirect(self, leader: str) -> Endpoint | None:
        """Follows a ``not_leader`` answer naming ``leader`` (``HOST:PORT``)."""
        try:
            target = Endpoint.parse(leader)
        except ValueError:
            return None
        if target not in self.all:
            self.all.append(target)
        self.preferred = self.all.index(target)
        return target


@dataclass
class LinkSettings:
    """What every link of one client shares."""

    endpoints: Endpoints
    ssl: _ssl.SSLContext | None
    server_hostname: str | None
    connect_timeout: float
    request_timeout: float
    heartbeat_interval: float | None
    backoff_initial: float
    backoff_max: float
    max_line_length: int
    stats: Stats


class Link:
    """Connects, runs ``prepare`` (e.g. ``watch`` or ``hello``), publishes the connection, and
    when it closes (daemon killed, timeout, garbage, failed heartbeat, ``not_leader``) tries
    again after a jittered exponential backoff, across the endpoints, until stopped.

    The hot path never waits for a link: ``connection`` is the ready connection or ``None``;
    requests off the hot path may wait on ``ready``.
    """

    def __init__(self, label: str, settings: LinkSettings, *,
                 prepare: Callable[[Connection], Awaitable[None]] | None = None,
                 up: Callable[[], None] | None = None, down: Callable[[], None] | None = None,
                 on_event: Callable[[Message], None] | None = None,
                 silence_before_ping: float | None = None) -> None:
        self.label = label
        #: How long the connection may hear nothing before it is pinged (default: the
        #: settings' ``heartbeat_interval``; None there turns pings off).
        self._silence = (settings.heartbeat_interval
                         if silence_before_ping is None or settings.heartbeat_interval is None
                         else silence_before_ping)
        self.s = settings
        self._prepare = prepare
        self._up = up
        self._down = down
        self._on_event = on_event or (lambda _: None)
        self.connection: Connection | None = None
        self.tried_once = asyncio.Event()
        #: Woken each time a prepared connection is published in ``connection``.
        self.ready = Waiters()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._redirected = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"breakerd-{self.label}")

    def stop(self) -> None:
        """Closes the connection and stops reconnecting, without waiting."""
        self._stopped = True
        if self.connection is not None:
            self.connection.close()
        if self._task is not None:
            self._task.cancel()

    async def shutdown(self) -> None:
        """Stops, and returns when the reconnection loop has ended."""
        self.stop()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def redirect(self, leader: str | None, connection: Connection | None = None) -> None:
        """The daemon said ``not_leader``: drop the connection and go to ``leader`` at once."""
        victim = connection or self.connection
        target = self.s.endpoints.redirect(leader) if leader else None
        if target is None and victim is not None:
            self.s.endpoints.failed(victim.endpoint)
        self.s.stats.leader_redirects += 1
        log.info("breakerd is not the leader; following it", extra={"leader": leader, "link": self.label})
        self._redirected = True
        if victim is not None:
            victim.close("not_leader")

    def _violation(self, message: str) -> None:
        self.s.stats.protocol_violations += 1
        log.warning("breakerd sent a line protocol v1 does not allow; reconnecting: %s", message)

    async def _run(self) -> None:
        failures = 0
        while not self._stopped:
            endpoint = self.s.endpoints.current()
            published = False
            try:
                connection = await Connection.open(
                    endpoint, ssl=self.s.ssl, server_hostname=self.s.server_hostname,
                    timeout=self.s.connect_timeout, limit=self.s.max_line_length,
                    on_event=self._on_event, on_violation=self._violation)
                try:
                    if self._prepare is not None:
                        await self._prepare(connection)
                except BaseException:
                    connection.close("preparation failed")
                    raise
                self.connection = connection
                published = True
                if self._stopped:
                    # Stopped while connecting: the cancellation can be lost (Python 3.11's
                    # wait_for returns a result that arrives with it), and nothing else would
                    # ever close this connection.
                    connection.close()
                self.s.stats.connects += 1
                self.s.endpoints.worked(endpoint)
                failures = 0
                log.debug("connected to breakerd %s (%s)", endpoint, self.label)
                self.tried_once.set()
                self.ready.wake_all()
                if self._up is not None:
                    self._up()
                await self._serve(connection)
                self.connection = None
                if self._down is not None and not self._stopped:
                    self._down()
            except asyncio.CancelledError:
                if self._stopped:
                    break
                raise
            except DaemonError as exc:
                if exc.code == "not_leader":
                    self.redirect(exc.leader)
                else:
                    log.warning("breakerd refused to set up the %s connection: %s", self.label, exc)
            except _ssl.SSLError as exc:
                if failures == 0:
                    log.warning("cannot reach breakerd %s: TLS handshake failed: %s", endpoint, exc)
            except (OSError, asyncio.TimeoutError, EOFError, ConnectionLost) as exc:
                log.debug("cannot reach breakerd %s (%s): %r", endpoint, self.label, exc)
            except Exception:
                # Not a network failure but a bug (here, in a prepare step or a callback): the
                # loop must outlive it, or the client would never reconnect, but not silently.
                log.exception("breakerd %s connection (%s) failed unexpectedly; reconnecting", endpoint, self.label)
            self.tried_once.set()
            if self._stopped:
                break
            if self._redirected:
                self._redirected = False
                continue  # straight to the leader
            if not published:
                failures += 1
                self.s.endpoints.failed(endpoint)
            await asyncio.sleep(backoff_delay(max(1, failures), self.s.backoff_initial, self.s.backoff_max))
        if self.connection is not None:
            self.connection.close()
        self.connection = None

    async def _serve(self, connection: Connection) -> None:
        """Waits for the connection to close, pinging it only after ``silence`` without a line
        from the daemon, so a hung daemon is noticed: a connection carrying replies, or a watch
        stream's heartbeats, is never pinged."""
        silence = self._silence
        if silence is None:
            await connection.closed
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + silence
        while not connection.closed.done():
            done, _ = await asyncio.wait([connection.closed], timeout=max(0.0, due - loop.time()))
            if done or not connection.is_active:
                return
            now = loop.time()
            if now - connection.last_read >= silence:
                ping = connection.send({"op": "ping"}, self.s.request_timeout)
                ping.add_done_callback(_consume)
                due = now + silence
            else:
                due = connection.last_read + silence


def _consume(future: asyncio.Future[Message]) -> None:
    if not future.cancelled():
        future.exception()
