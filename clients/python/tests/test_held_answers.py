"""Fleet scale (issue 18): a closed breaker's answer held while the watch stream heartbeats,
and dropped the moment a push, a reset or missing heartbeats say it may be stale."""

from __future__ import annotations

import asyncio
import time

import pytest

from breakerd import BreakerOpen, Client
from conftest import Daemon, configure, eventually, inspect, requests_total


async def _guarded_calls_for(client: Client, name: str, seconds: float) -> int:
    db = client.breaker(name)
    calls = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        async with db:
            calls += 1
        await asyncio.sleep(0.002)
    return calls


async def test_a_held_allow_costs_one_should_attempt_while_heartbeats_flow(daemon: Daemon) -> None:
    # The daemon's cache_ms is 100: 1.5 s of calls is 15 cache periods, yet one question.
    client = await Client.connect(daemon.address, watch_heartbeat=1.0)
    try:
        calls = await _guarded_calls_for(client, "held", 1.5)
        assert calls > 100
        s = client.stats
        assert s.decision_requests == 1, s
        assert s.heartbeats >= 1, s  # the stream was live (checked, not assumed)
        assert await asyncio.to_thread(requests_total, daemon, "should-attempt") == 1
        assert await client.flush()
        metrics = (await inspect(daemon.address, "held"))["metrics"]
        assert isinstance(metrics, dict) and metrics["successful_calls"] == calls
    finally:
        await client.aclose()


async def test_without_heartbeats_a_closed_allow_lasts_cache_ms(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, watch_heartbeat=None)
    try:
        await _guarded_calls_for(client, "not-held", 0.8)
        assert client.stats.decision_requests >= 3  # re-asked every 100 ms
    finally:
        await client.aclose()


async def test_another_client_trips_a_held_breaker_and_the_holder_rejects_at_once(daemon: Daemon) -> None:
    await configure(daemon.address, "tripped", failure_threshold=3, success_threshold=1, timeout_ms=400)
    holder = await Client.connect(daemon.address, client_name="holder", watch_heartbeat=1.0)
    tripper = await Client.connect(daemon.address, client_name="tripper")
    try:
        held = holder.breaker("tripped")
        async with held:
            pass
        await asyncio.sleep(0.3)  # three cache periods: the answer is held, not cached
        async with held:
            pass
        assert holder.stats.decision_requests == 1
        start = time.monotonic()
        for _ in range(3):
            (await tripper.breaker("tripped").attempt()).failed()
        while True:
            try:
                (await held.attempt()).abandon()  # a cache hit: no I/O
            except BreakerOpen as exc:
                assert exc.source == "daemon"
                break
            assert time.monotonic() - start < 5, "the holder never heard of the opening"
            await asyncio.sleep(0.001)
        delay = time.monotonic() - start
        print(f"held allow replaced by the push after {delay * 1000:.1f} ms")
        assert delay < 1.0  # milliseconds here; generous for a loaded machine
        assert holder.stats.decision_requests == 1  # the push did it, not a question
        # Recovery through half-open as before: a trial closes it, and the allow is held again.
        await eventually(lambda: holder.stats.pushed_transitions >= 2)  # open -> half_open

        async def trial() -> bool:
            try:
                attempt = await held.attempt()
            except BreakerOpen:
                return False
            assert attempt.is_trial and not attempt.is_fallback
            attempt.succeeded()
            return True

        await eventually(trial)
        assert await holder.flush()
        assert (await inspect(daemon.address, "tripped"))["state"] == "closed"
        await eventually(lambda: holder.stats.pushed_transitions >= 3)  # half_open -> closed
        async with held:
            pass
        asked = holder.stats.decision_requests
        await asyncio.sleep(0.3)
        async with held:
            pass
        assert holder.stats.decision_requests == asked
    finally:
        await holder.aclose()
        await tripper.aclose()


async def test_a_reset_of_a_closed_breaker_ends_the_held_answer(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, watch_heartbeat=0.5)
    try:
        db = client.breaker("reset-me")
        (await db.attempt()).succeeded()
        assert await client.flush()
        held = await db.attempt()
        old = held._token
        held.abandon()
        reply = await _raw(daemon, {"op": "reset", "breaker": "reset-me"})
        await eventually(lambda: client.stats.pushed_resets == 1)
        attempt = await db.attempt()  # asked again: the held answer was for the old generation
        assert client.stats.decision_requests == 2
        assert attempt._token == reply["breaker"]["generation"] != old  # type: ignore[index]
        attempt.succeeded()
    finally:
        await client.aclose()


async def _raw(daemon: Daemon, request: dict[str, object]) -> dict[str, object]:
    from conftest import raw_request

    reply = await raw_request(daemon.address, request)
    assert reply["ok"] is True, reply
    return reply


async def test_held_answers_expire_when_heartbeats_stop(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, watch_heartbeat=0.5, fallback="fail_closed",
                                  decision_timeout=0.25, heartbeat_interval=None)
    try:
        db = client.breaker("stalled")
        async with db:
            pass
        await asyncio.sleep(0.3)  # past cache_ms (100 ms): still held
        async with db:
            pass
        assert client.stats.decision_requests == 1
        daemon.stop()
        try:
            # No heartbeat can arrive now: two intervals (1 s) after the last one, held answers
            # are over, and cache_ms is long over too: the daemon is asked, cannot answer, and
            # the fallback decides.
            await asyncio.sleep(1.5)
            with pytest.raises(BreakerOpen) as caught:
                async with db:
                    raise AssertionError("must not run")
            assert caught.value.source == "fail_closed"
            assert client.stats.decision_requests == 2
        finally:
            daemon.resume()
        # The stream comes back: the daemon decides again, and its answer is held again.
        await eventually(lambda: client.stats.is_daemon_available)

        async def allowed() -> bool:
            try:
                attempt = await db.attempt()
            except BreakerOpen:
                return False
            attempt.abandon()
            return not attempt.is_fallback

        await eventually(allowed)
        asked = client.stats.decision_requests
        await asyncio.sleep(0.3)
        async with db:
            pass
        assert client.stats.decision_requests == asked
    finally:
        await client.aclose()
