"""Tasks waiting, with a timeout, for a condition another callback makes true."""

from __future__ import annotations

import asyncio


class Waiters:
    """Futures woken together when the condition they wait for may have become true.

    The waiter re-checks the condition itself after waking; nothing polls. Used for "every
    record answered" (``Client.flush``) and "a connection is ready" (admin requests)."""

    def __init__(self) -> None:
        self._futures: list[asyncio.Future[None]] = []

    async def wait(self, timeout: float) -> bool:
        """Waits until woken or ``timeout`` seconds passed; True if woken."""
        if timeout <= 0:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._futures.append(future)
        try:
            done, _ = await asyncio.wait({future}, timeout=timeout)
            return bool(done)
        finally:
            if not future.done():
                future.cancel()
                self._futures.remove(future)

    def wake_all(self) -> None:
        futures, self._futures = self._futures, []
        for future in futures:
            if not future.done():
                future.set_result(None)
