"""The three fallback modes, with the daemon killed and restarted (same port, same database)."""

from __future__ import annotations

import asyncio
import time

import pytest

from breakerd import BreakerOpen, Client, FallbackMode, ManualClock
from conftest import Daemon, configure, eventually, inspect


@pytest.mark.parametrize("mode", ["local", "fail_open", "fail_closed"])
async def test_fallback_while_the_daemon_is_away(daemon: Daemon, mode: FallbackMode) -> None:
    await configure(daemon.address, "fb", failure_threshold=2, success_threshold=1, timeout_ms=5_000)
    clock = ManualClock()
    client = await Client.connect(daemon.address, fallback=mode, clock=clock)
    try:
        fb = client.breaker("fb")
        async with fb as attempt:
            assert not attempt.is_fallback
        await eventually(lambda: fb.known_config is not None)  # learnt for the local fallback
        assert await client.flush()

        daemon.kill()
        await eventually(lambda: not client.stats.is_daemon_available)
        clock.advance(1.0)  # past every cached answer
        if mode == "fail_open":
            for _ in range(5):
                with pytest.raises(ValueError):
                    async with fb as attempt:
                        assert attempt.is_fallback
                        raise ValueError("the dependency fails, fail_open lets every call through")
        elif mode == "fail_closed":
            with pytest.raises(BreakerOpen) as caught:
                async with fb:
                    raise AssertionError("must not run")
            assert caught.value.source == "fail_closed"
        else:
            for _ in range(2):  # the daemon's config, run in-process: 2 failures open it
                with pytest.raises(ValueError):
                    async with fb as attempt:
                        assert attempt.is_fallback
                        raise ValueError("down")
            with pytest.raises(BreakerOpen) as caught:
                async with fb:
                    raise AssertionError("must not run")
            assert caught.value.source == "local" and caught.value.state == "open"
            assert caught.value.retry_after == pytest.approx(5.0, abs=0.01)
            clock.advance(5.001)  # timeout_ms passes: one half-open trial
            given_up = await fb.attempt()
            assert given_up.is_trial and given_up.is_fallback
            given_up.abandon()  # its slot is free again at once, nothing counted
            trial = await fb.attempt()
            assert trial.is_trial and trial.is_fallback
            with pytest.raises(BreakerOpen) as caught:
                await fb.attempt()  # half_open_max_calls 1
            assert caught.value.state == "half_open"
            trial.succeeded()  # success_threshold 1: closed again
            async with fb:
                pass
        assert client.stats.fallback_decisions >= 1

        daemon.start()  # same port, same database
        await eventually(lambda: client.stats.is_daemon_available, timeout=15)
        async with fb as attempt:
            assert not attempt.is_fallback  # the daemon decides again
        assert await client.flush()
        metrics = (await inspect(daemon.address, "fb"))["metrics"]
        assert isinstance(metrics, dict)
        # Only daemon decisions were recorded there: the call before the kill and the one after.
        assert (metrics["successful_calls"], metrics["failed_calls"]) == (2, 0)
        assert client.stats.connects >= 2 and client.stats.resyncs >= 2
    finally:
        await client.aclose()


async def test_a_hung_daemon_costs_at_most_the_decision_timeout(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, fallback="fail_open", decision_timeout=0.25,
                                  heartbeat_interval=None, watch_heartbeat=0.2)
    try:
        hung = client.breaker("hung")
        async with hung:
            pass
        daemon.stop()
        try:
            # Past cache_ms (100 ms) and two heartbeat intervals: the held allow is over too.
            await asyncio.sleep(0.6)
            start = time.monotonic()
            async with hung as attempt:
                assert attempt.is_fallback
            # 250 ms plus scheduling slack on a loaded machine; never the OS's TCP timeouts.
            assert time.monotonic() - start < 1.5
        finally:
            daemon.resume()
        await eventually(lambda: client.stats.is_daemon_available, timeout=15)
    finally:
        await client.aclose()
