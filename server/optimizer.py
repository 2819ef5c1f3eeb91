"""/api/v1/optimizer/: the deterministic SEO analysis (the AI rewrite comes with the actors)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, request_schema, response_schema

from models.accounts import Site
from models.writer import Content, Task
from schemas import optimizer as s
from schemas.common import ErrorSchema
from schemas.common import envelope as envelope_schema
from server import envelope
from server.access import endpoint, principal
from server.crud import scoped
from server.errors import NotFound
from services.seo import ContentInput, analyze

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
    task_id = content.task_id  # type: ignore[attr-defined]
    target = await Task.filter(id=task_id).values_list("word_count", flat=True) if task_id else []
    domain = await Site.filter(id=content.site_id).values_list("domain", flat=True)  # type: ignore[attr-defined]
    result = analyze(
        ContentInput(
            title=content.title,
            html=content.html,
            meta_title=content.meta_title,
            meta_description=content.meta_description,
            primary_keyword=content.primary_keyword,
            slug=content.slug,
            target_word_count=target[0] if target else None,
            site_domain=domain[0] if domain else None,
        )
    )
    if content.seo_score != result["score"]:
        await Content.filter(id=content.id).update(seo_score=result["score"])
    return envelope.ok(request, {"content_id": content.id, **result})
