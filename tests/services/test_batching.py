"""`Batcher`: one call in flight, what comes meanwhile gathered for the next, in order; a failed
call fails its own items only."""

from __future__ import annotations

import asyncio

import pytest

from services.batching import Batcher


async def test_items_go_in_submission_order_one_call_at_a_time_and_a_failure_stays_in_its_call() -> None:
    calls: list[list[str]] = []
    release = asyncio.Event()

    async def call(items: list[str]) -> list[str]:
        calls.append(items)
        if len(calls) == 1:
            await release.wait()
        if "bad" in items:
            raise ConnectionError("refused")
        return [item.upper() for item in items]

    batcher: Batcher[str, str] = Batcher(call)
    first = batcher.submit("a")
    await asyncio.sleep(0)  # the first call is in flight, held
    second, bad = batcher.submit("b"), batcher.submit("bad")
    await asyncio.sleep(0.01)
    assert calls == [["a"]], "nothing goes while a call is in flight"
    release.set()
    assert await first == "A"
    with pytest.raises(ConnectionError):
        await second  # its call failed: each of its items hears so
    with pytest.raises(ConnectionError):
        await bad
    third = batcher.submit("c")
    assert await third == "C", "a failed call doesn't stop the next"
    assert calls == [["a"], ["b", "bad"], ["c"]]


async def test_a_call_that_takes_too_long_fails_its_items_and_frees_the_next() -> None:
    async def call(items: list[int]) -> list[int]:
        if items == [1]:
            await asyncio.sleep(5)
        return items

    batcher: Batcher[int, int] = Batcher(call, timeout=0.05)
    stalled = batcher.submit(1)
    await asyncio.sleep(0)
    after = batcher.submit(2)
    with pytest.raises(TimeoutError):
        await stalled
    assert await asyncio.wait_for(after, 1) == 2
