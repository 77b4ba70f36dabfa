"""The everyday API against a real breakerd."""

from __future__ import annotations

import asyncio

import pytest

from breakerd import BreakerOpen, Client, DaemonError, retry
from conftest import Daemon, configure, eventually, inspect


async def test_guarded_calls_are_recorded_and_open_the_breaker(daemon: Daemon) -> None:
    await configure(daemon.address, "db", failure_threshold=3, timeout_ms=60_000)
    client = await Client.connect(daemon.address, client_name="test-basic")
    try:
        db = client.breaker("db", failure=lambda exc: isinstance(exc, ConnectionError))
        for _ in range(5):
            async with db:
                pass
        with pytest.raises(KeyError):
            async with db:
                raise KeyError("not a failure: counts as a success")
        for _ in range(3):
            with pytest.raises(ConnectionError):
                async with db:
                    raise ConnectionError("down")
        assert await client.flush()
        b = await inspect(daemon.address, "db")
        assert b["state"] == "open"
        metrics = b["metrics"]
        assert isinstance(metrics, dict)
        assert (metrics["successful_calls"], metrics["failed_calls"]) == (6, 3)
        with pytest.raises(BreakerOpen) as caught:
            async with db:
                raise AssertionError("must not run")
        assert caught.value.name == "db" and caught.value.state == "open"
        assert caught.value.source == "daemon"  # learnt from the record reply or the push: no deadline known
        s = client.stats
        assert s.is_daemon_available and s.records_acknowledged >= 4 and s.outcomes_sent == 9
        assert s.records_sent < 9  # successes were folded
    finally:
        await client.aclose()


async def test_two_step_attempt_and_guard_with_fallback(daemon: Daemon) -> None:
    await configure(daemon.address, "payments-api", failure_threshold=1)
    client = await Client.connect(daemon.address)
    try:
        api = client.breaker("payments-api")
        attempt = await api.attempt()
        assert not attempt.is_fallback and not attempt.is_trial
        attempt.failed()
        with pytest.raises(RuntimeError):
            attempt.succeeded()  # exactly once
        assert await client.flush()

        @client.guard("payments-api", fallback=lambda order: f"cached {order}")
        async def quote(order: str) -> str:
            return f"live {order}"

        assert await quote("o-1") == "cached o-1"
    finally:
        await client.aclose()


async def test_retry_never_retries_breaker_open(daemon: Daemon) -> None:
    await configure(daemon.address, "flaky", failure_threshold=2)
    client = await Client.connect(daemon.address)
    try:
        flaky = client.breaker("flaky")
        calls = 0

        async def call() -> None:
            nonlocal calls
            async with flaky:
                calls += 1
                raise TimeoutError("slow")

        with pytest.raises(BreakerOpen):
            await retry(call, attempts=10, initial_delay=0.05, max_delay=0.1)
        # Two failures opened it; a try or so may still run on the cached "allow" until the
        # record's reply (or the push) lands, then the rejection ends the retries at once.
        assert 2 <= calls < 10

        tries = 0

        async def rejected() -> None:
            nonlocal tries
            tries += 1
            raise BreakerOpen("x", "open", 1.0)

        with pytest.raises(BreakerOpen):
            await retry(rejected, attempts=5)
        assert tries == 1
    finally:
        await client.aclose()


async def test_invalid_name_is_a_clear_error(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address)
    try:
        with pytest.raises(DaemonError) as caught:
            async with client.breaker("no spaces allowed"):
                pass
        assert caught.value.code == "invalid_name"
    finally:
        await client.aclose()


async def test_flush_returns_when_the_daemon_has_answered_not_at_its_timeout(daemon: Daemon) -> None:
    # flush waits on the replies themselves (no polling): with an hour to spare it still returns
    # as soon as every record, folded successes included, is acknowledged.
    client = await Client.connect(daemon.address, success_flush=3600.0)
    try:
        b = client.breaker("flush-fast")
        for _ in range(3):
            async with b:
                pass
        with pytest.raises(ConnectionError):
            async with b:
                raise ConnectionError("down")
        assert await asyncio.wait_for(client.flush(timeout=3600.0), 30.0)
        assert client.stats.records_pending == 0
        metrics = (await inspect(daemon.address, "flush-fast"))["metrics"]
        assert isinstance(metrics, dict)
        assert (metrics["successful_calls"], metrics["failed_calls"]) == (3, 1)
        # An admin request waits for the connection in the same way.
        assert (await asyncio.wait_for(client.inspect("flush-fast"), 30.0))["state"] == "closed"
    finally:
        await client.aclose()


async def test_aclose_flushes_queued_records(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, success_flush=10.0)
    b = client.breaker("flush-me")
    for _ in range(7):
        async with b:
            await asyncio.sleep(0)
    await client.aclose()
    await eventually(lambda: True)
    metrics = (await inspect(daemon.address, "flush-me"))["metrics"]
    assert isinstance(metrics, dict) and metrics["successful_calls"] == 7


async def test_slow_calls_are_reported_with_their_duration(daemon: Daemon) -> None:
    await configure(daemon.address, "slow-api", slow_call_duration_ms=40, slow_call_rate_threshold=50,
                    minimum_calls=4, window={"kind": "count", "size": 10})
    client = await Client.connect(daemon.address)
    try:
        api = client.breaker("slow-api", report_duration=True)
        await eventually(lambda: api.known_config is not None)
        async with api:
            pass  # fast
        (await api.attempt()).succeeded(duration_ms=5)  # fast, given explicitly
        async with api:
            await asyncio.sleep(0.06)  # slow: measured
        assert await client.flush()
        assert (await inspect(daemon.address, "slow-api"))["state"] == "closed"  # 1 slow of 3 calls
        (await api.attempt()).succeeded(duration_ms=500)  # 2 slow of 4 = 50 %
        assert await client.flush()
        b = await inspect(daemon.address, "slow-api")
        assert b["state"] == "open" and b["metrics"]["failed_calls"] == 0  # type: ignore[index]
    finally:
        await client.aclose()


async def test_hello_names_each_replica_for_quorums(daemon: Daemon) -> None:
    await configure(daemon.address, "quorum", failure_threshold=1, min_reporters=2)
    a = await Client.connect(daemon.address, client_name="replica-a")
    b = await Client.connect(daemon.address, client_name="replica-b")
    try:
        (await a.breaker("quorum").attempt()).failed()
        assert await a.flush()
        assert (await inspect(daemon.address, "quorum"))["state"] == "closed"  # one broken replica
        (await b.breaker("quorum").attempt()).failed()
        assert await b.flush()
        q = await inspect(daemon.address, "quorum")
        assert q["state"] == "open" and q["reporters"] == ["replica-a", "replica-b"]
    finally:
        await a.aclose()
        await b.aclose()
