"""Jobs (CONTRACT §8): creation with the credit reservation, completion with its settlement,
and waiting for a job from an HTTP request."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from tortoise.transactions import in_transaction

from models.jobs import Job
from services import ledger
from services.errors import InsufficientCredits
from services.security import utcnow

ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")
POLL_INTERVAL = 1.0  # seconds: how often a waiter re-reads a job that another process may finish


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
    """In-process hand-over of finished jobs to the requests waiting on them (`?wait=`).

    A request registers with `expect` before it hands the job to the actor, so even a job that
    finishes at once is not missed; the actor passes the finished job to `notify`, so the waiter
    needs no query. Jobs finished by another process are found by polling.
    """

    def __init__(self) -> None:
        self._futures: dict[int, list[asyncio.Future[Job]]] = defaultdict(list)

    def expect(self, job_id: int) -> asyncio.Future[Job]:
        future: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        self._futures[job_id].append(future)
        return future

    def notify(self, job: Job) -> None:
        for future in self._futures.pop(job.id, []):
            if not future.done():
                future.set_result(job)

    def _forget(self, job_id: int, future: asyncio.Future[Job]) -> None:
        futures = self._futures.get(job_id)
        if futures and future in futures:
            futures.remove(future)
            if not futures:
                del self._futures[job_id]

    async def wait(self, job: Job, future: asyncio.Future[Job], timeout: float) -> Job:
        """The job once finished, or as it is when `timeout` runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while job.status not in FINISHED:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return job
                try:
                    return await asyncio.wait_for(asyncio.shield(future), min(remaining, POLL_INTERVAL))
                except TimeoutError:
                    job = await Job.get(id=job.id)  # finished by another process?
            return job
        finally:
            self._forget(job.id, future)
