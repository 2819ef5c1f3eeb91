"""/api/v1/linker/: deterministic internal links between a site's contents (CONTRACT §10)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from actors.operations.linker import LinkContent
from schemas import jobs as jobs_schemas
from schemas.common import envelope as envelope_schema
from server.access import endpoint
from server.jobs import JOB_DOC, JOB_ERRORS, run_operation

routes = web.RouteTableDef()
TAG = "linker"
SUMMARY = (
    "Link the first occurrence of other contents' primary (or cluster) keywords, outside links and "
    "headings, at most one link per 150 words; re-running adds no duplicates"
)


@routes.post("/api/v1/linker/process/")
@endpoint(role="editor", scope="content", module="linker", idempotent=True)
@docs(tags=[TAG], summary=SUMMARY, description=JOB_DOC, responses=JOB_ERRORS)
@request_schema(jobs_schemas.ContentIdIn)
@querystring_schema(jobs_schemas.WaitQuery)
@response_schema(envelope_schema(jobs_schemas.JobStartedOut, "LinkerProcessEnvelope"), 200)
async def process(request: web.Request) -> web.Response:
    return await run_operation(request, LinkContent, {"content_ids": [request["data"]["content_id"]]})


@routes.post("/api/v1/linker/batch_process/")
@endpoint(role="editor", scope="content", module="linker", idempotent=True)
@docs(tags=[TAG], summary="Link up to 50 contents of one site as one job", description=JOB_DOC, responses=JOB_ERRORS)
@request_schema(jobs_schemas.ContentIdsIn)
@querystring_schema(jobs_schemas.WaitQuery)
@response_schema(envelope_schema(jobs_schemas.JobStartedOut, "LinkerBatchEnvelope"), 200)
async def batch_process(request: web.Request) -> web.Response:
    return await run_operation(request, LinkContent, request["data"])
