"""Jobs (CONTRACT §8): creation with the credit reservation, completion with its settlement,
and waiting for a job from an HTTP request."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from tortoise.transactions import in_transaction

from models.jobs import Job
from server.errors import InsufficientCredits
from services import ledger
from services.security import utcnow

ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")
POLL_INTERVAL = 0.25  # seconds: how often a waiter re-reads a job finished by another process


def job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "site_id": job.site_id,
        "status": job.status,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "result": job.result,
        "error": job.error,
        "credits_reserved": job.credits_reserved,
        "credits_used": job.credits_used,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


async def create(
    *,
    account_id: int,
    site_id: int,
    user_id: int | None,
    kind: str,
    params: dict[str, Any],
    total: int,
    reserve: int,
) -> Job:
    """A queued job holding `reserve` credits; 402 (and no job) when the balance is short."""
    async with in_transaction():
        job = await Job.create(
            account_id=account_id,
            site_id=site_id,
            user_id=user_id,
            kind=kind,
            params=params,
            progress_total=total,
            credits_reserved=reserve,
        )
        if reserve:
            try:
                await ledger.reserve(account_id, reserve, operation=kind, job_id=job.id)
            except InsufficientCredits:
                await job.delete()
                raise
    return job


async def finish(job: Job, status: str, *, result: Any = None, error: dict[str, Any] | None = None) -> Job:
    """Close the job and refund what it reserved but did not use."""
    async with in_transaction():
        fresh = await Job.filter(id=job.id).select_for_update().first()
        if fresh is None or fresh.status in FINISHED:
            return fresh or job
        await ledger.settle(
            fresh.account_id,
            fresh.credits_reserved,
            fresh.credits_used,
            operation=fresh.kind,
            job_id=fresh.id,
        )
        fresh.status = status
        fresh.result = result
        fresh.error = error
        fresh.finished_at = utcnow()
        await fresh.save(update_fields=["status", "result", "error", "finished_at", "updated_at"])
    return fresh


class Waiters:
    """In-process wake-ups for requests waiting on a job (`?wait=`)."""

    def __init__(self) -> None:
        self._events: dict[int, list[asyncio.Event]] = defaultdict(list)

    def notify(self, job_id: int) -> None:
        for event in self._events.pop(job_id, []):
            event.set()

    async def wait(self, job_id: int, timeout: float) -> Job:
        """The job once finished, or as it is when `timeout` runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            job = await Job.get(id=job_id)
            remaining = deadline - loop.time()
            if job.status in FINISHED or remaining <= 0:
                return job
            event = asyncio.Event()
            self._events[job_id].append(event)
            try:
                # The event comes from this process's actor; the poll catches other processes.
                await asyncio.wait_for(event.wait(), min(remaining, POLL_INTERVAL * 4))
            except TimeoutError:
                pass
            finally:
                listeners = self._events.get(job_id)
                if listeners and event in listeners:
                    listeners.remove(event)
                    if not listeners:
                        del self._events[job_id]
