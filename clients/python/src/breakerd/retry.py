"""Retries with exponential backoff and full jitter, for combining with a breaker."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .errors import BreakerOpen

T = TypeVar("T")


def backoff_delay(retry: int, initial: float, maximum: float) -> float:
    """A delay drawn uniformly from ``0 .. min(maximum, initial * 2**(retry-1))`` seconds
    (full jitter: many replicas retrying together spread out instead of synchronising)."""
    ceiling = min(maximum, initial * (2 ** min(max(retry, 1) - 1, 62)))
    return random.uniform(0.0, max(0.0, ceiling))


async def retry(operation: Callable[[], Awaitable[T]], *, attempts: int = 3, initial_delay: float = 0.05,
                max_delay: float = 2.0, retry_if: Callable[[Exception], bool] | None = None) -> T:
    """Runs ``operation`` until it returns, raises something not to retry, or ``attempts``
    tries were made; the last exception is re-raised.

    Put the breaker inside the retry (``await retry(lambda: quote(order))`` where ``quote`` is
    guarded): every try then asks the breaker and reports its own outcome. :class:`BreakerOpen`
    is never retried, nor is cancellation; ``retry_if`` narrows which other exceptions are
    (all by default). Delays are in seconds, with full jitter.
    """
    tries = max(1, attempts)
    n = 1
    while True:
        try:
            return await operation()
        except BreakerOpen:
            raise
        except Exception as exc:
            if n >= tries or (retry_if is not None and not retry_if(exc)):
                raise
            await asyncio.sleep(backoff_delay(n, initial_delay, max_delay))
            n += 1
