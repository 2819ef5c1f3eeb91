"""One way to run a background look every few seconds (schedulers, lease renewal, the site sweep).

Why not a bare `while True: …; await asyncio.sleep(n)` task that shutdown cancels: on Python 3.11,
`asyncio.wait_for` — used inside asyncpg and redis-py — can swallow a cancellation that arrives
just as the call it waits for completes. The loop then runs on, and the app's shutdown waits for
it forever. So a `Periodic` also watches a stop event, which no library can swallow, and checks
it before every look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """Call `body` every `interval` seconds (at once too with `at_start`) until `stop()`; `poke()`
    asks for the next look now. A look that raises is logged and the loop goes on (a database or
    Redis restarting must not end it)."""

    def __init__(
        self, name: str, interval: float, body: Callable[[], Awaitable[object]], *, at_start: bool = False
    ) -> None:
        self.name = name
        self.interval = interval
        self._body = body
        self._at_start = at_start
        self._stopping = False
        self._wake = asyncio.Event()  # set by poke() and stop()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    def poke(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        if not self._at_start:
            await self._pause()
        while not self._stopping:
            try:
                await self._body()
            except Exception:
                log.exception("%s: a look failed", self.name)
            await self._pause()

    async def _pause(self) -> None:
        """Wait `interval` seconds, or less when poked or stopped."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.interval):
                await self._wake.wait()
        self._wake.clear()
