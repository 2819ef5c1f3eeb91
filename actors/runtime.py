"""A small actor runtime in the pykka shape, on asyncio and aiojobs.

- An `Actor` owns its state and handles one message at a time from a bounded mailbox.
- It is reached only through an `ActorRef`: `tell` (fire and forget) or `ask` (await a reply,
  with a timeout).
- Long work is split into steps: an actor calls `self.schedule_step()` and its `step()` runs
  after the messages already in the mailbox, so control messages are handled between items.
- The `ActorSystem` starts an actor on its first message, stops it after an idle time, runs
  every actor loop as a job of one `aiojobs.Scheduler`, and supervises: a crash is logged with
  the message, `on_failure` runs, and a fresh actor (empty in-memory state) takes over the same
  mailbox. Asks pending when an actor stops fail with `ActorStopped` instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import aiojobs

from services.errors import DomainError

log = logging.getLogger("inkflow.actors")
K = TypeVar("K", bound=Hashable)


class ActorStopped(RuntimeError):
    """The actor stopped before it could answer."""


@dataclass
class _Envelope:
    message: Any
    reply: asyncio.Future[Any] | None


class Actor(Generic[K]):
    """Subclass and implement `receive`; override `step` for work split into items."""

    def __init__(self, key: K) -> None:
        self.key = key
        self._step_requested = False

    async def on_start(self) -> None:
        """Rebuild in-memory state (durable state lives in the database)."""

    async def on_stop(self) -> None:
        """Release what `on_start` took."""

    async def on_failure(self, message: Any, exc: BaseException) -> None:
        """Clean up after `receive` or `step` raised (e.g. fail and refund the current job)."""

    async def receive(self, message: Any) -> Any:
        raise NotImplementedError

    async def step(self) -> None:
        """Do one item of long work; call `schedule_step()` again if more remains."""

    def schedule_step(self) -> None:
        self._step_requested = True

    @property
    def busy(self) -> bool:
        """True while the actor has work of its own to continue; it is not stopped when idle."""
        return self._step_requested


class ActorRef(Generic[K]):
    def __init__(self, cell: _Cell[K]) -> None:
        self._cell = cell

    @property
    def key(self) -> K:
        return self._cell.key

    async def tell(self, message: Any) -> None:
        await self._cell.put(_Envelope(message, None))

    async def ask(self, message: Any, timeout: float = 30.0) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._cell.put(_Envelope(message, future))
        return await asyncio.wait_for(future, timeout)


class _Cell(Generic[K]):
    """The mailbox and loop behind one actor key."""

    def __init__(self, system: ActorSystem[K], key: K) -> None:
        self.system = system
        self.key = key
        self.mailbox: asyncio.Queue[_Envelope] = asyncio.Queue(maxsize=system.mailbox_size)
        self.actor: Actor[K] = system.factory(key)
        self.stopped = False
        # True while a message or an item is being handled (a drain waits for it, not for idling).
        self.working = False
        self.job: aiojobs.Job[None] | None = None

    async def put(self, envelope: _Envelope) -> None:
        if self.stopped:
            raise ActorStopped(f"actor {self.key!r} has stopped")
        await self.mailbox.put(envelope)

    async def run(self) -> None:
        try:
            await self._start()
            while not self.system._draining:  # a drain stops the loop between items
                if self.actor.busy:
                    # Messages that arrived during the last item go first, then the next item.
                    while not self.mailbox.empty():
                        await self._handle(self.mailbox.get_nowait())
                    if self.system._draining:
                        break
                    self.actor._step_requested = False
                    await self._guarded(None, self.actor.step)
                    continue
                try:
                    # Not `wait_for`, which runs the get as a task of its own on 3.11: a message
                    # would reach the actor a few loop turns later.
                    async with asyncio.timeout(self.system.idle_timeout):
                        envelope = await self.mailbox.get()
                except TimeoutError:
                    if self.mailbox.empty() and not self.actor.busy:
                        break
                    continue
                await self._handle(envelope)
        finally:
            self.stopped = True
            self.system._forget(self)
            self._fail_pending()
            with contextlib.suppress(Exception):
                await self.actor.on_stop()

    async def _start(self) -> None:
        await self.actor.on_start()

    async def _handle(self, envelope: _Envelope) -> None:
        async def call() -> None:
            result = await self.actor.receive(envelope.message)
            if envelope.reply is not None and not envelope.reply.done():
                envelope.reply.set_result(result)

        await self._guarded(envelope, call)

    async def _guarded(self, envelope: _Envelope | None, call: Callable[[], Any]) -> None:
        self.working = True
        try:
            await call()
        except asyncio.CancelledError:
            if envelope is not None and envelope.reply is not None and not envelope.reply.done():
                envelope.reply.set_exception(ActorStopped(f"actor {self.key!r} stopped"))
            raise
        except Exception as exc:
            message = envelope.message if envelope else "step"
            if envelope is not None and envelope.reply is not None and not envelope.reply.done():
                envelope.reply.set_exception(exc)
            if isinstance(exc, DomainError):
                return  # a domain error answered to the asker; the actor is fine
            log.exception("actor %r crashed on %r; restarting it", self.key, message)
            with contextlib.suppress(Exception):
                await self.actor.on_failure(message, exc)
            self.actor = self.system.factory(self.key)
            await self._start()
        finally:
            self.working = False

    def _fail_pending(self) -> None:
        while not self.mailbox.empty():
            envelope = self.mailbox.get_nowait()
            if envelope.reply is not None and not envelope.reply.done():
                envelope.reply.set_exception(ActorStopped(f"actor {self.key!r} stopped"))


class ActorSystem(Generic[K]):
    """Registry and supervisor of the actors of one process."""

    def __init__(
        self,
        factory: Callable[[K], Actor[K]],
        *,
        idle_timeout: float = 60.0,
        mailbox_size: int = 1000,
        limit: int | None = None,
    ) -> None:
        self.factory = factory
        self.idle_timeout = idle_timeout
        self.mailbox_size = mailbox_size
        # close_timeout: at shutdown an item in flight gets a moment, then is cancelled; its job
        # stays `running` in the database and is resumed by the next start.
        self._scheduler = aiojobs.Scheduler(
            limit=limit, pending_limit=10_000, close_timeout=1.0, exception_handler=self._on_error
        )
        self._cells: dict[K, _Cell[K]] = {}
        self._closing = False
        self._draining = False

    async def ref(self, key: K) -> ActorRef[K]:
        """The actor of `key`, started now if it isn't running."""
        if self._closing:
            raise ActorStopped("the actor system is shutting down")
        cell = self._cells.get(key)
        if cell is None or cell.stopped:
            cell = _Cell(self, key)
            self._cells[key] = cell
            cell.job = await self._scheduler.spawn(cell.run(), name=f"actor:{key}")
        return ActorRef(cell)

    def _forget(self, cell: _Cell[K]) -> None:
        if self._cells.get(cell.key) is cell:
            del self._cells[cell.key]

    def _on_error(self, scheduler: aiojobs.Scheduler, context: dict[str, Any]) -> None:
        log.error("actor loop failed: %s", context.get("message"), exc_info=context.get("exception"))

    def stats(self) -> dict[str, int]:
        cells = list(self._cells.values())
        return {"running": len(cells), "busiest_mailbox": max((c.mailbox.qsize() for c in cells), default=0)}

    def running(self, key: K) -> bool:
        cell = self._cells.get(key)
        return cell is not None and not cell.stopped

    def idle(self, key: K) -> Actor[K] | None:
        """The actor of `key` if it is running here and waiting for a message: none in its
        mailbox, no message or step in hand, no step asked for."""
        cell = None if self._closing else self._cells.get(key)
        if cell is None or cell.stopped or cell.working or not cell.mailbox.empty() or cell.actor.busy:
            return None
        return cell.actor

    def keys(self) -> list[K]:
        return [key for key, cell in self._cells.items() if not cell.stopped]

    async def stop(self, key: K) -> None:
        """Stop one actor now, even mid-item (this process lost the right to run it)."""
        cell = self._cells.get(key)
        if cell is not None and cell.job is not None:
            await cell.job.close(timeout=5.0)

    async def drain(self, timeout: float) -> None:
        """A graceful stop: take no new work, let each actor finish the item in flight (for up to
        `timeout` seconds, then it is cancelled uncommitted), and stop the idle ones at once."""
        self._closing = self._draining = True
        cells = list(self._cells.values())
        busy = [c.job for c in cells if c.working and c.job is not None]
        idle = [c.job for c in cells if not c.working and c.job is not None]
        await asyncio.gather(*(job.close(timeout=timeout) for job in idle), return_exceptions=True)
        await asyncio.gather(*(job.wait(timeout=timeout) for job in busy), return_exceptions=True)

    async def close(self) -> None:
        """Stop every actor; their pending asks fail with `ActorStopped`."""
        self._closing = True
        await self._scheduler.close()
        for cell in list(self._cells.values()):
            cell.stopped = True
            cell._fail_pending()
        self._cells.clear()
