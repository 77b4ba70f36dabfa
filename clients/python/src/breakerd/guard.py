"""``Client.guard``: a decorator that runs an async function inside its breaker."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .breaker import Breaker
from .errors import BreakerOpen

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def guarded_by(breaker: Breaker, fallback: Callable[..., Any] | None) -> Callable[[F], F]:
    """Each call of the decorated async function asks ``breaker``, runs, and records its
    outcome as ``breaker.failure`` judges it (cancellation never counts). When the breaker says
    no, ``fallback`` (sync or async, called with the same arguments) gives the result instead;
    without one, :class:`BreakerOpen` is raised."""

    def decorate(func: F) -> F:
        if not inspect.iscoroutinefunction(func):
            raise TypeError("guard() decorates async functions")

        @functools.wraps(func)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                attempt = await breaker.attempt()
            except BreakerOpen:
                if fallback is None:
                    raise
                result = fallback(*args, **kwargs)
                return await result if inspect.isawaitable(result) else result
            try:
                value = await func(*args, **kwargs)
            except asyncio.CancelledError:
                attempt.abandon()
                raise
            except BaseException as exc:
                if breaker.failure(exc):
                    attempt.failed()
                else:
                    attempt.succeeded()
                raise
            attempt.succeeded()
            return value

        return guarded  # type: ignore[return-value]

    return decorate
