"""/api/v1/optimizer/: the deterministic SEO analysis (the AI rewrite comes with the actors)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, request_schema, response_schema

from actors.operations.optimizer import Optimize
from models.writer import Content
from schemas import jobs as jobs_schemas
from schemas import optimizer as s
from schemas.common import ErrorSchema
from schemas.common import envelope as envelope_schema
from server import envelope
from server.access import endpoint, principal
from server.jobs import add_operation, one_content
from services.seo import content_analysis
from services.tenancy import get_owned

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
    content = await get_owned(Content, principal(request), request["data"]["content_id"], "content")
    result = await content_analysis(content)
    if content.seo_score != result["score"]:
        await Content.filter(id=content.id).update(seo_score=result["score"])
    return envelope.ok(request, {"content_id": content.id, **result})


add_operation(
    routes,
    "/api/v1/optimizer/optimize/",
    Optimize,
    tag=TAG,
    module="optimizer",
    summary="AI rewrite guided by the analysis; the previous version is kept",
    body=jobs_schemas.ContentIdIn,
    params=one_content,
)
add_operation(
    routes,
    "/api/v1/optimizer/batch_optimize/",
    Optimize,
    tag=TAG,
    module="optimizer",
    summary="Optimize up to 50 contents of one site as one job",
    body=jobs_schemas.ContentIdsIn,
)
