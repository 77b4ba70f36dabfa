"""One client per process: a client used across a fork raises a clear error."""

from __future__ import annotations

import asyncio
import os

from breakerd import Client, ForkedClientError
from conftest import Daemon


def _child(client: Client, address: str) -> int:
    async def main() -> int:
        try:
            async with client.breaker("forked"):
                pass
            return 1  # the parent's client must not work here
        except ForkedClientError as exc:
            if "after a fork" not in str(exc):
                return 2
        fresh = await Client.connect(address)  # a client made after the fork works
        try:
            async with fresh.breaker("forked") as attempt:
                if attempt.is_fallback:
                    return 3
            return 0 if await fresh.flush() else 4
        finally:
            await fresh.aclose()

    return asyncio.run(main())


async def test_client_used_across_fork_raises_and_a_new_one_works(daemon: Daemon) -> None:
    client = await Client.connect(daemon.address)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 99
            try:
                code = _child(client, daemon.address)
            finally:
                os._exit(code)
        _, status = await asyncio.to_thread(os.waitpid, pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        async with client.breaker("forked") as attempt:  # the parent's client is unharmed
            assert not attempt.is_fallback
    finally:
        await client.aclose()
