"""Guarantees shared across clients: one breaker, many replicas."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from breakerd import Attempt, BreakerOpen, Client
from conftest import Daemon, configure, eventually, inspect, raw_request


async def test_shared_opening_across_three_clients_within_100ms(tmp_path: Path, daemon_factory: list[Daemon]) -> None:
    # Closed decisions are cached for a minute: only the pushed transition can end them in time.
    daemon = Daemon(tmp_path, "--cache-ms", "60000")
    daemon.start()
    daemon_factory.append(daemon)
    clients = [await Client.connect(daemon.address, client_name=f"replica-{i}") for i in range(3)]
    try:
        delays = []
        for trial in range(3):
            name = f"shared-{trial}"
            await configure(daemon.address, name, failure_threshold=3, timeout_ms=60_000)
            breakers = [c.breaker(name) for c in clients]
            for b in breakers:  # every replica holds a cached "allow"
                (await b.attempt()).succeeded()
            assert all(c.stats.decision_requests >= trial + 1 for c in clients)
            start = time.monotonic()
            for _ in range(3):  # one replica's failures open it
                (await breakers[0].attempt()).failed()
            opened_for: set[int] = set()
            while len(opened_for) < 3 and time.monotonic() - start < 5:
                for i, b in enumerate(breakers):
                    if i in opened_for:
                        continue
                    try:
                        (await b.attempt()).abandon()  # a cache hit: no I/O
                    except BreakerOpen:
                        opened_for.add(i)
                await asyncio.sleep(0.001)
            delays.append(time.monotonic() - start)
            assert opened_for == {0, 1, 2}
        # Measured three times (typically 3-15 ms here): the median must meet the bound on a
        # loaded 2-core machine, and none may come near the 60 s cache (no push arrived).
        print(f"shared opening seen by all three clients after {[round(d * 1000, 1) for d in delays]} ms")
        assert sorted(delays)[1] < 0.100, delays
        assert max(delays) < 1.0, delays
        assert all(c.stats.pushed_transitions >= 3 for c in clients)
    finally:
        for c in clients:
            await c.aclose()


async def test_half_open_cap_is_global_across_clients(daemon: Daemon) -> None:
    await configure(daemon.address, "capped", failure_threshold=1, timeout_ms=300, half_open_max_calls=2,
                    half_open_permit_timeout_ms=60_000)
    clients = [await Client.connect(daemon.address) for _ in range(3)]
    try:
        (await clients[0].breaker("capped").attempt()).failed()
        await eventually(lambda: _state(daemon, "capped", "half_open"))
        # Every replica has heard both transitions (closed -> open -> half_open): none still
        # rejects from the open answer it cached.
        await eventually(lambda: all(c.stats.pushed_transitions >= 2 for c in clients))
        granted: list[Attempt] = []
        rejected: list[BreakerOpen] = []

        async def ask(client: Client) -> None:
            for _ in range(5):
                try:
                    granted.append(await client.breaker("capped").attempt())
                except BreakerOpen as exc:
                    rejected.append(exc)

        await asyncio.gather(*(ask(c) for c in clients))
        assert len(granted) == 2 and all(a.is_trial and not a.is_fallback for a in granted)
        assert len(rejected) == 13 and all(r.state == "half_open" for r in rejected)
        assert (await inspect(daemon.address, "capped"))["half_open_in_flight"] == 2
        for a in granted:
            a.succeeded()
        for c in clients:
            assert await c.flush()
        assert (await inspect(daemon.address, "capped"))["state"] == "closed"  # success_threshold 2
    finally:
        for c in clients:
            await c.aclose()


async def _state(daemon: Daemon, name: str, state: str) -> bool:
    return (await inspect(daemon.address, name))["state"] == state


async def test_outcome_of_an_old_generation_is_stale(daemon: Daemon) -> None:
    await configure(daemon.address, "gen", failure_threshold=1, success_threshold=1, timeout_ms=300)
    a, b = await Client.connect(daemon.address), await Client.connect(daemon.address)
    try:
        slow_call = await a.breaker("gen").attempt()  # closed, generation 1
        (await b.breaker("gen").attempt()).failed()  # another replica opens it (generation 2)
        await eventually(lambda: _state(daemon, "gen", "half_open"))  # generation 3
        await eventually(lambda: b.stats.pushed_transitions >= 2)  # b no longer caches "open"
        trial = await b.breaker("gen").attempt()
        assert trial.is_trial
        trial.succeeded()  # closed again, generation 4
        assert await b.flush()
        before = await inspect(daemon.address, "gen")
        assert before["state"] == "closed"
        # Reported late, against generation 1: it must not open the new closed generation,
        # although failure_threshold is 1.
        slow_call.failed()
        assert await a.flush()
        after = await inspect(daemon.address, "gen")
        assert after["state"] == "closed" and after["generation"] == before["generation"]
        m0, m1 = before["metrics"], after["metrics"]
        assert isinstance(m0, dict) and isinstance(m1, dict)
        assert m1["failed_calls"] == m0["failed_calls"] + 1  # counted in metrics only
    finally:
        await a.aclose()
        await b.aclose()


async def _supports_return_permit(daemon: Daemon) -> bool:
    reply = await raw_request(daemon.address, {"op": "return-permit", "breaker": "probe", "permit": "x"})
    error = reply.get("error")
    return not (isinstance(error, dict) and error.get("code") == "unknown_op")


async def test_cancelled_trial_hands_its_permit_back_and_never_counts(daemon: Daemon) -> None:
    if not await _supports_return_permit(daemon):
        pytest.skip("this breakerd has no return-permit yet (issue #13)")
    await configure(daemon.address, "cancel", failure_threshold=1, timeout_ms=300, half_open_max_calls=1,
                    half_open_permit_timeout_ms=60_000)
    client = await Client.connect(daemon.address)
    try:
        db = client.breaker("cancel")
        (await db.attempt()).failed()
        await eventually(lambda: _state(daemon, "cancel", "half_open"))
        await eventually(lambda: client.stats.pushed_transitions >= 2)  # no cached "open" left
        before = await inspect(daemon.address, "cancel")
        entered = asyncio.Event()

        async def trial() -> None:
            async with db:
                entered.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(trial())
        await entered.wait()
        assert (await inspect(daemon.address, "cancel"))["half_open_in_flight"] == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await client.flush()
        after = await inspect(daemon.address, "cancel")
        assert after["state"] == "half_open" and after["half_open_in_flight"] == 0
        assert after["metrics"] == before["metrics"]  # nothing counted
        assert client.stats.permits_returned == 1
        # The slot is free at once: the next trial need not wait 60 s for the permit to expire.
        (await db.attempt()).succeeded()
    finally:
        await client.aclose()


async def test_cancelled_closed_call_is_not_counted(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address)
    try:
        db = client.breaker("cancel-closed")
        started = asyncio.Event()

        async def call() -> None:
            async with db:
                started.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(call())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with db:
            pass
        assert await client.flush()
        metrics = (await inspect(daemon.address, "cancel-closed"))["metrics"]
        assert isinstance(metrics, dict) and (metrics["total_calls"], metrics["failed_calls"]) == (1, 0)
    finally:
        await client.aclose()


async def test_a_trial_granted_after_the_caller_gave_up_is_handed_back(daemon: Daemon) -> None:
    if not await _supports_return_permit(daemon):
        pytest.skip("this breakerd has no return-permit yet (issue #13)")
    await configure(daemon.address, "late", failure_threshold=1, timeout_ms=300, half_open_permit_timeout_ms=60_000)
    client = await Client.connect(daemon.address, decision_timeout=10.0, heartbeat_interval=None)
    try:
        db = client.breaker("late")
        (await db.attempt()).failed()
        await eventually(lambda: _state(daemon, "late", "half_open"))
        await eventually(lambda: client.stats.pushed_transitions >= 2)  # no cached "open" left
        daemon.stop()  # the question waits for an answer
        try:
            task = asyncio.create_task(db.attempt())
            await asyncio.sleep(0.1)
            task.cancel()  # the caller gives up while asking
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            daemon.resume()
        # The daemon grants the trial anyway; the client hands the permit straight back.
        await eventually(lambda: client.stats.permits_returned == 1)
        b = await inspect(daemon.address, "late")
        assert b["state"] == "half_open" and b["half_open_in_flight"] == 0
    finally:
        await client.aclose()
