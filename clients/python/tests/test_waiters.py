"""Waiting without polling: a waiter wakes when told, or gives up at its timeout."""

from __future__ import annotations

import asyncio

from breakerd.waiters import Waiters


async def test_every_waiter_wakes_when_told() -> None:
    waiters = Waiters()
    tasks = [asyncio.create_task(waiters.wait(60)) for _ in range(3)]
    await asyncio.sleep(0)  # let them start waiting
    waiters.wake_all()
    assert await asyncio.gather(*tasks) == [True, True, True]


async def test_a_waiter_not_woken_gives_up_and_is_forgotten() -> None:
    waiters = Waiters()
    assert await waiters.wait(0.01) is False
    assert await waiters.wait(0) is False
    waiters.wake_all()  # nobody left to wake: nothing raises
    assert waiters._futures == []


async def test_a_cancelled_waiter_is_forgotten() -> None:
    waiters = Waiters()
    task = asyncio.create_task(waiters.wait(60))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert waiters._futures == []
