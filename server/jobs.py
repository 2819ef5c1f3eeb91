"""/api/v1/jobs/, and `add_operation`: the one way an endpoint starts a job and waits for it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema
from marshmallow import Schema, validate

from actors.operations import OPERATIONS, Operation
from actors.site import Adopt, Control, Submit
from models.jobs import Job
from schemas.common import Text, error_responses
from schemas.common import envelope as envelope_schema
from schemas.jobs import JobAcceptedOut, JobFailedSchema, JobOut, JobQuery, WaitQuery
from server import envelope
from server.access import RateScope, endpoint, principal
from server.crud import Resource, add_crud, path_id, with_path_id
from server.errors import ApiError
from server.keys import ACTORS, AI_SETTINGS, EVENTS, SETTINGS
from services import jobs
from services.tenancy import get_owned

routes = web.RouteTableDef()
TAG = "jobs"


JOB_DOC = (
    "Runs as a job of the site's actor. The call waits up to `?wait=` seconds (default 25, max 60): "
    "done → 200 with the result and `job`; still running → 202 with `job` (poll `GET /api/v1/jobs/{id}/` "
    "or subscribe to `job:<id>` over the websocket). A job for a site whose actor is idle is `running` "
    "from the start; one behind another job of its site is `queued`. Credits are reserved first (402 with "
    "`required`/`available` when short, nothing called), the actual cost captured, the rest refunded. "
    "A job that fails within the wait answers 502 `upstream_error` (or the matching 4xx: 404 `not_found` "
    "when what it works on was deleted meanwhile) with `job` in the body."
)
JOB_ERRORS = error_responses(
    400,
    402,
    403,
    404,
    502,
    schema=JobFailedSchema,
    s400="bad input, or ai_not_configured / ai_auth_failed / ai_quota_exceeded / url_not_allowed",
    s402="insufficient credits: `required` and `available`",
    s502="the provider failed; `job` in the body",
)

# Failures the account can fix (its key, its quota, its settings): a 4xx, not a provider outage.
ACCOUNT_PROBLEMS = frozenset(
    {
        "ai_not_configured",
        "ai_auth_failed",
        "ai_quota_exceeded",
        "url_not_allowed",
        # publishing: the integration's credentials or the content's files
        "integration_not_configured",
        "image_file_missing",
        "wordpress_auth_failed",
        "wordpress_app_passwords_unavailable",
        "wordpress_forbidden",
        "app_password_unreadable",
    }
)


class JobFailed(ApiError):
    """A job that failed within the wait window: its error, with the job in the body."""

    def __init__(self, job: dict[str, Any]) -> None:
        error = job.get("error") or {}
        code = error.get("code", "upstream_error")
        super().__init__(error.get("message", "The job failed."), code=code, extra={"job": job})
        # What the job works on was deleted meanwhile: 404, as a request naming it would be.
        self.status = 400 if code in ACCOUNT_PROBLEMS else 404 if code == "not_found" else 502


async def run_operation(request: web.Request, operation: type[Operation], params: dict[str, Any]) -> web.Response:
    """Plan → reserve credits → hand to the site actor → wait up to `?wait=` seconds."""
    caller = principal(request)
    settings = request.app[SETTINGS]
    events = request.app[EVENTS]
    plan = await operation.plan(caller, params, settings)
    if plan.uses_ai:  # 400 ai_not_configured before anything is reserved or queued
        await request.app[AI_SETTINGS].config(caller.account_id)
    actors = request.app[ACTORS]
    # The site's actor, if idle here, waits for this job: it is made taken (and begun), not queued.
    hold = actors.reserve(plan.site_id) if operation.attach is None else None
    taking = None if hold is None else jobs.Taking(hold.fence, operation.begin_step())
    try:
        job, queued, begun = await jobs.create_posted(
            events,
            account_id=caller.account_id,
            site_id=plan.site_id,
            user_id=caller.user_id,
            kind=operation.kind,
            params=plan.params,
            total=plan.total,
            reserve=plan.estimate,
            attach=operation.attach,
            taking=taking,
        )
    except BaseException:
        if hold is not None:
            await actors.release(hold)
        raise
    with events.subscribe([f"job:{job.id}"], queue_size=64, early=True, only=jobs.JOB_ENDS) as subscription:
        # The actor takes the job while its `job.queued` is on its way to the bus.
        await actors.tell(plan.site_id, Submit(job.id) if hold is None else Adopt(job, begun), after=queued)
        await jobs.announced(job, queued)
        finished = await jobs.wait(subscription, job, request["querystring"]["wait"])
    return job_response(request, finished)


def job_response(request: web.Request, job: dict[str, Any]) -> web.Response:
    if job["status"] == "failed":
        raise JobFailed(job)
    if job["status"] in jobs.ACTIVE:
        return envelope.ok(request, {"job": job}, status=202)
    return envelope.ok(request, {**(job["result"] or {}), "job": job})


def _camel(path: str) -> str:
    """`/api/v1/writer/tasks/{id}/generate_content/` → `WriterTasksGenerateContent`."""
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"\{[^}]*\}", "", path.removeprefix("/api/v1/")))
    return "".join(word.title() for word in words)


def add_operation(
    routes: web.RouteTableDef,
    path: str,
    operation: type[Operation],
    *,
    tag: str,
    module: str,
    summary: str,
    body: type[Schema] | None = None,
    params: Callable[[web.Request], dict[str, Any]] | None = None,
    scope: RateScope = "ai",
    errors: dict[int, dict[str, Any]] | None = None,
    apikey: bool = False,
    query: type[Schema] = WaitQuery,
) -> None:
    """Add `POST path`, which starts `operation` as a job and waits for it (CONTRACT §8).

    The body (validated by `body`) is the operation's parameters unless `params` derives them
    from the request (e.g. the id in the path). Both answers are documented: 200 with the
    operation's `result_schema` and 202 with the job; `errors` (from `error_responses`) adds
    the operation's own error statuses to those every job-starting endpoint has; `apikey` lets
    the WordPress plugin's site key start it (for its own site); `query` (a `WaitQuery`) may
    add query parameters of the operation's own.
    """
    name = _camel(path)
    parameters = params or (lambda request: request["data"])

    async def handler(request: web.Request) -> web.Response:
        return await run_operation(request, operation, parameters(request))

    handler.__name__ = f"start_{operation.kind}"
    handler.__doc__ = summary
    decorated: Any = with_path_id(handler) if "{id" in path else handler
    decorated = response_schema(envelope_schema(JobAcceptedOut, f"{name}AcceptedEnvelope"), 202)(decorated)
    decorated = response_schema(envelope_schema(operation.result_schema, f"{name}Envelope"), 200)(decorated)
    decorated = querystring_schema(query)(decorated)
    if body is not None:
        decorated = request_schema(body)(decorated)
    responses = JOB_ERRORS | (errors or {})
    decorated = docs(tags=[tag], summary=summary, description=JOB_DOC, responses=responses)(decorated)
    decorated = endpoint(role="editor", scope=scope, module=module, idempotent=True, apikey=apikey)(decorated)
    routes.post(path)(decorated)


def one_content(request: web.Request) -> dict[str, Any]:
    """`{content_id}` in the body → the operation's `content_ids`."""
    return {"content_ids": [request["data"]["content_id"]]}


@routes.post("/api/v1/jobs/{id:\\d+}/cancel/")
@endpoint(role="editor", scope="general")
@docs(
    tags=[TAG],
    summary="Cancel a job: answers at once; the item in flight finishes and is charged, the rest is refunded",
    description=(
        "A queued job ends `cancelled` at once. A running one keeps `status: running` until its item "
        "in flight ends, then ends `cancelled` (watch `job:<id>` or poll the job). Cancelling a "
        "finished job changes nothing and answers it as it is."
    ),
    responses=error_responses(404),
)
@response_schema(envelope_schema(JobOut, "JobCancelEnvelope"), 200)
@with_path_id
async def cancel(request: web.Request) -> web.Response:
    job = await get_owned(Job, principal(request), path_id(request), "job")
    if job.status in jobs.UNFINISHED:  # a paused job (an automation run) ends at once
        job = await jobs.request_cancel(request.app[EVENTS], job)
        if job.site_id is not None:
            await request.app[ACTORS].tell(job.site_id, Control(job.id))
    return envelope.ok(request, jobs.job_dict(job))


class JobListQuery(JobQuery):
    kind = Text(validate=validate.OneOf(sorted(OPERATIONS)))


add_crud(
    routes,
    Resource(
        name="job",
        path="/api/v1/jobs/",
        tag=TAG,
        model=Job,
        out_schema=JobOut(),
        query_schema=JobListQuery,
        actions=("list", "retrieve"),
        serializer=jobs.job_dict,
    ),
)
