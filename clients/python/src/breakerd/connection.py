"""One connection to breakerd: pipelined requests, replies matched in order, pushed events."""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl as _ssl
from collections.abc import Callable
from dataclasses import dataclass

from .codec import Message, decode, encode, is_event
from .errors import ConnectionLost, ProtocolViolation

log = logging.getLogger("breakerd")


@dataclass(frozen=True)
class Endpoint:
    """Where a breakerd listens."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``HOST:PORT`` or ``[IPv6]:PORT``."""
        host, sep, port = text.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"not a HOST:PORT endpoint: {text!r}")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class Connection:
    """Requests may be pipelined: each is written at once and its future completes with the
    reply (``ok`` true or false) in request order. Lines with ``event`` go to ``on_event``.

    Any request not answered within its timeout, a line that breaks the protocol, or the peer
    closing ends the connection: every pending future then fails with :class:`ConnectionLost`
    and ``closed`` completes. Whoever owns the connection makes a new one.
    """

    def __init__(self, endpoint: Endpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_event: Callable[[Message], None], on_violation: Callable[[str], None]) -> None:
        self.endpoint = endpoint
        self._reader = reader
        self._writer = writer
        self._on_event = on_event
        self._on_violation = on_violation
        self._pending: collections.deque[asyncio.Future[Message]] = collections.deque()
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.closed: asyncio.Future[None] = loop.create_future()
        #: When the last line arrived (loop time): a connection that hears from the daemon
        #: needs no keepalive ping.
        self.last_read = loop.time()
        self._reader_task = loop.create_task(self._read_loop())

    @classmethod
    async def open(cls, endpoint: Endpoint, *, ssl: _ssl.SSLContext | None, server_hostname: str | None,
                   timeout: float, limit: int, on_event: Callable[[Message], None],
                   on_violation: Callable[[str], None]) -> Connection:
        """Connects (and completes the TLS handshake) within ``timeout`` seconds."""
        kwargs: dict[str, object] = {}
        if ssl is not None:
            kwargs["ssl"] = ssl
            kwargs["server_hostname"] = server_hostname or endpoint.host
            kwargs["ssl_handshake_timeout"] = timeout
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(endpoint.host, endpoint.port, limit=limit, **kwargs),  # type: ignore[arg-type]
            timeout)
        return cls(endpoint, reader, writer, on_event, on_violation)

    @property
    def is_active(self) -> bool:
        """Whether requests may still be sent."""
        return not self.closed.done()

    @property
    def pending(self) -> int:
        """Requests written and not answered yet."""
        return len(self._pending)

    def send(self, request: Message, timeout: float) -> asyncio.Future[Message]:
        """Writes one request; the future completes with its reply."""
        return self.send_many([request], timeout)[0]

    def send_many(self, requests: list[Message], timeout: float) -> list[asyncio.Future[Message]]:
        """Writes requests in one write; the futures complete with their replies, in order.
        If the last is not answered within ``timeout`` seconds the connection is closed."""
        futures = [self._loop.create_future() for _ in requests]
        if not self.is_active:
            for f in futures:
                f.set_exception(ConnectionLost("connection to breakerd is closed"))
            return futures
        self._pending.extend(futures)
        self._writer.write(b"".join(encode(r) for r in requests))
        last = futures[-1]
        handle = self._loop.call_later(timeout, self._expire, last)
        last.add_done_callback(lambda _: handle.cancel())
        return futures

    def close(self, reason: str = "closed by the client") -> None:
        """Closes at once; pending requests fail with :class:`ConnectionLost`."""
        if self.closed.done():
            return
        error = ConnectionLost(f"connection to breakerd {self.endpoint} lost: {reason}")
        while self._pending:
            f = self._pending.popleft()
            if not f.done():
                f.set_exception(error)
                f.exception()  # retrieved: nobody may be waiting any more
        self.closed.set_result(None)
        self._writer.close()
        if asyncio.current_task() is not self._reader_task:
            self._reader_task.cancel()

    def _expire(self, future: asyncio.Future[Message]) -> None:
        if not future.done():
            self.close("a request timed out")

    async def _read_loop(self) -> None:
        reason = "breakerd closed the connection"
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                if not line.endswith(b"\n"):
                    break  # closed in the middle of a line
                self.last_read = self._loop.time()
                message = decode(line)
                if is_event(message):
                    self._on_event(message)
                    continue
                if not self._pending:
                    raise ProtocolViolation(f"breakerd sent a reply to no request: {line[:200]!r}")
                future = self._pending.popleft()
                if not future.done():
                    future.set_result(message)
        except ProtocolViolation as exc:
            self._on_violation(str(exc))
            reason = str(exc)
        except asyncio.LimitOverrunError:
            self._on_violation("line too long")
            reason = "breakerd sent a line over the limit"
        except ValueError as exc:  # the stream's limit, raised as ValueError by readline
            self._on_violation(str(exc))
            reason = f"breakerd sent a line over the limit: {exc}"
        except asyncio.CancelledError:
            reason = "closed by the client"
        except (OSError, _ssl.SSLError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a bug in a callback must not leave a connection half-dead
            log.exception("breakerd connection reader failed; closing the connection")
            reason = f"{type(exc).__name__}: {exc}"
        self.close(reason)
