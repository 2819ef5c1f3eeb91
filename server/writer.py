"""/api/v1/writer/: tasks, content (with versions), images and taxonomies."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, request_schema, response_schema

from actors.operations.images import GenerateImages, RegenerateImage
from actors.operations.writer import GenerateContent
from models.writer import Content, Image, Task, Taxonomy
from schemas import jobs as jobs_schemas
from schemas import writer as s
from schemas.common import envelope as envelope_schema
from schemas.common import error_responses
from server import envelope
from server.access import endpoint, principal
from server.crud import Resource, add_crud, delete_row, path_id, with_caller, with_files, with_path_id
from server.jobs import add_operation
from services import writer

routes = web.RouteTableDef()
TAG = "writer"
BASE = "/api/v1/writer"
ERRORS = error_responses(400, 403, 404)


@routes.post(f"{BASE}/tasks/bulk_create/")
@endpoint(role="editor", scope="content", module="writer", idempotent=True)
@docs(
    tags=[TAG], summary="Create up to 500 tasks, all or nothing (an invalid item is named by index)", responses=ERRORS
)
@request_schema(s.TaskBulkIn)
@response_schema(envelope_schema(s.TaskBulkOut, "TaskBulkEnvelope"), 201)
async def bulk_create(request: web.Request) -> web.Response:
    result = await writer.bulk_create_tasks(principal(request), request["data"]["tasks"])
    return envelope.created(request, result)


CONTENT = Resource(
    name="content",
    path=f"{BASE}/content/",
    tag=TAG,
    model=Content,
    out_schema=s.ContentOut(),
    query_schema=s.ContentQuery,
    search_fields=("title", "primary_keyword"),
    create_schema=s.ContentIn,
    update_schema=s.ContentUpdateIn,
    create=with_caller(writer.create_content),
    update=with_caller(writer.update_content),
    delete=with_files(writer.delete_content),
    module="writer",
    apikey=True,
)


@routes.post(f"{BASE}/content/{{id:\\d+}}/update_content/")
@endpoint(role="editor", scope="content", module="writer", apikey=True)
@docs(
    tags=[TAG],
    summary="Update with validation: sanitise HTML, recount words, keep the previous version, report warnings",
    responses=ERRORS,
)
@request_schema(s.ContentUpdateIn)
@response_schema(envelope_schema(s.ContentWithWarningsOut, "ContentRevisionEnvelope"), 200)
@with_path_id
async def update_content(request: web.Request) -> web.Response:
    content = await CONTENT.get_object(request)
    content, warnings = await writer.revise_content(principal(request), content, request["data"])
    return envelope.ok(request, {**CONTENT.serialize(content), "warnings": warnings})


add_operation(
    routes,
    f"{BASE}/tasks/{{id:\\d+}}/generate_content/",
    GenerateContent,
    tag=TAG,
    module="writer",
    summary="AI article for a task: a draft Content, or with `regenerate` the next version of its content",
    body=jobs_schemas.GenerateContentIn,
    params=lambda request: {"task_id": path_id(request), "regenerate": request["data"]["regenerate"]},
    errors=error_responses(
        409, s409='the task already has content (nothing reserved or called): send {"regenerate": true}'
    ),
)
add_operation(
    routes,
    f"{BASE}/content/{{id:\\d+}}/generate_images/",
    GenerateImages,
    tag=TAG,
    module="writer",
    summary="AI images for a content (featured + in-article per the image settings)",
    params=lambda request: {"content_ids": [path_id(request)]},
)
add_operation(
    routes,
    f"{BASE}/images/generate_for_content/",
    GenerateImages,
    tag=TAG,
    module="writer",
    summary="AI images for up to 50 contents of one site",
    body=jobs_schemas.ContentIdsIn,
)
add_operation(
    routes,
    f"{BASE}/images/regenerate/",
    RegenerateImage,
    tag=TAG,
    module="writer",
    summary="Render an image again, optionally with a new prompt",
    body=jobs_schemas.RegenerateIn,
)


add_crud(
    routes,
    Resource(
        name="task",
        path=f"{BASE}/tasks/",
        model=Task,
        out_schema=s.TaskOut(),
        query_schema=s.TaskQuery,
        search_fields=("title",),
        create_schema=s.TaskIn,
        update_schema=s.TaskUpdateIn,
        create=with_caller(writer.create_task),
        update=with_caller(writer.update_task),
        delete=delete_row,
        tag=TAG,
        module="writer",
    ),
)
add_crud(routes, CONTENT)
add_crud(
    routes,
    Resource(
        name="image",
        path=f"{BASE}/images/",
        model=Image,
        out_schema=s.ImageOut(),
        query_schema=s.ImageQuery,
        actions=("list", "retrieve"),
        default_order=("content_id", "position", "id"),
        tag=TAG,
        module="writer",
    ),
)
add_crud(
    routes,
    Resource(
        name="taxonomy",
        path=f"{BASE}/taxonomies/",
        model=Taxonomy,
        out_schema=s.TaxonomyOut(),
        query_schema=s.TaxonomyQuery,
        search_fields=("name", "slug"),
        actions=("list", "retrieve"),
        default_order=("kind", "name", "id"),
        apikey=True,
        tag=TAG,
        module="writer",
    ),
)
