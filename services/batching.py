"""One call in flight, the rest gathered: what is submitted during a turn of the event loop, or
while a call is in flight, goes together in the next call, in the order it was submitted.

Redis serves the rate limiter's hits and the event bus's publications this way: under load one
command and one reply serve many requests, and since one call is in flight at a time, what a
process submits reaches Redis in the order it was submitted (the bus's events keep the order in
which this process made them, whichever task made them)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    def __init__(self, call: Callable[[list[Item]], Awaitable[Sequence[Result]]], timeout: float | None = None) -> None:
        """`call` takes the gathered items and returns one result per item, in their order.
        `timeout`: how long one call may take (a stalled server leaves no batch behind)."""
        self._call = call
        self._timeout = timeout
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._in_flight = False

    def submit(self, item: Item) -> asyncio.Future[Result]:
        """Queue `item` now (its place in the order is taken here) and return its result's future.
        Cancelling the future doesn't take the item back: it still goes, unanswered."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        if not self._waiting and not self._in_flight:
            # The first item of this turn sends the batch once the turn's other items joined it.
            loop.call_soon(self._send)
        self._waiting.append((item, future))
        return future

    def _send(self) -> None:
        if self._in_flight or not self._waiting:
            return
        batch, self._waiting = self._waiting, []
        self._in_flight = True
        task = asyncio.ensure_future(self._run(batch))
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        """The call in flight ended: what gathered meanwhile goes now, as one call."""
        self._in_flight = False
        if not task.cancelled():
            task.exception()  # handed to each item's future; not to be logged again as unretrieved
        self._send()

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                results = await self._call([item for item, _ in batch])
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else ConnectionError("cancelled"))
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # an item whose caller gave up was still sent, as a lone call would be
                future.set_result(result)
