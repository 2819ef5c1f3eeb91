"""/api/v1/automation/: the seven-stage pipeline's config, runs, control and log (CONTRACT §12),
and the scheduler that starts due runs.

Every endpoint takes `?site_id=` (a site of the caller's account, else 404), run-specific ones
`?run_id=` (a run of that site, else 404). Reads are for viewers, changes and runs for admins;
the `automation` module must be enabled (403 `module_disabled`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema
from marshmallow import fields

from actors.site import Control, Submit
from models.accounts import Site
from models.automation import STAGES, AutomationLog, AutomationRun
from models.jobs import Job
from schemas import automation as s
from schemas.common import envelope as envelope_schema
from schemas.common import error_responses, page_envelope
from server import envelope
from server.access import endpoint, principal
from server.crud import paginated
from server.keys import ACTORS, AI_SETTINGS, EVENTS, SETTINGS
from services import automation as service
from services.errors import Conflict, DomainError, NotFound
from services.periodic import Periodic
from services.security import utcnow

log = logging.getLogger("inkflow.automation")
routes = web.RouteTableDef()
TAG = "automation"
BASE = "/api/v1/automation"
MODULE = "automation"
READ_ERRORS = error_responses(400, 401, 403, 404, s404="the site (or run) is not one of the caller's account")
CONTROL_ERRORS = error_responses(
    400, 401, 403, 404, 409, s409="the run is not in a state that allows this (e.g. pause of a finished run)"
)


async def _site_id(request: web.Request) -> int:
    site_id: int = request["querystring"]["site_id"]
    if not await Site.filter(id=site_id, account_id=principal(request).account_id).exists():
        raise NotFound("Site not found.")
    return site_id


async def _run(request: web.Request) -> tuple[AutomationRun, Job]:
    site_id = await _site_id(request)
    run = await AutomationRun.get_or_none(id=request["querystring"]["run_id"], site_id=site_id)
    if run is None:
        raise NotFound("Run not found.")
    return run, await Job.get(id=run.job_id)


async def _tell(request: web.Request, site_id: int, message: Submit | Control) -> None:
    await request.app[ACTORS].tell(site_id, message)


def _run_response(request: web.Request, run: AutomationRun, job: Job) -> web.Response:
    return envelope.ok(request, service.run_dict(run, job))


# --- config -----------------------------------------------------------------------------------------


@routes.get(f"{BASE}/config/")
@endpoint(module=MODULE)
@docs(tags=[TAG], summary="The site's automation config (the defaults until it is first saved)", responses=READ_ERRORS)
@querystring_schema(s.SiteQuery)
@response_schema(envelope_schema(s.ConfigOut, "AutomationConfigEnvelope"), 200)
async def get_config(request: web.Request) -> web.Response:
    return envelope.ok(request, await service.get_config(await _site_id(request)))


@routes.put(f"{BASE}/update_config/")
@endpoint(role="admin", module=MODULE)
@docs(
    tags=[TAG],
    summary="Change the config: any subset, nested objects merged key by key; `next_run_at` recomputed",
    description="`enabled` governs the scheduler only; `run_now` works either way.",
    responses=error_responses(400, 401, 403, 404),
)
@querystring_schema(s.SiteQuery)
@request_schema(s.ConfigIn)
@response_schema(envelope_schema(s.ConfigOut, "AutomationUpdateConfigEnvelope"), 200)
async def update_config(request: web.Request) -> web.Response:
    site_id = await _site_id(request)
    config = await service.update_config(principal(request).account_id, site_id, request["data"])
    return envelope.ok(request, config)


# --- runs ---------------------------------------------------------------------------------------------


@routes.post(f"{BASE}/run_now/")
@endpoint(role="admin", scope="ai", module=MODULE, idempotent=True)
@docs(
    tags=[TAG],
    summary="Start a run now (enabled or not): 201 with the queued run",
    description=(
        "Reserves the run's estimate (capped by `max_credits_per_run`) and hands the run to the site's "
        "actor. 409 `conflict` when a run of the site is queued, running or paused; 402 with `required`, "
        "`available` and the per-stage `estimate` when the balance is short (nothing created); 400 "
        "`ai_not_configured` without a usable OpenAI key. Honours `Idempotency-Key`."
    ),
    responses=error_responses(
        400,
        401,
        402,
        403,
        404,
        409,
        schema=s.RunNowErrorSchema,
        s402="`required`, `available` and `estimate` (per stage)",
        s409="a run is active",
    ),
)
@querystring_schema(s.SiteQuery)
@response_schema(envelope_schema(s.RunNowOut, "AutomationRunNowEnvelope"), 201)
async def run_now(request: web.Request) -> web.Response:
    caller = principal(request)
    site_id = await _site_id(request)
    settings = request.app[SETTINGS]
    await request.app[AI_SETTINGS].config(caller.account_id)
    run, job = await service.start_run(
        request.app[EVENTS],
        settings,
        account_id=caller.account_id,
        site_id=site_id,
        user_id=caller.user_id,
        trigger="manual",
    )
    await _tell(request, site_id, Submit(job.id))
    return envelope.created(request, {"run": service.run_dict(run, job)})


@routes.get(f"{BASE}/current_run/")
@endpoint(module=MODULE)
@docs(tags=[TAG], summary="The site's queued, running or paused run, or null", responses=READ_ERRORS)
@querystring_schema(s.SiteQuery)
@response_schema(envelope_schema(fields.Nested(s.RunOut, allow_none=True), "AutomationCurrentRunEnvelope"), 200)
async def current_run(request: web.Request) -> web.Response:
    run = await service.active_run(await _site_id(request))
    if run is None:
        return envelope.ok(request, None)
    return _run_response(request, run, await Job.get(id=run.job_id))


@routes.get(f"{BASE}/pipeline_overview/")
@endpoint(module=MODULE)
@docs(tags=[TAG], summary="How many items wait for each of the seven stages now", responses=READ_ERRORS)
@querystring_schema(s.SiteQuery)
@response_schema(envelope_schema(s.OverviewOut, "AutomationOverviewEnvelope"), 200)
async def pipeline_overview(request: web.Request) -> web.Response:
    return envelope.ok(request, await service.overview(await _site_id(request)))


def processing(run: AutomationRun) -> dict[str, Any] | None:
    """What the active run is at: its stage, the item it processed last, the stage's counts and
    the time left at the stage's pace so far. None before its first stage starts."""
    if not run.current_stage:
        return None
    stage = run.stages[run.current_stage - 1]
    current = run.current_item if (run.current_item or {}).get("number") == run.current_stage else None
    eta = None
    if stage["processed"] and stage["started_at"] and current:
        elapsed = (datetime.fromisoformat(current["at"]) - datetime.fromisoformat(stage["started_at"])).total_seconds()
        eta = round(elapsed / stage["processed"] * max(0, stage["total"] - stage["processed"]))
    return {
        "stage": stage["stage"],
        "number": stage["number"],
        "item": current["item"] if current else None,
        "processed": stage["processed"],
        "total": stage["total"],
        "eta_seconds": eta,
    }


@routes.get(f"{BASE}/current_processing/")
@endpoint(module=MODULE)
@docs(
    tags=[TAG],
    summary="The active run's stage, the item it processed last, processed/total and eta, or null",
    description="Agrees with the last `automation.item_processed` event of `run:<id>`.",
    responses=READ_ERRORS,
)
@querystring_schema(s.SiteQuery)
@response_schema(envelope_schema(fields.Nested(s.ProcessingOut, allow_none=True), "AutomationProcessingEnvelope"), 200)
async def current_processing(request: web.Request) -> web.Response:
    run = await service.active_run(await _site_id(request))
    return envelope.ok(request, processing(run) if run is not None else None)


@routes.post(f"{BASE}/pause/")
@endpoint(role="admin", module=MODULE)
@docs(
    tags=[TAG],
    summary="Pause a run: answers at once; the item in flight finishes and is charged, then the run is paused",
    description="A queued run is paused at once; a running one shows `running` until its item ends "
    "(`automation.paused` on `run:<id>`).",
    responses=CONTROL_ERRORS,
)
@querystring_schema(s.RunQuery)
@response_schema(envelope_schema(s.RunOut, "AutomationPauseEnvelope"), 200)
async def pause(request: web.Request) -> web.Response:
    run, job = await _run(request)
    await service.pause_run(request.app[EVENTS], run, job)
    await _tell(request, run.site_id, Control(job.id))
    return _run_response(request, run, job)


@routes.post(f"{BASE}/resume/")
@endpoint(role="admin", module=MODULE)
@docs(
    tags=[TAG],
    summary="Resume a paused run from its next item (or withdraw a pause that has not taken effect yet)",
    responses=CONTROL_ERRORS,
)
@querystring_schema(s.RunQuery)
@response_schema(envelope_schema(s.RunOut, "AutomationResumeEnvelope"), 200)
async def resume(request: web.Request) -> web.Response:
    run, job = await _run(request)
    if await service.resume_run(request.app[EVENTS], run, job) == "queued":
        await _tell(request, run.site_id, Submit(job.id))
    return _run_response(request, run, job)


@routes.post(f"{BASE}/cancel/")
@endpoint(role="admin", module=MODULE)
@docs(
    tags=[TAG],
    summary="Cancel a run: answers at once; the item in flight finishes and is charged, the rest is refunded",
    description="A queued or paused run ends `cancelled` at once; a running one after its item in flight.",
    responses=CONTROL_ERRORS,
)
@querystring_schema(s.RunQuery)
@response_schema(envelope_schema(s.RunOut, "AutomationCancelEnvelope"), 200)
async def cancel(request: web.Request) -> web.Response:
    run, job = await _run(request)
    job = await service.cancel_run(request.app[EVENTS], run, job)
    await _tell(request, run.site_id, Control(job.id))
    await run.refresh_from_db()
    return _run_response(request, run, job)


@routes.get(f"{BASE}/history/")
@endpoint(module=MODULE)
@docs(tags=[TAG], summary="The site's runs, newest first (paginated)", responses=READ_ERRORS)
@querystring_schema(s.HistoryQuery)
@response_schema(page_envelope(s.RunOut, "AutomationHistoryPage"), 200)
async def history(request: web.Request) -> web.Response:
    site_id = await _site_id(request)
    qs = AutomationRun.filter(site_id=site_id).prefetch_related("job")
    return await paginated(request, qs, request["querystring"], lambda run: service.run_dict(run, run.job))


def _log_line(row: AutomationLog) -> dict[str, Any]:
    return {
        "ts": row.ts,
        "level": row.level,
        "stage": STAGES[row.stage - 1] if row.stage else None,
        "message": row.message,
        "item_id": row.item_id,
    }


@routes.get(f"{BASE}/logs/")
@endpoint(module=MODULE)
@docs(
    tags=[TAG],
    summary="A run's log lines, newest first (paginated; `ordering=ts` for oldest first)",
    responses=READ_ERRORS,
)
@querystring_schema(s.LogsQuery)
@response_schema(page_envelope(s.LogOut, "AutomationLogsPage"), 200)
async def logs(request: web.Request) -> web.Response:
    run, _ = await _run(request)
    query = request["querystring"]
    qs = AutomationLog.filter(run_id=run.id)
    if query.get("level"):
        qs = qs.filter(level=query["level"])
    return await paginated(request, qs, query, _log_line, default_order=("-ts", "-id"))


@routes.get(f"{BASE}/estimate/")
@endpoint(module=MODULE)
@docs(
    tags=[TAG],
    summary="What a run would do now and cost, per stage, with the balance",
    description=(
        "Priced with the cost table the charges use. Assumptions: one cluster per 5 new keywords, "
        "3 ideas per cluster, 1,200 words per new task; `required` (what `run_now` reserves) is the "
        "total capped by `max_credits_per_run`."
    ),
    responses=READ_ERRORS,
)
@querystring_schema(s.SiteQuery)
@response_schema(envelope_schema(s.EstimateOut, "AutomationEstimateEnvelope"), 200)
async def estimate(request: web.Request) -> web.Response:
    site_id = await _site_id(request)
    config = await service.get_config(site_id)
    table = await service.estimate(request.app[SETTINGS], principal(request).account_id, site_id, config)
    return envelope.ok(request, table)


# --- the scheduler ------------------------------------------------------------------------------------


async def start_due_runs(app: web.Application) -> int:
    """Start a run for every enabled config whose `next_run_at` has come, and move each config
    to its next due time. A due time starts at most one run, ever (unique `(site, scheduled_for)`),
    and a site never has two active runs (unique `active_site_id`): whichever process inserts
    first wins, the others get a conflict and only move the schedule on (conditionally)."""
    now = utcnow()
    started = 0
    for row in await service.due_configs(now):
        try:
            run, job = await service.start_run(
                app[EVENTS],
                app[SETTINGS],
                account_id=row.account_id,
                site_id=row.site_id,
                user_id=None,
                trigger="scheduled",
                scheduled_for=row.next_run_at,
            )
        except Conflict:
            log.info("site %s: due run at %s not started (a run is active or already started)", row.site_id, now)
        except DomainError as exc:  # e.g. 402: the balance does not cover the estimate
            log.warning("site %s: scheduled run not started: %s", row.site_id, exc.message)
        else:
            await app[ACTORS].tell(row.site_id, Submit(job.id))
            log.info("site %s: scheduled run %s started", row.site_id, run.id)
            started += 1
        await service.advance_schedule(row, now)
    return started


async def _look(app: web.Application) -> None:
    # With several processes only the holder of the `scheduler` lease looks (the database's
    # unique keys would refuse a second run anyway; this saves the work).
    if await app[ACTORS].singleton("scheduler"):
        await start_due_runs(app)


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """The scheduler: one loop per process, looking every `automation_interval` seconds in the
    process holding the scheduler lease (the database still decides which run starts)."""
    scheduler = Periodic("automation-scheduler", app[SETTINGS].automation_interval, lambda: _look(app), at_start=True)
    scheduler.start()
    yield
    await scheduler.stop()
