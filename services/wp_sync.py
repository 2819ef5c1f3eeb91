"""The bookkeeping of WordPress syncs: one at a time per integration (the claim), the `SyncRun`
rows, `sync_status/` (one indexed read) and `sync_health/` (30 days of runs and webhooks), and
closing a run however its job ends (succeeded, failed, cancelled, crashed).

The sync itself runs as a job of the site actor (actors/operations/sync.py); what it writes
goes through services/wp_mirror.py, as the webhook's writes do.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from models.accounts import Site
from models.integration import Integration, SyncRun, WebhookEvent
from models.jobs import Job
from services import jobs
from services.errors import Conflict
from services.events import EventBus
from services.principal import Principal
from services.security import utcnow
from services.tenancy import get_owned
from services.wp_mirror import Tally

KIND = "wordpress_sync"
HEALTH_DAYS = 30
RUN_ACTIVE = ("queued", "running")
# WordPress compares `modified_after` with the posts' modification time in the site's own
# timezone (`post_modified`), not in UTC: start the window this much earlier so a site up to
# UTC+14 misses nothing. Re-reading a few hours of posts is cheap, and unchanged ones write nothing.
MODIFIED_AFTER_OVERLAP = timedelta(hours=14)
RUN_STATUS_TO_SYNC_STATUS = {"queued": "syncing", "running": "syncing", "failed": "error"}


def channels(integration_id: int, site_id: int) -> list[str]:
    """Where sync and webhook events go (CONTRACT §16.18)."""
    return [f"integration:{integration_id}", f"site:{site_id}"]


# A run is claimed a moment before its job is made (in the same request): one still queued this
# long after, that no unfinished sync job names, lost its job to a process that died in between.
ORPHANED_AFTER = timedelta(minutes=1)


async def close_orphaned_runs(site_id: int) -> None:
    """Fail the site's runs whose job never came, so they hold neither their integration's next
    sync nor a move of the site to another WordPress."""
    stale = await SyncRun.filter(
        integration__site_id=site_id, status="queued", job_id=None, started_at__lt=utcnow() - ORPHANED_AFTER
    )
    if not stale:
        return
    unfinished = Job.filter(site_id=site_id, kind=KIND, status__in=jobs.UNFINISHED)
    named = {job["params"].get("sync_run_id") for job in await unfinished.values("params")}
    orphans = [run for run in stale if run.id not in named]
    if not orphans:
        return
    error = "Its job was never created (the server stopped while starting the sync)."
    await SyncRun.filter(id__in=[run.id for run in orphans], status="queued").update(
        status="failed", stage="failed", error=error, finished_at=utcnow()
    )
    await Integration.filter(id__in={run.integration_id for run in orphans}, sync_status="syncing").update(
        sync_status="error"
    )


async def claim(integration: Integration) -> SyncRun:
    """Reserve the integration's one sync slot and open its run; 409 `conflict` when a sync is
    already queued or running. The compare-and-set on `sync_status` makes two requests at once
    safe on both databases."""
    if not integration.is_active:
        raise Conflict("The integration is inactive: activate it (is_active) before syncing.")
    await close_orphaned_runs(integration.site_id)
    async with in_transaction():
        taken = (
            not await Integration.filter(id=integration.id).exclude(sync_status="syncing").update(sync_status="syncing")
        )
        # `syncing` with no open run (an orphaned one closed above, or one closed by hand):
        # take it over rather than block the integration for ever.
        if taken and await SyncRun.filter(integration_id=integration.id, status__in=RUN_ACTIVE).exists():
            raise Conflict("A sync of this integration is already queued or running.")
        integration.sync_status = "syncing"
        return await SyncRun.create(integration_id=integration.id, status="queued", stage="queued")


async def last_success(integration_id: int, site: Site) -> tuple[datetime | None, dict[str, int]]:
    """The start of the last successful sync (an incremental sync asks for what changed since) and
    the highest WordPress id of each list it read the ids of (the next one fetches the posts above
    them that its window leaves out). Only a sync of the site's present WordPress counts: after the
    site moved to another one (`Site.wordpress_since`), the next sync reads everything."""
    runs = SyncRun.filter(integration_id=integration_id, status="succeeded")
    if site.wordpress_since is not None:
        runs = runs.filter(started_at__gte=site.wordpress_since)
    last = await runs.order_by("-started_at", "-id").limit(1).values_list("started_at", "read_from", "highest_ids")
    if not last:
        return None, {}
    started_at, read_from, highest = last[0]
    listed = {name: n for name, n in (highest or {}).items() if isinstance(n, int) and not isinstance(n, bool)}
    return read_from or started_at, listed


async def resumable(run: SyncRun, site: Site) -> SyncRun | None:
    """The failed run the claimed `run` goes on from: the integration's run just before it, when
    it failed after its job began reading (it has a job) on the site's present WordPress. Its job's
    cursors are read under its window, which is `run`'s too: nothing succeeded since."""
    previous = await SyncRun.filter(integration_id=run.integration_id, id__lt=run.id).order_by("-id").first()
    if previous is None or previous.status != "failed" or previous.job_id is None:
        return None
    if site.wordpress_since is not None and previous.started_at < site.wordpress_since:
        return None
    return previous


def modified_after(since: datetime | None) -> str | None:
    return None if since is None else (since - MODIFIED_AFTER_OVERLAP).strftime("%Y-%m-%dT%H:%M:%S")


async def close_run(job: Job) -> None:
    """Close the job's run and the integration's status as the job ended (inside `jobs.finish`)."""
    run_id = (job.params or {}).get("sync_run_id")
    run = await SyncRun.get_or_none(id=run_id) if run_id else None
    if run is None or run.status not in RUN_ACTIVE:
        return
    now = utcnow()
    error: str | None = (job.error or {}).get("message") if job.status == "failed" else None
    result = job.result or {}
    counts = dict(run.items or {})
    counts.update({name: result[name] for name in ("items", "terms") if result.get(name) is not None})
    stage = "done" if job.status == "succeeded" else job.status
    run.update_from_dict({"status": job.status, "stage": stage, "error": error, "finished_at": now, "items": counts})
    await run.save()
    changes: dict[str, Any] = {"sync_status": "error" if job.status == "failed" else "idle"}
    if job.status == "succeeded":
        changes["last_sync_at"] = now
    await Integration.filter(id=run.integration_id).update(**changes)


async def announce_closed(events: EventBus, job: Job) -> None:
    params = job.params or {}
    if not params.get("integration_id") or job.site_id is None:
        return
    data = {
        "integration_id": params["integration_id"],
        "sync_run_id": params.get("sync_run_id"),
        "job_id": job.id,
        "status": job.status,
        "error": job.error,
        **{name: (job.result or {}).get(name) for name in ("items", "terms")},
    }
    await events.publish(channels(params["integration_id"], job.site_id), f"sync.{job.status}", data)


jobs.FINISH_HOOKS[KIND] = jobs.FinishHooks(closing=close_run, closed=announce_closed)


# --- reading ---------------------------------------------------------------------------------------

STATUS_FIELDS = ("id", "job_id", "status", "stage", "done", "total", "items", "error", "started_at", "finished_at")


async def sync_status(caller: Principal, integration_id: int) -> dict[str, Any]:
    """The latest run with its integration's `last_sync_at`: one indexed read (the run by
    `(integration_id, started_at)` joined to its integration, scoped to the caller); an
    integration never synced costs a second read of its own row."""
    query = SyncRun.filter(integration_id=integration_id, integration__account_id=caller.account_id)
    if caller.site_id is not None:
        query = query.filter(integration__site_id=caller.site_id)
    rows = (
        await query.order_by("-started_at", "-id")
        .limit(1)
        .values(*STATUS_FIELDS, "integration__last_sync_at", "integration__sync_status")
    )
    if not rows:
        integration = await get_owned(Integration, caller, integration_id, "integration")
        empty = Tally().as_dict()
        return {
            "integration_id": integration.id,
            "status": integration.sync_status if integration.sync_status != "syncing" else "idle",
            "stage": "",
            "done": 0,
            "total": 0,
            "started_at": None,
            "finished_at": None,
            "last_sync_at": integration.last_sync_at,
            "items": empty,
            "terms": empty,
            "last_error": None,
            "job_id": None,
            "sync_run_id": None,
        }
    run = rows[0]
    counts = run["items"] or {}
    return {
        "integration_id": integration_id,
        "status": RUN_STATUS_TO_SYNC_STATUS.get(run["status"], "idle"),
        "stage": run["stage"],
        "done": run["done"],
        "total": run["total"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "last_sync_at": run["integration__last_sync_at"],
        "items": Tally.of(counts.get("items")).as_dict(),
        "terms": Tally.of(counts.get("terms")).as_dict(),
        "last_error": run["error"],
        "job_id": run["job_id"],
        "sync_run_id": run["id"],
    }


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)], 3)


async def sync_health(caller: Principal, integration_id: int) -> dict[str, Any]:
    """Over the last 30 days: syncs, success rate, durations, items synced, the last success and
    failure, and webhooks received and rejected."""
    integration = await get_owned(Integration, caller, integration_id, "integration")
    since = utcnow() - timedelta(days=HEALTH_DAYS)
    runs = await SyncRun.filter(
        integration_id=integration.id, started_at__gte=since, status__in=("succeeded", "failed")
    ).order_by("started_at", "id")
    succeeded = [run for run in runs if run.status == "succeeded"]
    failed = [run for run in runs if run.status == "failed"]
    durations = [
        (run.finished_at - run.started_at).total_seconds() for run in runs if run.finished_at and run.started_at
    ]
    synced = 0
    for run in runs:
        for part in ("items", "terms"):
            tally = Tally.of((run.items or {}).get(part))
            synced += tally.created + tally.updated + tally.deleted
    webhooks = WebhookEvent.filter(integration_id=integration.id, received_at__gte=since)
    return {
        "integration_id": integration.id,
        "days": HEALTH_DAYS,
        "syncs": len(runs),
        "succeeded": len(succeeded),
        "failed": len(failed),
        "success_rate": round(len(succeeded) / len(runs), 4) if runs else None,
        "mean_duration_s": round(sum(durations) / len(durations), 3) if durations else None,
        "p95_duration_s": _percentile(durations, 0.95),
        "items_synced": synced,
        "last_success_at": succeeded[-1].finished_at if succeeded else None,
        "last_failure_at": failed[-1].finished_at if failed else None,
        "last_error": failed[-1].error if failed else None,
        "webhooks_received": await webhooks.filter(status="processed").count(),
        "webhooks_rejected": await webhooks.filter(status="rejected").count(),
    }
