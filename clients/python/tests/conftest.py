"""Test support: a real breakerd process per test, on a free port, with a temp database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BREAKERD = os.environ.get("BREAKERD_BIN", str(REPO / ".build" / "debug" / "breakerd"))


class Daemon:
    """A breakerd child process. ``kill()`` and ``start()`` again keep the port and database."""

    def __init__(self, directory: Path, *args: str) -> None:
        self.db = str(directory / "breakerd.sqlite3")
        self.args = list(args)
        self.port = 0
        self.http_port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.output: list[str] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        if not os.access(BREAKERD, os.X_OK):
            raise RuntimeError(f"no breakerd at {BREAKERD}: run `swift build --product breakerd` or set BREAKERD_BIN")
        deadline = time.monotonic() + 20
        while True:  # a just-killed daemon's port may take a moment to be free again
            if self._try_start():
                return
            if time.monotonic() > deadline:
                raise RuntimeError("breakerd did not start:\n" + "".join(self.output))
            time.sleep(0.05)

    def _try_start(self) -> bool:
        process = subprocess.Popen(
            [BREAKERD, "--port", str(self.port), "--http-port", "0", "--db", self.db, "--log-level", "error", *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        while True:
            raw = process.stdout.readline()
            if not raw:
                process.wait()
                return False
            line = raw.decode(errors="replace")
            self.output.append(line)
            if line.startswith("breakerd http on "):
                self.http_port = int(line.strip().rsplit(":", 1)[1])
            if line.startswith("breakerd listening on "):
                self.port = int(line.strip().rsplit(":", 1)[1])
                self.process = process
                threading.Thread(target=self._drain, args=(process,), daemon=True).start()
                return True

    def _drain(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            self.output.append(raw.decode(errors="replace"))

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        """SIGSTOP: the daemon hangs (connections stay open, nothing is answered). Returns once
        every thread is stopped, so no request sent afterwards is answered before ``resume``."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 5
        tasks = Path(f"/proc/{self.process.pid}/task")
        while time.monotonic() < deadline:
            states = [(t / "stat").read_text().rsplit(")", 1)[1].split()[0] for t in tasks.iterdir()]
            if all(state in ("T", "t") for state in states):
                return
            time.sleep(0.001)
        raise AssertionError("breakerd did not stop")

    def resume(self) -> None:
        """SIGCONT after ``stop``."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for d in made:
        d.kill()


@pytest.fixture
def daemon(tmp_path: Path, daemon_factory: list[Daemon]) -> Daemon:
    d = Daemon(tmp_path)
    d.start()
    daemon_factory.append(d)
    return d


async def raw_request(address: str, request: dict[str, object]) -> dict[str, object]:
    """One request on a connection of its own (for setting up and checking breakers)."""
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port), limit=1 << 22)
    try:
        writer.write(json.dumps(request).encode() + b"\n")
        reply: dict[str, object] = json.loads(await reader.readline())
        return reply
    finally:
        writer.close()


def requests_total(daemon: Daemon, op: str) -> int:
    """The daemon's ``breakerd_requests_total{op="..."}`` from ``/metrics`` (0 when absent)."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.http_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("breakerd_requests_total{") and f'op="{op}"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


async def configure(address: str, name: str, **config: object) -> None:
    reply = await raw_request(address, {"op": "configure", "breaker": name, "config": config})
    assert reply["ok"] is True, reply


async def inspect(address: str, name: str) -> dict[str, object]:
    reply = await raw_request(address, {"op": "inspect", "breaker": name})
    assert reply["ok"] is True, reply
    breaker = reply["breaker"]
    assert isinstance(breaker, dict)
    return breaker


async def eventually(condition, timeout: float = 10.0, interval: float = 0.01) -> None:  # type: ignore[no-untyped-def]
    """Waits until ``condition()`` (sync or async) is true, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


class Proxy:
    """A TCP proxy to a daemon that can cut every connection through it (``cut()``), keep the
    daemon's replies from the clients (``swallow_replies``: the daemon has answered, the client
    never hears so) and shows what the clients sent (``lines()``)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.cuts = 0
        self.swallow_replies = False
        #: Per connection, the bytes the client sent through it.
        self.sent: list[bytearray] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, up_writer))
        sent = bytearray()
        self.sent.append(sent)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    if dst is up_writer:
                        sent.extend(data)
                    elif self.swallow_replies:
                        continue
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers.discard(writer)
        self.writers.discard(up_writer)

    def lines(self) -> list[dict[str, object]]:
        """Every request line the clients sent through the proxy (connection by connection)."""
        return [json.loads(line) for sent in self.sent for line in bytes(sent).splitlines() if line.strip()]

    def cut(self) -> None:
        """Resets every connection through the proxy at once (replies in flight are lost)."""
        self.cuts += 1
        for w in list(self.writers):
            transport = w.transport
            transport.abort()
        self.writers.clear()

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def proxy_factory() -> AsyncIterator[list[Proxy]]:
    made: list[Proxy] = []
    yield made
    for p in made:
        await p.close()
