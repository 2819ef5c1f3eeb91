"""services/periodic.py: the background loops stop even when a library swallows their cancellation."""

from __future__ import annotations

import asyncio

from services.periodic import Periodic


async def test_stop_ends_a_loop_whose_look_swallows_the_cancellation() -> None:
    # What asyncio.wait_for inside asyncpg/redis-py can do on Python 3.11: a cancel is lost.
    entered = asyncio.Event()
    swallowed: list[bool] = []

    async def look() -> None:
        entered.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(True)

    loop = Periodic("swallower", 0.01, look, at_start=True)
    loop.start()
    await asyncio.wait_for(entered.wait(), 1)
    stopping = asyncio.create_task(loop.stop())
    done, _ = await asyncio.wait({stopping}, timeout=1)
    assert stopping in done, "stop() still waiting: a bare `while True` + cancel() would wait forever here"
    assert swallowed == [True]


async def test_a_failed_look_is_logged_and_the_loop_goes_on_and_poke_looks_at_once() -> None:
    looks: list[int] = []

    async def look() -> None:
        looks.append(len(looks))
        if len(looks) == 1:
            raise RuntimeError("the database restarting")

    loop = Periodic("flaky", 60, look, at_start=True)
    loop.start()
    for _ in range(2):
        await asyncio.sleep(0.05)
        loop.poke()  # the interval is a minute: only pokes bring the next looks
    await asyncio.sleep(0.05)
    await loop.stop()
    assert looks == [0, 1, 2]


async def test_without_at_start_the_first_look_waits_for_the_interval() -> None:
    looks: list[float] = []
    loop = Periodic("later", 60, lambda: asyncio.sleep(0, looks.append(1.0)))
    loop.start()
    await asyncio.sleep(0.05)
    await loop.stop()
    assert looks == []
