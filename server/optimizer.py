"""/api/v1/optimizer/: the deterministic SEO analysis (the AI rewrite comes with the actors)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from actors.operations.optimizer import Optimize
from models.base import scoped
from models.writer import Content
from schemas import jobs as jobs_schemas
from schemas import optimizer as s
from schemas.common import ErrorSchema
from schemas.common import envelope as envelope_schema
from server import envelope
from server.access import endpoint, principal
from server.jobs import JOB_DOC, JOB_ERRORS, run_operation
from services.errors import NotFound
from services.seo import content_analysis

routes = web.RouteTableDef()
TAG = "optimizer"


@routes.post("/api/v1/optimizer/analyze/")
@endpoint(role="viewer", scope="content", module="optimizer")
@docs(
    tags=[TAG],
    summary="Score a content 0–100 from named SEO checks (no model, no credits); stores the score",
    responses={400: {"schema": ErrorSchema}, 404: {"schema": ErrorSchema}},
)
@request_schema(s.AnalyzeIn)
@response_schema(envelope_schema(s.AnalysisOut, "AnalysisEnvelope"), 200)
async def analyze_content(request: web.Request) -> web.Response:
    content_id = request["data"]["content_id"]
    content = await scoped(Content, principal(request)).get_or_none(id=content_id)
    if content is None:
        raise NotFound("Content not found.")
    result = await content_analysis(content)
    if content.seo_score != result["score"]:
        await Content.filter(id=content.id).update(seo_score=result["score"])
    return envelope.ok(request, {"content_id": content.id, **result})


@routes.post("/api/v1/optimizer/optimize/")
@endpoint(role="editor", scope="ai", module="optimizer", idempotent=True)
@docs(
    tags=[TAG],
    summary="AI rewrite guided by the analysis; the previous version is kept",
    description=JOB_DOC,
    responses=JOB_ERRORS,
)
@request_schema(jobs_schemas.ContentIdIn)
@querystring_schema(jobs_schemas.WaitQuery)
@response_schema(envelope_schema(jobs_schemas.JobStartedOut, "OptimizeEnvelope"), 200)
async def optimize(request: web.Request) -> web.Response:
    return await run_operation(request, Optimize, {"content_ids": [request["data"]["content_id"]]})


@routes.post("/api/v1/optimizer/batch_optimize/")
@endpoint(role="editor", scope="ai", module="optimizer", idempotent=True)
@docs(
    tags=[TAG], summary="Optimize up to 50 contents of one site as one job", description=JOB_DOC, responses=JOB_ERRORS
)
@request_schema(jobs_schemas.ContentIdsIn)
@querystring_schema(jobs_schemas.WaitQuery)
@response_schema(envelope_schema(jobs_schemas.JobStartedOut, "BatchOptimizeEnvelope"), 200)
async def batch_optimize(request: web.Request) -> web.Response:
    return await run_operation(request, Optimize, request["data"])
