"""Fleet scale (issue 18): aggregated successes, record-batch lines, no needless pings."""

from __future__ import annotations

import asyncio
import time

from breakerd import BreakerOpen, Client
from conftest import Daemon, Proxy, configure, eventually, inspect, requests_total


async def test_successes_within_one_flush_arrive_as_one_record(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, success_flush=2.0)
    try:
        db = client.breaker("summed")
        for _ in range(50):
            async with db:
                pass
        before = requests_total(daemon, "record-success")
        metrics = (await inspect(daemon.address, "summed"))["metrics"]
        assert isinstance(metrics, dict) and metrics["total_calls"] == 0  # not sent yet
        await eventually(lambda: client.stats.records_acknowledged == 1, timeout=10)
        metrics = (await inspect(daemon.address, "summed"))["metrics"]
        assert isinstance(metrics, dict) and metrics["successful_calls"] == 50
        s = client.stats
        assert (s.records_sent, s.outcomes_sent, s.record_batches_sent) == (1, 50, 0), s
        assert await asyncio.to_thread(requests_total, daemon, "record-success") == before + 1
    finally:
        await client.aclose()


async def test_a_failure_goes_at_once_after_its_breakers_successes(daemon: Daemon) -> None:
    await configure(daemon.address, "ordered", failure_threshold=1000)
    # A flush interval of 10 s: only the failure can have sent the successes in time.
    client = await Client.connect(daemon.address, success_flush=10.0)
    try:
        db = client.breaker("ordered")
        for _ in range(5):
            async with db:
                pass
        start = time.monotonic()
        (await db.attempt()).failed()

        async def arrived() -> bool:
            return (await inspect(daemon.address, "ordered"))["metrics"]["failed_calls"] == 1  # type: ignore[index]

        await eventually(arrived, timeout=5, interval=0.002)
        assert time.monotonic() - start < 2.0
        b = await inspect(daemon.address, "ordered")
        metrics = b["metrics"]
        assert isinstance(metrics, dict) and metrics["successful_calls"] == 5
        # The successes were counted before the failure: the streak is 1 (after it, it would be 0).
        assert b["failure_count"] == 1
        s = client.stats
        assert s.records_sent == 2 and s.outcomes_sent == 6 and s.record_batches_sent == 1, s
    finally:
        await client.aclose()


async def test_several_breakers_flush_as_one_record_batch(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, success_flush=5.0, record_connections=1)
    try:
        names = [f"batch-{i}" for i in range(20)]
        breakers = [client.breaker(n) for n in names]
        for b in breakers:  # every breaker's decision first, so all successes fall in one tick
            (await b.attempt()).abandon()
        assert await client.flush()
        batches = requests_total(daemon, "record-batch")
        for i, b in enumerate(breakers):
            for _ in range(i + 1):
                async with b:
                    pass
        assert await client.flush()
        s = client.stats
        assert s.records_sent == 20 and s.outcomes_sent == sum(range(1, 21)) and s.record_batches_sent == 1, s
        assert s.records_acknowledged == 20 and s.records_rejected == 0
        assert await asyncio.to_thread(requests_total, daemon, "record-batch") == batches + 1
        for i, n in enumerate(names):
            metrics = (await inspect(daemon.address, n))["metrics"]
            assert isinstance(metrics, dict) and metrics["successful_calls"] == i + 1
    finally:
        await client.aclose()


async def test_batched_records_of_many_breakers_survive_cut_connections(daemon: Daemon,
                                                                       proxy_factory: list[Proxy]) -> None:
    # Failures are resent with their keys and counted exactly once; success aggregates in flight
    # at a cut are not resent (at most once, no key): counted in successes_lost, maybe counted.
    proxy = Proxy(daemon.port)
    await proxy.start()
    proxy_factory.append(proxy)
    names = [f"fleet-{i}" for i in range(8)]
    for n in names:
        await configure(daemon.address, n, failure_threshold=1_000_000)
    client = await Client.connect(proxy.address, fallback="fail_closed", success_flush=0.005, record_connections=1)
    try:
        breakers = [client.breaker(n) for n in names]
        sent = {n: [0, 0] for n in names}
        i = 0
        while sum(a + b for a, b in sent.values()) < 4_000:
            i += 1
            b = breakers[i % len(breakers)]
            try:
                attempt = await b.attempt()
            except BreakerOpen as exc:  # the proxy was just cut: not counted
                assert exc.source == "fail_closed", exc  # the breakers themselves never open
                await asyncio.sleep(0.002)
                continue
            if i % 5 == 0:
                attempt.failed()
                sent[b.name][1] += 1
            else:
                attempt.succeeded()
                sent[b.name][0] += 1
            if i % 40 == 0:
                await asyncio.sleep(0.001)  # a flush tick passes: many breakers in one line
            if i % 499 == 0:
                proxy.cut()
        assert await client.flush(timeout=60)
        s = client.stats
        counted = 0
        for n in names:
            metrics = (await inspect(daemon.address, n))["metrics"]
            assert isinstance(metrics, dict)
            assert metrics["failed_calls"] == sent[n][1], n
            assert sent[n][0] - s.successes_lost <= metrics["successful_calls"] <= sent[n][0], n
            counted += metrics["successful_calls"]
        successes = sum(a for a, _ in sent.values())
        assert successes - s.successes_lost <= counted <= successes, s
        assert s.record_batches_sent > 0 and s.records_resent > 0 and proxy.cuts >= 5, s
        assert s.records_lost <= s.successes_lost and s.records_dropped == 0 and s.records_rejected == 0
    finally:
        await client.aclose()


async def test_an_entrys_error_in_a_batch_is_counted_and_never_resent(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, record_connections=1)
    try:
        good, bad = client.breaker("entry-good"), client.breaker("entry-bad")
        attempt = await good.attempt()
        (await bad.attempt()).abandon()
        # Both in one flush: the good failure and a record the daemon must refuse (a permit it
        # never issued; the public API cannot make one, so it is queued directly).
        attempt.failed()
        client._records.report(bad._entry, "record-failure", permit="not-a-permit")
        assert await client.flush()
        s = client.stats
        assert (s.record_batches_sent, s.records_acknowledged, s.records_rejected, s.records_resent) == (1, 1, 1, 0), s
        good_metrics = (await inspect(daemon.address, "entry-good"))["metrics"]
        bad_metrics = (await inspect(daemon.address, "entry-bad"))["metrics"]
        assert isinstance(good_metrics, dict) and good_metrics["failed_calls"] == 1
        assert isinstance(bad_metrics, dict) and bad_metrics["total_calls"] == 0
    finally:
        await client.aclose()


async def test_a_large_flush_is_split_into_lines_the_daemon_accepts(daemon: Daemon) -> None:
    # 300 breakers with long names: one line of 300 entries would pass the daemon's 64 KiB line
    # limit (it answers line_too_long and closes the connection: every record in it refused).
    client = await Client.connect(daemon.address, success_flush=30.0, record_connections=1)
    try:
        names = [f"{'long-dependency-name.' * 9}{i:04d}" for i in range(300)]
        breakers = [client.breaker(n) for n in names]
        for b in breakers:
            (await b.attempt()).succeeded()
        assert await client.flush(timeout=30)
        s = client.stats
        assert s.records_sent == 300 and s.records_acknowledged == 300 and s.records_resent == 0, s
        assert 2 <= s.record_batches_sent <= 4 and s.protocol_violations == 0, s
        for n in (names[0], names[150], names[-1]):
            metrics = (await inspect(daemon.address, n))["metrics"]
            assert isinstance(metrics, dict) and metrics["successful_calls"] == 1
    finally:
        await client.aclose()


async def test_a_steady_fleet_client_sends_one_record_batch_per_flush_and_no_pings(daemon: Daemon) -> None:
    # Ten breakers busy for 1.2 s, pings after 0.2 s of silence, heartbeats every 0.1 s: the
    # watch connection hears a heartbeat and the record connection a reply every 0.1 s, so
    # neither is ever silent for 0.2 s, and every flush of all ten breakers is one line.
    client = await Client.connect(daemon.address, heartbeat_interval=0.2, watch_heartbeat=0.1)
    try:
        names = [f"steady-{i}" for i in range(10)]
        breakers = [client.breaker(n) for n in names]
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            for b in breakers:
                async with b:
                    pass
            await asyncio.sleep(0.005)
        batches = await asyncio.to_thread(requests_total, daemon, "record-batch")
        assert await asyncio.to_thread(requests_total, daemon, "ping") == 0
        assert 6 <= batches <= 14, batches  # one per 0.1 s flush, not one per breaker
    finally:
        await client.aclose()


async def test_a_silent_record_connection_is_pinged(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address, heartbeat_interval=0.1, watch_heartbeat=0.1)
    try:
        # Nothing recorded: the record connection hears nothing and is pinged; the watch
        # connection hears its heartbeats and is not.
        await asyncio.sleep(0.75)
        pings = await asyncio.to_thread(requests_total, daemon, "ping")
        assert 3 <= pings <= 8, pings
    finally:
        await client.aclose()
