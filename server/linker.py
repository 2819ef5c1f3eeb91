"""/api/v1/linker/: deterministic internal links between a site's contents (CONTRACT §10)."""

from __future__ import annotations

from aiohttp import web

from actors.operations.linker import LinkContent
from schemas import jobs as jobs_schemas
from server.jobs import add_operation, one_content

routes = web.RouteTableDef()
TAG = "linker"
SUMMARY = (
    "Link the first occurrence of other contents' primary (or cluster) keywords, outside links and "
    "headings, at most one link per 150 words; re-running adds no duplicates"
)


add_operation(
    routes,
    "/api/v1/linker/process/",
    LinkContent,
    tag=TAG,
    module="linker",
    summary=SUMMARY,
    body=jobs_schemas.ContentIdIn,
    params=one_content,
    scope="content",
)
add_operation(
    routes,
    "/api/v1/linker/batch_process/",
    LinkContent,
    tag=TAG,
    module="linker",
    summary="Link up to 50 contents of one site as one job",
    body=jobs_schemas.ContentIdsIn,
    scope="content",
)
