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
            await retry(call, attempts=5, initial_delay=0.001, max_delay=0.005)
        assert calls == 2  # two failures opened it; the third try was rejected and not retried
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


async def test_aclose_flushes_queued_records(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, fold_window=10.0)
    b = client.breaker("flush-me")
    for _ in range(7):
        async with b:
            await asyncio.sleep(0)
    await client.aclose()
    await eventually(lambda: True)
    metrics = (await inspect(daemon.address, "flush-me"))["metrics"]
    assert isinstance(metrics, dict) and metrics["successful_calls"] == 7
