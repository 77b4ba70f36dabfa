"""The example service runs as the README shows, against a real breakerd."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from conftest import Daemon

pytest.importorskip("httpx")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "flaky_service.py"


async def test_example_service_opens_and_recovers(daemon: Daemon) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--daemon", daemon.address, "--duration", "5", "--outage", "1-2.5",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    text = output.decode()
    assert process.returncode == 0, text
    done = re.search(r"done: ok=(\d+) failed=(\d+) served-from-cache=(\d+);", text)
    assert done, text
    ok, failed, fallback = map(int, done.groups())
    assert failed >= 5 and fallback > 0 and ok > 0, text  # it opened, served from cache, closed again
    assert "(decisions: breakerd)" in text
