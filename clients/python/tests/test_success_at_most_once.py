"""A closed breaker's aggregated successes go at most once, without a dedupe key; failures and
half-open trials keep their keys and are resent after a failed connection."""

from __future__ import annotations

from typing import Any

from breakerd import Client
from conftest import Daemon, Proxy, configure, eventually, inspect


def _records(proxy: Proxy) -> list[dict[str, Any]]:
    """The record entries the daemon was sent (a ``record-batch`` line's one by one)."""
    out: list[dict[str, Any]] = []
    for line in proxy.lines():
        if line.get("op") == "record-batch":
            records = line["records"]
            assert isinstance(records, list)
            out.extend(records)
        elif str(line.get("op", "")).startswith("record-"):
            out.append(line)
    return out


async def _proxied(daemon: Daemon, proxy_factory: list[Proxy], **options: Any) -> tuple[Proxy, Client]:
    proxy = Proxy(daemon.port)
    await proxy.start()
    proxy_factory.append(proxy)
    client = await Client.connect(proxy.address, fallback="fail_open", **options)
    return proxy, client


async def _metric(daemon: Daemon, name: str, key: str) -> object:
    metrics = (await inspect(daemon.address, name))["metrics"]
    assert isinstance(metrics, dict)
    return metrics[key]


async def test_a_success_aggregate_carries_no_dedupe_key_while_failures_and_trials_do(
        daemon: Daemon, proxy_factory: list[Proxy]) -> None:
    await configure(daemon.address, "db", failure_threshold=1_000_000)
    await configure(daemon.address, "api", failure_threshold=1, success_threshold=1, timeout_ms=1,
                    half_open_max_calls=1)
    proxy, client = await _proxied(daemon, proxy_factory)
    try:
        db, api = client.breaker("db"), client.breaker("api")
        for _ in range(5):
            (await db.attempt()).succeeded()
        (await db.attempt()).failed()
        (await api.attempt()).failed()  # opens it; half_open a millisecond later
        assert await client.flush()
        await eventually(lambda: client.stats.pushed_transitions >= 2)
        trial = await api.attempt()
        assert trial.is_trial
        trial.succeeded()
        assert await client.flush()
        entries = _records(proxy)
        aggregates = [e for e in entries if e["op"] == "record-success" and "permit" not in e]
        trials = [e for e in entries if e["op"] == "record-success" and "permit" in e]
        failures = [e for e in entries if e["op"] == "record-failure"]
        assert [a.get("count") for a in aggregates] == [5] and all("dedupe" not in a for a in aggregates), aggregates
        assert len(trials) == 1 and len(failures) == 2
        assert all(isinstance(e.get("dedupe"), str) and e["dedupe"] for e in trials + failures), trials + failures
        assert (await inspect(daemon.address, "api"))["state"] == "closed"
    finally:
        await client.aclose()


async def test_a_success_aggregate_cut_off_before_its_reply_is_not_resent_and_counted_as_lost(
        daemon: Daemon, proxy_factory: list[Proxy]) -> None:
    await configure(daemon.address, "db", failure_threshold=1_000_000)
    proxy, client = await _proxied(daemon, proxy_factory, success_flush=0.01)
    try:
        db = client.breaker("db")
        (await db.attempt()).succeeded()  # caches the decision
        assert await client.flush()
        proxy.swallow_replies = True  # the daemon counts and answers; the client never hears
        for _ in range(10):
            (await db.attempt()).succeeded()

        async def counted() -> bool:
            return await _metric(daemon, "db", "successful_calls") == 11

        await eventually(counted)
        proxy.cut()
        proxy.swallow_replies = False
        assert await client.flush(timeout=30)
        s = client.stats
        assert s.records_resent == 0 and s.records_lost == 1 and s.successes_lost == 10, s
        assert s.records_sent == 2 and s.records_acknowledged == 1 and s.records_pending == 0, s
        assert [e.get("count") for e in _records(proxy)] == [None, 10]  # one write of each
        assert await _metric(daemon, "db", "successful_calls") == 11
    finally:
        await client.aclose()


async def test_a_failure_cut_off_before_its_reply_is_resent_with_its_key_and_counted_once(
        daemon: Daemon, proxy_factory: list[Proxy]) -> None:
    await configure(daemon.address, "db", failure_threshold=1_000_000)
    proxy, client = await _proxied(daemon, proxy_factory)
    try:
        db = client.breaker("db")
        (await db.attempt()).abandon()  # caches the decision
        proxy.swallow_replies = True
        (await db.attempt()).failed()

        async def counted() -> bool:
            return await _metric(daemon, "db", "failed_calls") == 1

        await eventually(counted)
        proxy.cut()
        proxy.swallow_replies = False
        assert await client.flush(timeout=30)
        s = client.stats
        assert s.records_resent == 1 and s.records_acknowledged == 1, s
        assert s.records_lost == 0 and s.successes_lost == 0, s
        writes = [e for e in _records(proxy) if e["op"] == "record-failure"]
        assert len(writes) == 2 and writes[0]["dedupe"] == writes[1]["dedupe"], writes
        assert await _metric(daemon, "db", "failed_calls") == 1
    finally:
        await client.aclose()
