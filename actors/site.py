"""The site actor: runs a site's jobs one item at a time, in order, so two operations of the
same site never interleave, while control messages (submit, cancel) are handled between items."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, cast

from actors.operations import OPERATIONS, Operation, OperationContext
from actors.runtime import Actor
from models.jobs import Job
from services import jobs
from services.ai_client import AiError
from services.ai_settings import AiConfig
from services.security import utcnow

log = logging.getLogger("inkflow.actors.site")


@dataclass(frozen=True)
class Submit:
    job_id: int
    # The AI settings the request just loaded; a resumed job loads them again.
    config: AiConfig | None = None


@dataclass(frozen=True)
class Cancel:
    job_id: int


class SiteActor(Actor[int]):
    def __init__(self, site_id: int, context: OperationContext) -> None:
        super().__init__(site_id)
        self.context = context
        self.queue: deque[int] = deque()
        self.current: Operation | None = None
        self.cancel_requested: set[int] = set()
        self.configs: dict[int, AiConfig] = {}

    async def on_start(self) -> None:
        """Pick up the site's unfinished jobs from the database, oldest first."""
        pending = cast(
            "list[int]",
            await Job.filter(site_id=self.key, status__in=jobs.ACTIVE).order_by("id").values_list("id", flat=True),
        )
        self.queue.extend(pending)
        if self.queue:
            self.schedule_step()

    async def on_failure(self, message: Any, exc: BaseException) -> None:
        """A crash fails the job in hand and refunds what it had not used."""
        if self.current is not None:
            job = self.current.job
            await self.current.on_failed()
            await jobs.finish(job, "failed", error={"code": "server_error", "message": "The job crashed; see the log."})
            self.context.waiters.notify(await Job.get(id=job.id))

    async def receive(self, message: Any) -> Any:
        if isinstance(message, Submit):
            if message.config is not None:
                self.configs[message.job_id] = message.config
            if message.job_id not in self.queue and (self.current is None or self.current.job.id != message.job_id):
                self.queue.append(message.job_id)
            self.schedule_step()
            return None
        if isinstance(message, Cancel):
            return await self._cancel(message.job_id)
        raise TypeError(f"SiteActor can't handle {message!r}")

    async def _cancel(self, job_id: int) -> Job:
        if self.current is not None and self.current.job.id == job_id:
            self.cancel_requested.add(job_id)  # takes effect before the next item
            self.schedule_step()
            return self.current.job
        job = await Job.get(id=job_id)
        if job.status in jobs.ACTIVE:
            if job_id in self.queue:
                self.queue.remove(job_id)
            job = await jobs.finish(job, "cancelled")
            self.context.waiters.notify(job)
        return job

    async def step(self) -> None:
        if self.current is None and not await self._take_next():
            return
        operation = self.current
        assert operation is not None
        job = operation.job
        if job.id in self.cancel_requested:
            self.cancel_requested.discard(job.id)
            await self._close(operation, "cancelled", result=operation.result())
        else:
            try:
                more = await operation.run_next()
            except AiError as exc:
                await operation.on_failed()
                await self._close(operation, "failed", result=operation.result(), error=operation.error_of(exc))
            else:
                if not more:
                    failure = operation.failure()
                    if failure is not None:
                        await operation.on_failed()
                        await self._close(operation, "failed", result=operation.result(), error=failure)
                    else:
                        await self._close(operation, "succeeded", result=operation.result())
        if self.current is not None or self.queue:
            self.schedule_step()

    async def _take_next(self) -> bool:
        while self.queue:
            job = await Job.get_or_none(id=self.queue.popleft())
            if job is None or job.status not in jobs.ACTIVE:
                continue
            operation = OPERATIONS[job.kind](job, self.context, self.configs.pop(job.id, None))
            if job.status == "queued":
                job.status, job.started_at = "running", utcnow()
                await job.save(update_fields=["status", "started_at", "updated_at"])
            await operation.begin()
            self.current = operation
            return True
        return False

    async def _close(self, operation: Operation, status: str, **outcome: Any) -> None:
        finished = await jobs.finish(operation.job, status, **outcome)
        self.current = None
        self.context.waiters.notify(finished)
