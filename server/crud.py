"""List, detail, create, update and delete written once; each resource is declared in a few
lines (`Resource`) and `add_crud` adds its routes with their docs, schemas and access rules.

Lists: tenancy filter → declared filters → search → ordering → one page (CONTRACT §1).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema
from marshmallow import Schema
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from schemas.common import ListQuery, NoContent, error_responses, page_envelope
from schemas.common import envelope as envelope_schema
from server import envelope
from server.access import Principal, RateScope, endpoint, principal
from server.errors import NotFound

PAGING_KEYS = frozenset({"page", "page_size", "ordering", "search"})
DEFAULT_ORDER = ("-created_at", "-id")

Serializer = Callable[[Any], dict[str, Any]]
CreateHook = Callable[[web.Request, dict[str, Any]], Awaitable[Model]]
UpdateHook = Callable[[web.Request, Any, dict[str, Any]], Awaitable[Model]]
DeleteHook = Callable[[web.Request, Any], Awaitable[None]]


def scoped(model: type[Model], caller: Principal, *, site_owned: bool = True) -> QuerySet[Any]:
    """The caller's rows of `model`: their account's, and only their site's for an API key."""
    qs = model.filter(account_id=caller.account_id)
    if site_owned and caller.site_id is not None:
        qs = qs.filter(site_id=caller.site_id)
    return qs


def apply_filters(qs: QuerySet[Any], query: dict[str, Any], schema: Schema) -> QuerySet[Any]:
    """Each declared query field filters by its `filter` lookup (default: its own name)."""
    for name, value in query.items():
        if name in PAGING_KEYS or value is None:
            continue
        lookup = schema.fields[name].metadata.get("filter", name)
        if lookup is not None:
            qs = qs.filter(**{lookup: value})
    return qs


def apply_search(qs: QuerySet[Any], text: str | None, fields: Sequence[str]) -> QuerySet[Any]:
    if not text or not fields:
        return qs
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__icontains": text})
    return qs.filter(condition)


async def paginated(
    request: web.Request,
    qs: QuerySet[Any],
    query: dict[str, Any],
    serialize: Serializer,
    default_order: Sequence[str] = DEFAULT_ORDER,
) -> web.Response:
    page, size = query["page"], query["page_size"]
    ordering = query.get("ordering")
    qs = qs.order_by(ordering, "-id") if ordering else qs.order_by(*default_order)
    count = await qs.count()
    rows = await qs.offset((page - 1) * size).limit(size) if (page - 1) * size < count else []
    url = request.url
    next_url = str(url.update_query(page=page + 1, page_size=size)) if page * size < count else None
    previous_url = (
        str(url.update_query(page=min(page - 1, max(1, -(-count // size))), page_size=size)) if page > 1 else None
    )
    return envelope.page(
        request, [serialize(row) for row in rows], count=count, next_url=next_url, previous_url=previous_url
    )


def schema_serializer(schema: Schema) -> Serializer:
    return schema.dump


@dataclass
class Resource:
    """One API resource: where it lives, what it shows, how it is filtered and changed."""

    name: str
    path: str  # the collection path, e.g. "/api/v1/planner/keywords/"
    tag: str
    model: type[Model]
    out_schema: Schema
    query_schema: type[ListQuery]
    search_fields: Sequence[str] = ()
    create_schema: type[Schema] | None = None
    update_schema: type[Schema] | None = None
    create: CreateHook | None = None
    update: UpdateHook | None = None
    delete: DeleteHook | None = None
    actions: Sequence[str] = ("list", "create", "retrieve", "update", "delete")
    read_role: str = "viewer"
    write_role: str = "editor"
    module: str | None = None
    apikey: bool = False
    site_owned: bool = True
    # Rows not owned by an account (reference data) are visible to every caller.
    tenant: bool = True
    write_scope: RateScope = "content"
    serializer: Serializer | None = None
    base_query: Callable[[Principal], QuerySet[Any]] | None = None
    default_order: Sequence[str] = DEFAULT_ORDER
    extra: dict[str, Any] = field(default_factory=dict)

    def serialize(self, obj: Any) -> dict[str, Any]:
        return (self.serializer or self.out_schema.dump)(obj)

    def queryset(self, caller: Principal) -> QuerySet[Any]:
        if self.base_query is not None:
            return self.base_query(caller)
        if not self.tenant:
            return self.model.all()
        return scoped(self.model, caller, site_owned=self.site_owned)

    async def get_object(self, request: web.Request) -> Any:
        obj = await self.queryset(principal(request)).get_or_none(id=int(request.match_info["id"]))
        if obj is None:
            raise NotFound(f"{self.name.capitalize()} not found.")
        return obj


def add_crud(routes: web.RouteTableDef, r: Resource) -> None:
    """Add the resource's routes (with OpenAPI docs) to `routes`."""
    detail = r.path + "{id:\\d+}/"
    item_doc = envelope_schema(r.out_schema, f"{r.name.title().replace(' ', '')}Envelope")
    errors = error_responses(400, 401, 403)

    if "list" in r.actions:

        @routes.get(r.path)
        @endpoint(role=r.read_role, module=r.module, apikey=r.apikey)
        @docs(tags=[r.tag], summary=f"List {r.name}s", responses=errors)
        @querystring_schema(r.query_schema)
        @response_schema(page_envelope(r.out_schema, f"{r.name.title().replace(' ', '')}Page"), 200)
        async def list_handler(request: web.Request) -> web.Response:
            query = request["querystring"]
            qs = apply_filters(r.queryset(principal(request)), query, r.query_schema())
            qs = apply_search(qs, query.get("search"), r.search_fields)
            return await paginated(request, qs, query, r.serialize, r.default_order)

    if "create" in r.actions and r.create is not None and r.create_schema is not None:
        create = r.create

        @routes.post(r.path)
        @endpoint(role=r.write_role, scope=r.write_scope, idempotent=True, module=r.module, apikey=r.apikey)
        @docs(tags=[r.tag], summary=f"Create a {r.name}", responses=errors | error_responses(409))
        @request_schema(r.create_schema)
        @response_schema(item_doc, 201)
        async def create_handler(request: web.Request) -> web.Response:
            obj = await create(request, request["data"])
            return envelope.created(request, r.serialize(obj))

    if "retrieve" in r.actions:

        @routes.get(detail)
        @endpoint(role=r.read_role, module=r.module, apikey=r.apikey)
        @docs(tags=[r.tag], summary=f"Get a {r.name}", responses=errors | error_responses(404))
        @response_schema(item_doc, 200)
        async def retrieve_handler(request: web.Request) -> web.Response:
            return envelope.ok(request, r.serialize(await r.get_object(request)))

    if "update" in r.actions and r.update is not None and r.update_schema is not None:
        update = r.update

        @routes.put(detail)
        @endpoint(role=r.write_role, scope=r.write_scope, module=r.module, apikey=r.apikey)
        @docs(tags=[r.tag], summary=f"Update a {r.name}", responses=errors | error_responses(404))
        @request_schema(r.update_schema)
        @response_schema(item_doc, 200)
        async def update_handler(request: web.Request) -> web.Response:
            obj = await r.get_object(request)
            return envelope.ok(request, r.serialize(await update(request, obj, request["data"])))

    if "delete" in r.actions and r.delete is not None:
        delete = r.delete

        @routes.delete(detail)
        @endpoint(role=r.write_role, scope=r.write_scope, module=r.module, apikey=r.apikey)
        @docs(tags=[r.tag], summary=f"Delete a {r.name}", responses=errors | error_responses(404))
        @response_schema(NoContent, 204)
        async def delete_handler(request: web.Request) -> web.Response:
            await delete(request, await r.get_object(request))
            return envelope.no_content(request)
