"""A link's reconnect loop: what it survives, and what it says about it."""

from __future__ import annotations

import logging

import pytest

from breakerd.connection import Connection, Endpoint
from breakerd.link import Endpoints, Link, LinkSettings
from breakerd.stats import Stats
from conftest import Daemon, eventually


async def test_a_bug_in_a_prepare_step_is_logged_with_its_traceback_and_the_link_reconnects(
        daemon: Daemon, caplog: pytest.LogCaptureFixture) -> None:
    prepared = 0

    async def prepare(connection: Connection) -> None:
        nonlocal prepared
        prepared += 1
        if prepared == 1:
            raise RuntimeError("a bug in prepare")

    settings = LinkSettings(endpoints=Endpoints([Endpoint.parse(daemon.address)]), ssl=None, server_hostname=None,
                            connect_timeout=5.0, request_timeout=5.0, heartbeat_interval=None,
                            backoff_initial=0.01, backoff_max=0.05, max_line_length=65536, stats=Stats())
    link = Link("test", settings, prepare=prepare)
    with caplog.at_level(logging.DEBUG, logger="breakerd"):
        link.start()
        try:
            await eventually(lambda: link.connection is not None)
        finally:
            await link.shutdown()
    reported = [(r.levelname, repr(r.exc_info[1])) for r in caplog.records if r.exc_info is not None]
    assert reported == [("ERROR", "RuntimeError('a bug in prepare')")]
    assert prepared == 2
