"""/api/v1/jobs/ and the one way every AI or long operation is started and awaited."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, response_schema

from actors.operations import Operation
from actors.site import Cancel, Submit
from models.jobs import Job
from schemas.common import ErrorSchema, error_responses
from schemas.common import envelope as envelope_schema
from schemas.jobs import JobOut, JobQuery
from server import envelope
from server.access import endpoint, principal
from server.crud import Resource, add_crud, scoped
from server.errors import ApiError
from server.keys import ACTORS, CRYPTO, SETTINGS, WAITERS
from services import ai_settings, jobs
from services.errors import NotFound

routes = web.RouteTableDef()
TAG = "jobs"


JOB_DOC = (
    "Runs as a job of the site's actor. The call waits up to `?wait=` seconds (default 25, max 60): "
    "done → 200 with the result and `job`; still running → 202 with `job` (poll `GET /api/v1/jobs/{id}/`). "
    "Credits are reserved first (402 with `required`/`available` when short, nothing called), the actual "
    "cost captured, the rest refunded. A job that fails within the wait answers 502 `upstream_error` "
    "(or the matching 4xx) with `job` in the body."
)
JOB_ERRORS = error_responses(
    400,
    402,
    404,
    502,
    s400="bad input, or ai_not_configured / ai_auth_failed / ai_quota_exceeded / url_not_allowed",
    s402="insufficient credits: `required` and `available`",
    s502="the provider failed; `job` in the body",
)


# Failures the account can fix (its key, its quota, its settings): a 4xx, not a provider outage.
ACCOUNT_PROBLEMS = frozenset({"ai_not_configured", "ai_auth_failed", "ai_quota_exceeded", "url_not_allowed"})


class JobFailed(ApiError):
    """A job that failed within the wait window: its error, with the job in the body."""

    def __init__(self, job: Job) -> None:
        error = job.error or {}
        code = error.get("code", "upstream_error")
        status = 400 if code in ACCOUNT_PROBLEMS else 502
        super().__init__(error.get("message", "The job failed."), code=code, extra={"job": jobs.job_dict(job)})
        self.status = status


async def run_operation(request: web.Request, operation: type[Operation], params: dict[str, Any]) -> web.Response:
    """Plan → reserve credits → hand to the site actor → wait up to `?wait=` seconds."""
    caller = principal(request)
    settings = request.app[SETTINGS]
    plan = await operation.plan(caller, params, settings)
    config = None
    if plan.uses_ai:  # 400 ai_not_configured before anything is reserved or queued
        config = await ai_settings.load_config(caller.account_id, settings, request.app[CRYPTO])
    job = await jobs.create(
        account_id=caller.account_id,
        site_id=plan.site_id,
        user_id=caller.user_id,
        kind=operation.kind,
        params=plan.params,
        total=plan.total,
        reserve=plan.estimate,
    )
    waiters = request.app[WAITERS]
    finished = waiters.expect(job.id)
    actor = await request.app[ACTORS].ref(plan.site_id)
    await actor.tell(Submit(job.id, config))
    job = await waiters.wait(job, finished, request["querystring"]["wait"])
    return job_response(request, job)


def job_response(request: web.Request, job: Job) -> web.Response:
    if job.status == "failed":
        raise JobFailed(job)
    body = jobs.job_dict(job)
    if job.status in jobs.ACTIVE:
        return envelope.ok(request, {"job": body}, status=202)
    return envelope.ok(request, {**(job.result or {}), "job": body})


@routes.post("/api/v1/jobs/{id:\\d+}/cancel/")
@endpoint(role="editor", scope="general")
@docs(
    tags=[TAG],
    summary="Cancel a job: between items; finished items are kept and charged, the rest refunded",
    responses={404: {"schema": ErrorSchema}},
)
@response_schema(envelope_schema(JobOut, "JobCancelEnvelope"), 200)
async def cancel(request: web.Request) -> web.Response:
    job = await scoped(Job, principal(request)).get_or_none(id=int(request.match_info["id"]))
    if job is None:
        raise NotFound("Job not found.")
    if job.status in jobs.ACTIVE and job.site_id is not None:
        actor = await request.app[ACTORS].ref(job.site_id)
        job = await actor.ask(Cancel(job.id), timeout=30)
    return envelope.ok(request, jobs.job_dict(job))


add_crud(
    routes,
    Resource(
        name="job",
        path="/api/v1/jobs/",
        tag=TAG,
        model=Job,
        out_schema=JobOut(),
        query_schema=JobQuery,
        actions=("list", "retrieve"),
        serializer=jobs.job_dict,
    ),
)
