"""TLS, several endpoints, and following not_leader to the leader."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from pathlib import Path

from breakerd import BreakerOpen, Client
from conftest import Daemon, eventually, inspect, raw_request


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 and localhost, like TestCertificates.swift."""
    d = str(directory)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem", "-days", "2", "-subj", "/CN=breakerd python test ca")
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr", "-subj", "/CN=server")
    _openssl("x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
             "-CAcreateserial", "-out", f"{d}/server.pem", "-days", "2", "-extfile", f"{d}/server.ext")
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{d}/client.key", "-out", f"{d}/client.csr", "-subj", "/CN=client")
    _openssl("x509", "-req", "-in", f"{d}/client.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
             "-CAcreateserial", "-out", f"{d}/client.pem", "-days", "2", "-extfile", f"{d}/client.ext")
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


async def test_tls(tmp_path: Path, daemon_factory: list[Daemon]) -> None:
    ca, cert, key = make_pki(tmp_path)
    daemon = Daemon(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    daemon.start()
    daemon_factory.append(daemon)
    context = ssl.create_default_context(cafile=str(ca))
    client = await Client.connect(f"localhost:{daemon.port}", ssl=context, client_name="tls-client")
    try:
        assert client.stats.is_daemon_available
        db = client.breaker("tls-db")
        for _ in range(3):
            async with db as attempt:
                assert not attempt.is_fallback
        assert await client.flush()
        b = await client.inspect("tls-db")
        assert b["metrics"]["successful_calls"] == 3
    finally:
        await client.aclose()

    # A daemon certificate the client does not trust: never used, the fallback decides.
    untrusting = await Client.connect(f"localhost:{daemon.port}", ssl=ssl.create_default_context(),
                                      fallback="fail_open")
    try:
        assert not untrusting.stats.is_daemon_available
        async with untrusting.breaker("tls-db") as attempt:
            assert attempt.is_fallback
    finally:
        await untrusting.aclose()


async def test_mutual_tls(tmp_path: Path, daemon_factory: list[Daemon]) -> None:
    ca, cert, key = make_pki(tmp_path)
    daemon = Daemon(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), "--tls-client-ca", str(ca))
    daemon.start()
    daemon_factory.append(daemon)
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(str(tmp_path / "client.pem"), str(tmp_path / "client.key"))
    client = await Client.connect(f"127.0.0.1:{daemon.port}", ssl=context, tls_server_name="localhost")
    try:
        async with client.breaker("mtls") as attempt:
            assert not attempt.is_fallback
        assert await client.flush()
    finally:
        await client.aclose()
    # Without a client certificate the daemon refuses the handshake: the fallback decides.
    anonymous = await Client.connect(f"localhost:{daemon.port}", ssl=ssl.create_default_context(cafile=str(ca)),
                                     fallback="fail_closed", reconnect_max=0.05)
    try:
        await asyncio.sleep(0.3)
        assert not anonymous.stats.is_daemon_available
    finally:
        await anonymous.aclose()


async def test_the_first_answering_endpoint_is_used(daemon: Daemon) -> None:
    dead = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = dead.sockets[0].getsockname()[1]
    dead.close()
    await dead.wait_closed()  # nothing listens there now
    client = await Client.connect(endpoints=[f"127.0.0.1:{port}", daemon.address])
    try:
        await eventually(lambda: client.stats.is_daemon_available)
        async with client.breaker("multi") as attempt:
            assert not attempt.is_fallback
    finally:
        await client.aclose()


async def test_not_leader_is_followed(daemon: Daemon) -> None:
    """A scripted follower (the daemon has no replication yet, issue #14) answers every request
    with not_leader naming the real daemon; the client must end up talking to it."""
    asked: list[str] = []

    async def follower(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            request = json.loads(line)
            asked.append(request.get("op"))
            reply = {"ok": False, "error": {"code": "not_leader", "message": "this node follows",
                                            "leader": daemon.address}}
            if "id" in request:
                reply["id"] = request["id"]
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(follower, "127.0.0.1", 0)
    follower_address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    client = await Client.connect(endpoints=[follower_address], client_name="redirected")
    try:
        await eventually(lambda: client.stats.is_daemon_available)
        db = client.breaker("led")
        for _ in range(3):
            async with db as attempt:
                assert not attempt.is_fallback
        assert await client.flush()
        metrics = (await inspect(daemon.address, "led"))["metrics"]
        assert isinstance(metrics, dict) and metrics["successful_calls"] == 3
        assert asked and client.stats.leader_redirects >= 1
    finally:
        await client.aclose()
        server.close()


async def test_a_killed_daemons_client_moves_to_the_next_endpoint(tmp_path: Path, daemon_factory: list[Daemon]) -> None:
    """Two real daemons: when the first is killed, the client's connections go to the second,
    and its records are counted there."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = Daemon(tmp_path / "a"), Daemon(tmp_path / "b")
    for d in (first, second):
        d.start()
        daemon_factory.append(d)
    client = await Client.connect(endpoints=[first.address, second.address], fallback="fail_closed")
    try:
        await eventually(lambda: client.stats.is_daemon_available)
        db = client.breaker("moving")
        async with db:
            pass
        assert await client.flush()
        first.kill()

        async def served() -> bool:
            try:
                async with db as attempt:
                    return not attempt.is_fallback
            except BreakerOpen:  # the fail-closed fallback, while no daemon answers
                return False

        async def counted_there() -> bool:
            # A success aggregate written on the connection to the killed daemon before the
            # client noticed is lost, not resent (at most once): a later one reaches the second.
            if not await served() or not await client.flush():
                return False
            reply = await raw_request(second.address, {"op": "inspect", "breaker": "moving"})
            breaker = reply.get("breaker")
            return isinstance(breaker, dict) and breaker["metrics"]["successful_calls"] >= 1

        await eventually(counted_there)
    finally:
        await client.aclose()
