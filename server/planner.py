"""/api/v1/planner/: keywords, clusters, ideas and their bulk operations."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, request_schema, response_schema

from actors.operations.planner import AutoCluster, GenerateIdeas
from models.planner import Cluster, ContentIdea, Keyword
from schemas import jobs as jobs_schemas
from schemas import planner as s
from schemas.common import envelope as envelope_schema
from schemas.common import error_responses
from server import envelope
from server.access import endpoint, principal
from server.crud import Resource, add_crud, delete_row, with_caller, with_settings, without_request
from server.jobs import add_operation
from server.keys import SETTINGS
from services import planner

routes = web.RouteTableDef()
TAG = "planner"
BASE = "/api/v1/planner"
ERRORS = error_responses(400, 403)


# Bulk routes come before the resources so `/keywords/bulk_delete/` is never read as an id.
@routes.post(f"{BASE}/keywords/bulk_delete/")
@endpoint(role="editor", scope="content", module="planner", idempotent=True)
@docs(tags=[TAG], summary="Delete up to 1,000 keywords; other accounts' ids come back in not_found", responses=ERRORS)
@request_schema(s.BulkIdsIn)
@response_schema(envelope_schema(s.BulkDeleteOut, "BulkDeleteEnvelope"), 200)
async def bulk_delete(request: web.Request) -> web.Response:
    return envelope.ok(request, await planner.bulk_delete(principal(request), request["data"]["ids"]))


@routes.post(f"{BASE}/keywords/bulk_status/")
@endpoint(role="editor", scope="content", module="planner", idempotent=True)
@docs(tags=[TAG], summary="Set the status of up to 1,000 keywords", responses=ERRORS)
@request_schema(s.BulkStatusIn)
@response_schema(envelope_schema(s.BulkStatusOut, "BulkStatusEnvelope"), 200)
async def bulk_status(request: web.Request) -> web.Response:
    data = request["data"]
    return envelope.ok(request, await planner.bulk_status(principal(request), data["ids"], data["status"]))


@routes.post(f"{BASE}/keywords/add_to_workflow/")
@endpoint(role="editor", scope="content", module="planner", idempotent=True)
@docs(tags=[TAG], summary="Copy seed keywords into a site (duplicates skipped)", responses=ERRORS)
@request_schema(s.AddToWorkflowIn)
@response_schema(envelope_schema(s.AddToWorkflowOut, "AddToWorkflowEnvelope"), 201)
async def add_to_workflow(request: web.Request) -> web.Response:
    result = await planner.add_to_workflow(request.app[SETTINGS], principal(request), request["data"])
    return envelope.created(request, result)


@routes.post(f"{BASE}/ideas/create_tasks/")
@endpoint(role="editor", scope="content", module="planner", idempotent=True)
@docs(tags=[TAG], summary="Turn new ideas into writing tasks; the ideas become queued", responses=ERRORS)
@request_schema(s.BulkIdsIn)
@response_schema(envelope_schema(s.CreateTasksOut, "CreateTasksEnvelope"), 201)
async def create_tasks(request: web.Request) -> web.Response:
    return envelope.created(request, await planner.create_tasks(principal(request), request["data"]["ids"]))


add_operation(
    routes,
    f"{BASE}/clusters/auto_cluster/",
    AutoCluster,
    tag=TAG,
    module="planner",
    summary="AI clustering of up to 200 keywords of a site: clusters made or reused by name, keywords mapped",
    body=jobs_schemas.AutoClusterIn,
)
add_operation(
    routes,
    f"{BASE}/clusters/generate_ideas/",
    GenerateIdeas,
    tag=TAG,
    module="planner",
    summary="AI content ideas for up to 20 clusters",
    body=jobs_schemas.GenerateIdeasIn,
)


add_crud(
    routes,
    Resource(
        name="keyword",
        path=f"{BASE}/keywords/",
        model=Keyword,
        out_schema=s.KeywordOut(),
        query_schema=s.KeywordQuery,
        search_fields=("keyword",),
        create_schema=s.KeywordIn,
        update_schema=s.KeywordUpdateIn,
        create=with_settings(planner.create_keyword),
        update=with_caller(planner.update_keyword),
        delete=without_request(planner.delete_keyword),
        tag=TAG,
        module="planner",
    ),
)
add_crud(
    routes,
    Resource(
        name="cluster",
        path=f"{BASE}/clusters/",
        model=Cluster,
        out_schema=s.ClusterOut(),
        query_schema=s.ClusterQuery,
        search_fields=("name", "description"),
        create_schema=s.ClusterIn,
        update_schema=s.ClusterUpdateIn,
        create=with_caller(planner.create_cluster),
        update=with_caller(planner.update_cluster),
        delete=without_request(planner.delete_cluster),
        tag=TAG,
        module="planner",
    ),
)
add_crud(
    routes,
    Resource(
        name="idea",
        path=f"{BASE}/ideas/",
        model=ContentIdea,
        out_schema=s.IdeaOut(),
        query_schema=s.IdeaQuery,
        search_fields=("title",),
        create_schema=s.IdeaIn,
        update_schema=s.IdeaUpdateIn,
        create=with_caller(planner.create_idea),
        update=with_caller(planner.update_idea),
        delete=delete_row,
        tag=TAG,
        module="planner",
    ),
)
