"""/api/v1/publisher/ and `writer/content/{id}/publish_to_wordpress/`: publishing to WordPress
(CONTRACT §9.4), the scheduler of records due later, and the public site definition.

Access (CONTRACT §4): editors publish and create records, viewers read; the WordPress plugin's
site key (ApiKey) may do both for its own site; the `publisher` module switch covers every
route here, `publish_to_wordpress` included. `site-definition/` is public.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, response_schema
from tortoise.exceptions import IntegrityError

from actors.operations.publish import PublishContent
from actors.site import Submit
from models.jobs import Job
from models.publisher import Deployment, PublishingRecord
from schemas import publisher as s
from schemas.common import NoContent, error_responses
from schemas.common import envelope as envelope_schema
from schemas.jobs import JobFailedSchema
from server import envelope
from server.access import endpoint, principal
from server.crud import Resource, add_crud, path_id
from server.jobs import add_operation
from server.keys import ACTORS, EVENTS, SETTINGS
from services import jobs, publishing
from services.errors import Conflict, NotFound, ValidationFailed
from services.periodic import Periodic
from services.principal import Principal
from services.security import utcnow
from services.tenancy import get_owned

log = logging.getLogger("inkflow.publisher")
routes = web.RouteTableDef()
TAG = "publisher"
BASE = "/api/v1/publisher"
MODULE = "publisher"
PUBLISH_ERRORS = error_responses(
    400,
    404,
    schema=JobFailedSchema,
    s400="bad input; `integration_not_configured` (the site has no active WordPress integration); "
    "`image_file_missing` naming `images[<id>].file_path`; or, with `job`, WordPress refused the credentials",
    s404="no such content (or another account's)",
)
PUBLISH_NOTE = (
    " Free (no credits). Creates the post, or updates it when the content has `external_id` or a post "
    "with its marker exists — never a second post; uploads the images (featured → `featured_media`), maps "
    "categories and tags by id, slug, then name, sets Yoast / Rank Math fields where the integration's "
    "`structure.seo_plugins` lists them, then reads the post back: `verified` on the record."
)


def _one(request: web.Request) -> dict[str, Any]:
    data = request["data"]
    return {"content_ids": [path_id(request)], "status": data["status"]}


add_operation(
    routes,
    "/api/v1/writer/content/{id:\\d+}/publish_to_wordpress/",
    PublishContent,
    tag="writer",
    module=MODULE,
    summary="Publish one content to the site's WordPress (a publish job)." + PUBLISH_NOTE,
    body=s.PublishOneIn,
    params=_one,
    scope="content",
    apikey=True,
    errors=PUBLISH_ERRORS,
)

add_operation(
    routes,
    f"{BASE}/publish/",
    PublishContent,
    tag=TAG,
    module=MODULE,
    summary="Publish contents of one site to its WordPress (one publish job, a deployment)." + PUBLISH_NOTE,
    body=s.PublishIn,
    scope="content",
    apikey=True,
    errors=PUBLISH_ERRORS,
)


# --- records --------------------------------------------------------------------------------------


async def start_record_jobs(app: web.Application, records: list[PublishingRecord], user_id: int | None) -> int:
    """Hand due records to publish jobs (one per site and WordPress status), each record to one
    job ever: the job's creating transaction claims them conditionally, so with several server
    processes (or the scheduler racing a create) exactly one job gets each. Answers the jobs made."""
    groups: dict[tuple[int, str], dict[int, PublishingRecord]] = {}
    for record in records:
        # One record per content per job; another record of the same content waits its turn.
        groups.setdefault((record.site_id, record.post_status), {}).setdefault(record.content_id, record)
    started = 0
    for (site_id, post_status), by_content in groups.items():
        claimed = {str(cid): r.id for cid, r in by_content.items()}

        async def attach(job: Job, claimed: dict[str, int] = claimed) -> None:
            if await publishing.claim_records(job, list(claimed.values())) != len(claimed):
                raise Conflict("These records were given to another job.")
            await publishing.attach_job(job, claimed)

        first = next(iter(by_content.values()))
        try:
            job = await jobs.create(
                app[EVENTS],
                account_id=first.account_id,
                site_id=site_id,
                user_id=user_id,
                kind=publishing.KIND,
                params={"content_ids": list(by_content), "not_found": [], "status": post_status},
                total=len(by_content),
                reserve=0,
                attach=attach,
            )
        except (Conflict, IntegrityError):
            log.info("site %s: due records already taken by another job", site_id)
            continue
        await app[ACTORS].tell(site_id, Submit(job.id))
        started += 1
    return started


async def start_due_records(app: web.Application) -> int:
    """The scheduler's look: publish every record whose `scheduled_at` has come."""
    return await start_record_jobs(app, await publishing.due_records(utcnow()), None)


async def _create_record(request: web.Request, data: dict[str, Any]) -> PublishingRecord:
    caller: Principal = principal(request)
    try:
        content = await publishing.content_of(caller, data["content_id"])
    except NotFound:
        # An id in a create's body names another object: 400 naming the field, as every create does.
        raise ValidationFailed(errors={"content_id": ["No such content."]}) from None
    scheduled_at = data.get("scheduled_at")
    if scheduled_at is not None and scheduled_at <= utcnow():
        raise ValidationFailed(
            "scheduled_at must be in the future (leave it out to publish now).",
            errors={"scheduled_at": ["Must be in the future."]},
        )
    await publishing.active_integration(content.site_id)
    if scheduled_at is None:  # published now: a missing file is refused now, not found later
        await publishing.check_image_files(request.app[SETTINGS], [content])
    record = await PublishingRecord.create(
        account_id=content.account_id,
        site_id=content.site_id,
        content_id=content.id,
        destination=data["destination"],
        post_status=data["status"],
        scheduled_at=scheduled_at,
    )
    if scheduled_at is None:
        await start_record_jobs(request.app, [record], caller.user_id)
        await record.refresh_from_db()
    return record


RECORDS = Resource(
    name="publishing record",
    path=f"{BASE}/records/",
    tag=TAG,
    model=PublishingRecord,
    out_schema=s.RecordOut(),
    query_schema=s.RecordQuery,
    search_fields=("external_url",),
    create_schema=s.RecordIn,
    create=_create_record,
    serializer=publishing.record_dict,
    actions=("list", "create", "retrieve"),
    module=MODULE,
    apikey=True,
)
add_crud(routes, RECORDS)

DEPLOYMENTS = Resource(
    name="deployment",
    path=f"{BASE}/deployments/",
    tag=TAG,
    model=Deployment,
    out_schema=s.DeploymentOut(),
    query_schema=s.DeploymentQuery,
    actions=("list", "retrieve"),
    module=MODULE,
    apikey=True,
)
add_crud(routes, DEPLOYMENTS)


# --- status ---------------------------------------------------------------------------------------


@routes.get(f"{BASE}/publish/status/")
@endpoint(role="viewer", module=MODULE, apikey=True)
@docs(
    tags=[TAG],
    summary="The latest publishing record and its job, by `job_id` or by `content_id` (exactly one)",
    description="With `job_id`, `records` lists every record of the job. `record` is null when the content "
    "was never published; `job` is null for a record not yet given to a job (scheduled).",
    responses=error_responses(400, 401, 403, 404),
)
@querystring_schema(s.StatusQuery)
@response_schema(envelope_schema(s.StatusOut, "PublishStatusEnvelope"), 200)
async def publish_status(request: web.Request) -> web.Response:
    caller = principal(request)
    query = request["querystring"]
    if "job_id" in query:
        job = await get_owned(Job, caller, query["job_id"], "publish job")
        records = await publishing.records_of_job(caller, job)
        body: dict[str, Any] = {
            "record": publishing.record_dict(records[0]) if records else None,
            "records": [publishing.record_dict(r) for r in records],
            "job": jobs.job_dict(job),
        }
    else:
        content = await publishing.content_of(caller, query["content_id"])
        record, job = await publishing.latest_of_content(caller, content)
        body = {
            "record": publishing.record_dict(record) if record else None,
            "job": jobs.job_dict(job) if job else None,
        }
    return envelope.ok(request, body)


# --- the public site definition ---------------------------------------------------------------------

CACHE_CONTROL = "public, max-age=60"


@routes.get(f"{BASE}/site-definition/")
@endpoint(public=True)
@docs(
    tags=[TAG],
    summary="Public: what a headless front end needs to render a site (published content only)",
    description="No authentication. `?site=<slug>`: the site's name and domain, navigation from its "
    "categories, and its published posts and pages with slug, title, html, meta and images. Cacheable: "
    "`ETag` and `Cache-Control: public, max-age=60`; a request with a matching `If-None-Match` is "
    "answered 304 with no body. An unknown (or inactive) site → 404.",
    security=[],
    responses=error_responses(400, 404) | {304: {"description": "Not modified (matching If-None-Match)"}},
)
@querystring_schema(s.SiteDefinitionQuery)
@response_schema(envelope_schema(s.SiteDefinitionOut, "SiteDefinitionEnvelope"), 200)
@response_schema(NoContent, 304)
async def site_definition(request: web.Request) -> web.StreamResponse:
    data = await publishing.site_definition(request["querystring"]["site"])
    etag = publishing.definition_etag(envelope.dumps(data))
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    wanted = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
    if etag in wanted or f"W/{etag}" in wanted or "*" in wanted:
        return web.Response(status=304, headers=headers)
    response = envelope.ok(request, data)
    response.headers.update(headers)
    return response


# --- the scheduler ----------------------------------------------------------------------------------


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Publishes records whose `scheduled_at` has come: one loop per process, looking every
    `automation_interval` seconds (the records' conditional claim decides which process
    publishes each)."""
    scheduler = Periodic(
        "publish-scheduler", app[SETTINGS].automation_interval, lambda: start_due_records(app), at_start=True
    )
    scheduler.start()
    yield
    await scheduler.stop()
