"""Following not_leader with real parts: two breakerd processes on one throwaway PostgreSQL, one
leading and one standing by; a client that knows only the standby must end up deciding and
recording at the leader the standby names (issue 14, "Clients")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from breakerd import Attempt, BreakerOpen, Client
from conftest import Daemon, eventually, inspect, raw_request, requests_total
from pg_cluster import PostgresCluster, should_run

pytestmark = pytest.mark.skipif(not should_run(), reason="PostgreSQL is not installed (and CI is not true)")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    yield cluster
    cluster.stop()


async def role(daemon: Daemon) -> object:
    return (await raw_request(daemon.address, {"op": "hello", "client": "probe"})).get("role")


@pytest.fixture
async def leader_and_standby(tmp_path: Path, postgres: PostgresCluster,
                             daemon_factory: list[Daemon]) -> tuple[Daemon, Daemon]:
    """Two daemons of one breakerd cluster on a fresh database: the first started leads, the
    second stands by and names the first in its not_leader errors."""
    args = ("--postgres-url", postgres.fresh_database(), "--cluster", "py", "--leader-lease", "2s")
    (tmp_path / "leader").mkdir()
    (tmp_path / "standby").mkdir()
    leader, standby = Daemon(tmp_path / "leader", *args), Daemon(tmp_path / "standby", *args)
    leader.start()
    daemon_factory.append(leader)

    async def leads() -> bool:
        return await role(leader) == "leader"

    await eventually(leads, timeout=10)
    standby.start()
    daemon_factory.append(standby)

    async def names_the_leader() -> bool:
        reply = await raw_request(standby.address, {"op": "should-attempt", "breaker": "probe"})
        error = reply.get("error")
        return isinstance(error, dict) and error.get("code") == "not_leader" and error.get("leader") == leader.address

    await eventually(names_the_leader, timeout=10)
    assert await role(standby) == "standby"
    return leader, standby


@pytest.mark.parametrize("watch", [False, True], ids=["redirected-by-should-attempt", "redirected-by-watch"])
async def test_a_client_of_the_standby_decides_and_records_at_the_leader_it_names(
        leader_and_standby: tuple[Daemon, Daemon], watch: bool) -> None:
    """Without watch, the decision connection's first op at the standby is should-attempt (its
    not_leader is followed by the decision path); with watch, it is watch (followed by the
    link). The record connection's hello is answered by the standby, so the failure's record
    is refused with not_leader there and resent to the leader. The fallback fails closed, so an
    allowed attempt can only come from a daemon, and the standby allows nothing."""
    leader, standby = leader_and_standby
    name = f"followed-{'watch' if watch else 'decision'}"
    decisions_before = requests_total(leader, "should-attempt")
    client = await Client.connect(standby.address, client_name="py-follower", watch=watch, fallback="fail_closed")
    try:
        db = client.breaker(name)
        deadline = time.monotonic() + 5
        attempt: Attempt | None = None
        while attempt is None:
            try:
                attempt = await db.attempt()
            except BreakerOpen:  # the fallback, while the client moves to the leader
                assert time.monotonic() < deadline, f"no decision from the leader within 5s: {client.stats}"
                await asyncio.sleep(0.01)
        assert not attempt.is_fallback
        attempt.failed()
        assert await client.flush()

        breaker = await inspect(leader.address, name)
        metrics = breaker["metrics"]
        assert isinstance(metrics, dict)
        assert (breaker["state"], metrics["failed_calls"], metrics["successful_calls"]) == ("closed", 1, 0)
        assert requests_total(leader, "should-attempt") > decisions_before
        stats = client.stats
        assert stats.leader_redirects >= 1
        assert (stats.records_acknowledged, stats.records_rejected, stats.records_lost) == (1, 0, 0)
    finally:
        await client.aclose()
