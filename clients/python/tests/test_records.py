"""No failure lost or double counted across reconnects; successes at most once."""

from __future__ import annotations

import asyncio

from breakerd import BreakerOpen, Client
from conftest import Daemon, Proxy, configure, eventually, inspect


async def test_ten_thousand_outcomes_across_cut_connections(daemon: Daemon, proxy_factory: list[Proxy]) -> None:
    # Failures are resent with their keys and counted exactly once. Success aggregates are sent
    # at most once (no key): those in flight at a cut may or may not have been counted, and are
    # not resent but counted in successes_lost, so the daemon's successes lie in between.
    proxy = Proxy(daemon.port)
    await proxy.start()
    proxy_factory.append(proxy)
    # Never opens: every outcome is recorded against a closed breaker.
    await configure(daemon.address, "ledger", failure_threshold=1_000_000, timeout_ms=1_000)
    client = await Client.connect(proxy.address, fallback="fail_closed", client_name="ledger-writer",
                                  success_flush=0.001)
    try:
        db = client.breaker("ledger")
        successes = failures = 0
        i = 0
        while successes + failures < 10_000:
            i += 1
            try:
                attempt = await db.attempt()
            except BreakerOpen as exc:  # the daemon is out of reach for a moment: not counted
                assert exc.source == "fail_closed", exc  # the breaker itself never opens
                await asyncio.sleep(0.002)
                continue
            assert not attempt.is_fallback
            if i % 3 == 0:
                attempt.failed()
                failures += 1
            else:
                attempt.succeeded()
                successes += 1
            if i % 50 == 0:
                await asyncio.sleep(0)  # records go out
            if i % 997 == 0:
                await asyncio.sleep(0)
                proxy.cut()  # with records in flight: their replies are lost
        assert await client.flush(timeout=60)
        metrics = (await inspect(daemon.address, "ledger"))["metrics"]
        assert isinstance(metrics, dict)
        s = client.stats
        assert metrics["failed_calls"] == failures
        assert successes - s.successes_lost <= metrics["successful_calls"] <= successes, (metrics, s)
        assert proxy.cuts >= 10 and s.records_resent > 0, s
        assert s.records_lost <= s.successes_lost and (s.records_lost == 0) == (s.successes_lost == 0), s
        assert s.records_dropped == 0 and s.records_rejected == 0
        assert s.outcomes_sent == 10_000
    finally:
        await client.aclose()


async def test_records_survive_a_daemon_restart(daemon: Daemon) -> None:
    await configure(daemon.address, "restart", failure_threshold=1_000_000)
    client = await Client.connect(daemon.address, fallback="fail_closed")
    try:
        db = client.breaker("restart")
        attempts = [await db.attempt() for _ in range(200)]
        daemon.kill()
        for n, a in enumerate(attempts):  # reported while the daemon is away: queued
            a.failed() if n % 2 else a.succeeded()
        await asyncio.sleep(0.05)
        daemon.start()
        assert await client.flush(timeout=30)
        metrics = (await inspect(daemon.address, "restart"))["metrics"]
        assert isinstance(metrics, dict)
        # Failures are resent after the restart. A success aggregate written on the dead
        # connection before the client noticed it is not (at most once: successes_lost); the
        # killed daemon never read it, so exactly the others are counted.
        s = client.stats
        assert (metrics["successful_calls"], metrics["failed_calls"]) == (100 - s.successes_lost, 100), s
    finally:
        await client.aclose()


async def test_the_queue_is_bounded_and_drops_the_oldest(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, max_queued_records=10, fallback="fail_closed")
    try:
        db = client.breaker("bounded")
        attempts = [await db.attempt() for _ in range(30)]
        daemon.kill()
        await eventually(lambda: not client.stats.is_daemon_available)
        for a in attempts:
            a.failed()  # never blocks, however long the daemon is away
        assert client.stats.records_dropped == 20 and client.stats.records_pending == 10
    finally:
        await client.aclose()
