"""The site actor: runs a site's jobs one item at a time, in order, so two operations of the
same site never interleave, while messages (submit, control) are handled between items.

Messages carry ids only: the actor reads the job, its parameters and the account's AI settings
from the database itself. Control (cancel) is written to the job row by whoever asks, from any
process; the actor reads it after every item, so an item in flight finishes and is charged and
the job then ends `cancelled` (CONTRACT §16.15). A `pause` works the same way: after the item
in flight the job becomes `paused` (no actor holds it) and the actor moves on to its other jobs;
`resume` queues it again and it continues from its checkpoint.

With several processes the actor runs in the process holding the site's lease, and `fence` is
that lease's token: the actor writes it on every job it takes (`jobs.claim`) and its commits and
settlements apply only while the row still holds it. A process that lost the lease (it was
paused, cut off, or presumed dead) is refused with `LeaseLost`: the job is then not failed or
refunded here, since the new owner goes on with it from its checkpoint.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, cast

from tortoise.models import Model

from actors.operations import OPERATIONS, Operation, OperationContext
from actors.runtime import Actor
from models.jobs import Job
from services import jobs
from services.ai_client import AiError
from services.errors import NotFound
from services.ownership import LeaseLost

log = logging.getLogger("inkflow.actors.site")


@dataclass(frozen=True)
class Submit:
    """A queued job of this site to run."""

    job_id: int


@dataclass(frozen=True)
class Adopt:
    """A job made for this actor while it was held for it (`reserve`): already `running` with
    its token, and begun when `begun` (its kind's begin statement's row) is set."""

    job: Job
    begun: Model | None

    @property
    def job_id(self) -> int:
        return cast("int", self.job.id)


@dataclass(frozen=True)
class Release:
    """The job this actor was held for was not made (e.g. the credits were short)."""


@dataclass(frozen=True)
class Recount:
    """The sweep's tally of the site's queued and running jobs (`jobs.Tally`): an actor whose
    own jobs tally otherwise looks again, and loads the jobs it never heard of (a lost wake-up)."""

    tally: jobs.Tally


@dataclass(frozen=True)
class Control:
    """The control plane changed a job's row: look at it now rather than after the next item."""

    job_id: int


# The kinds the statement that takes a job also begins (PostgreSQL; `jobs.claim_and_begin`).
BEGINS: list[jobs.Begin] = [
    (kind, *step) for kind, operation in OPERATIONS.items() if (step := operation.begin_step()) is not None
]

# How a message crosses to the owning process (services/ownership.WakeChannel): ids only.
MESSAGES: dict[str, type[Submit] | type[Control]] = {"submit": Submit, "control": Control}


class SiteActor(Actor[int]):
    def __init__(self, site_id: int, context: OperationContext, fence: int | None = None) -> None:
        """`fence`: the token of this process's lease on the site; None in a single process."""
        super().__init__(site_id)
        self.context = context
        self.fence = fence
        # The jobs waiting their turn, oldest first: an ordered set, since a job may be announced
        # twice (its wake-up, and the database read after a `Recount` that saw it first).
        self.queue: OrderedDict[int, None] = OrderedDict()
        self._current: Operation | None = None
        # Jobs whose row the control plane changed (a `Control` came): read it before going on.
        self.control_asked: set[int] = set()
        # The current job's items are all done; it ends in the next step, after the messages
        # that came during its last item (a cancel then still ends it `cancelled`).
        self.concluding = False
        # Held for a job a request is making (`reserve`): take no queued job until it comes
        # (`Adopt`) or won't (`Release`).
        self.held = False

    def reserve(self) -> bool:
        """Hold this actor, if it has nothing to do, for a job about to be made already taken
        (`jobs.Taking`): one statement fewer than making it queued and taking it. The caller
        then sends `Adopt` with the job, or `Release`. False when busy or held already."""
        if self.current is not None or self.queue or self.held:
            return False
        self.held = True
        return True

    async def on_start(self) -> None:
        """Pick up the site's unfinished jobs from the database, oldest first."""
        self.queue.update(dict.fromkeys(await jobs.unfinished_ids(self.key)))
        if self.queue:
            self.schedule_step()

    def tally(self) -> jobs.Tally:
        """The tally of the jobs this actor knows: its queue and the job in hand."""
        current = () if self.current is None else (cast("int", self.current.job.id),)
        return jobs.tally((*self.queue, *current))

    async def _recount(self, swept: jobs.Tally) -> None:
        """Match the queue to the database when the sweep's tally differs from ours. The sweep
        read it a moment ago, so a job that ended since makes it differ too: the site's tally
        is read again now, between items, and only a real difference reads the jobs."""
        if swept == self.tally() or await jobs.unfinished_tally(self.key) == self.tally():
            return
        current = None if self.current is None else self.current.job.id
        # Oldest first, as the queue keeps them; a job that ended elsewhere (a cancel whose
        # `Control` was lost) leaves it.
        self.queue = OrderedDict.fromkeys(job_id for job_id in await jobs.unfinished_ids(self.key) if job_id != current)
        if self.queue:
            self.schedule_step()

    async def on_failure(self, message: Any, exc: BaseException) -> None:
        """A crash fails the job in hand and refunds what it had not used — unless the crash is
        the fence refusing a write: the job then belongs to the site's new owner."""
        if isinstance(exc, LeaseLost):
            log.warning("site %s: another process owns it now; this process stops working on it", self.key)
            return
        if self.current is not None:
            job = self.current.job
            await self.current.on_failed()
            error = {"code": "server_error", "message": "The job crashed; see the log."}
            await jobs.finish(self.context.events, job, "failed", error=error, fence=job.fence)

    async def receive(self, message: Any) -> None:
        if isinstance(message, Submit):
            if message.job_id not in self.queue and not self._is_current(message.job_id):
                self.queue[message.job_id] = None
            self.schedule_step()
        elif isinstance(message, Adopt):
            await self._adopt(message)
        elif isinstance(message, Recount):
            await self._recount(message.tally)
        elif isinstance(message, Release):
            self.held = False
            if self.queue:
                self.schedule_step()
        elif isinstance(message, Control):
            if self._is_current(message.job_id):
                self.control_asked.add(message.job_id)
            elif message.job_id in self.queue:
                # Cancelled while waiting its turn: the row says so; drop it now.
                status = await Job.filter(id=message.job_id).values_list("status", flat=True)
                if not status or status[0] not in jobs.ACTIVE:
                    del self.queue[message.job_id]
        else:
            raise TypeError(f"SiteActor can't handle {message!r}")

    async def _adopt(self, message: Adopt) -> None:
        """Run the job made taken for this actor. A restarted actor (its predecessor was held)
        may have found the job in the database, or started another: the job is then one of the
        queue, taken again in its turn (a running job can be)."""
        self.held = False
        job = message.job
        self.queue.pop(job.id, None)
        if self.current is not None:
            self.queue[job.id] = None
        else:
            operation = OPERATIONS[job.kind](job, self.context)
            self.current = operation
            if message.begun is not None:
                operation.begun(message.begun)
            else:
                await operation.begin()
        self.schedule_step()

    def _is_current(self, job_id: int) -> bool:
        return self.current is not None and self.current.job.id == job_id

    async def step(self) -> None:
        if self.current is None and (self.held or not await self._take_next()):
            return
        operation = self.current
        assert operation is not None
        if operation.job.id in self.control_asked and await self._obey_control(operation):
            pass
        elif self.concluding:
            await self._conclude(operation)
        else:
            try:
                more = await operation.run_next()
            except (AiError, NotFound) as exc:  # the model failed, or what the job works on was deleted
                await operation.on_failed()
                await self._close(operation, "failed", result=operation.result(), error=operation.error_of(exc))
            else:
                if more:
                    await jobs.publish_job(self.context.events, operation.job, "job.progress")
                elif operation.job.status in jobs.FINISHED:  # it ended with its last item
                    self.control_asked.discard(operation.job.id)
                    self.current = None
                else:
                    self.concluding = True
        if self.current is not None or self.queue:
            self.schedule_step()

    async def _obey_control(self, operation: Operation) -> bool:
        """Act on what the job's row asks (one read, only after a `Control`); True if it stopped."""
        self.control_asked.discard(operation.job.id)
        requested = await jobs.requested(operation.job.id)
        if requested == "cancel":
            await self._close(operation, "cancelled", result=operation.result())
            return True
        if requested == "pause" and not self.concluding and await jobs.mark_paused(operation.job):
            self.current = None
            await operation.on_paused()
            return True
        return False

    async def _conclude(self, operation: Operation) -> None:
        status, error = operation.ending()  # a cancel was looked at before (`_obey_control`)
        if status == "failed":
            await operation.on_failed()
        await self._close(operation, status, result=operation.result(), error=error)

    async def _take_next(self) -> bool:
        """Start the next job of the queue that is still active; False when none is."""
        while self.queue:
            # Takes it in one statement: a queued job becomes running there, unless a cancel
            # of the queued job won the race (then nothing matches). On PostgreSQL the statement
            # also begins a job whose kind has a `begin_statement`, if no pause or cancel is asked.
            job, begun = await jobs.claim_and_begin(self.queue.popitem(last=False)[0], self.fence, BEGINS)
            if job is None or job.status not in jobs.ACTIVE:
                continue
            operation = OPERATIONS[job.kind](job, self.context)
            self.current = operation
            if begun is not None:
                operation.begun(begun)
                return True
            if job.requested == "cancel":  # asked for while this process was down
                await self._close(operation, "cancelled", result=operation.result())
                continue
            if job.requested == "pause" and await jobs.mark_paused(job):  # likewise
                self.current = None
                await operation.on_paused()
                continue
            await operation.begin()
            return True
        return False

    async def _close(self, operation: Operation, status: str, **outcome: Any) -> None:
        await jobs.finish(self.context.events, operation.job, status, fence=operation.job.fence, **outcome)
        self.current = None

    @property
    def current(self) -> Operation | None:
        return self._current

    @current.setter
    def current(self, operation: Operation | None) -> None:
        # A new current job starts with no pending conclusion.
        self._current = operation
        self.concluding = False
