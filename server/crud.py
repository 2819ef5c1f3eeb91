"""List, detail, create, update and delete written once; each resource is declared in a few
lines (`Resource`) and `add_crud` adds its routes with their docs, schemas and access rules.

Lists: tenancy filter → declared filters → search → ordering → one page (CONTRACT §1).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from aiohttp_apigami import docs, match_info_schema, querystring_schema, request_schema, response_schema
from marshmallow import Schema, fields
from tortoise import fields as tortoise_fields
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.base import scope_of, scoped
from models.db import dialect_of, raw_records
from schemas.common import INT64_MAX, Bool, Int, ListQuery, NoContent, PathId, Text, error_responses, page_envelope
from schemas.common import envelope as envelope_schema
from server import envelope
from server.access import RateScope, endpoint, principal
from server.keys import EVENTS, SETTINGS
from services.errors import ValidationFailed
from services.principal import Principal
from services.tenancy import not_found, row_or_404

PAGING_KEYS = frozenset({"page", "page_size", "ordering", "search"})
DEFAULT_ORDER = ("-created_at", "-id")

Serializer = Callable[[Any], dict[str, Any]]
CreateHook = Callable[[web.Request, dict[str, Any]], Awaitable[Model]]
UpdateHook = Callable[[web.Request, Any, dict[str, Any]], Awaitable[Model]]
DeleteHook = Callable[[web.Request, Any], Awaitable[None]]

# Every route with an `{id}` carries this: the id is validated (and documented) by `PathId`,
# so an id no column can hold is a 400 naming `id`, never a database error.
with_path_id = match_info_schema(PathId, put_into="path")


def path_id(request: web.Request) -> int:
    """The validated `{id}` of a route decorated `@with_path_id`."""
    return int(request["path"]["id"])


# Adapters from service functions to resource hooks (which receive the request first).


def with_caller(service: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A hook calling `service(caller, *args)`."""

    async def hook(request: web.Request, *args: Any) -> Any:
        return await service(principal(request), *args)

    return hook


def with_settings(service: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A hook calling `service(settings, caller, *args)` (for plan limits)."""

    async def hook(request: web.Request, *args: Any) -> Any:
        return await service(request.app[SETTINGS], principal(request), *args)

    return hook


def with_files(service: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A hook calling `service(settings, *args)` (for rows with files on disk: the media folder)."""

    async def hook(request: web.Request, *args: Any) -> Any:
        return await service(request.app[SETTINGS], *args)

    return hook


def with_events(service: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A hook calling `service(events, caller, *args)` (for changes other processes must hear of)."""

    async def hook(request: web.Request, *args: Any) -> Any:
        return await service(request.app[EVENTS], principal(request), *args)

    return hook


def without_request(service: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A hook calling `service(*args)`."""

    async def hook(request: web.Request, *args: Any) -> Any:
        return await service(*args)

    return hook


async def delete_row(request: web.Request, obj: Model) -> None:
    await obj.delete()


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
    columns: Sequence[str] | None = None,
) -> web.Response:
    page, size = query["page"], query["page_size"]
    ordering = query.get("ordering")
    qs = qs.order_by(ordering, "-id") if ordering else qs.order_by(*default_order)
    count = await qs.count()
    rows: list[Any] = []
    if (page - 1) * size < count:
        window = qs.offset((page - 1) * size).limit(size)
        rows = await window.values(*columns) if columns else await window
    return _page(request, rows if columns else [serialize(row) for row in rows], count, page, size)


def paginated_list(request: web.Request, items: Sequence[Any], query: dict[str, Any]) -> web.Response:
    """One page of a list already in memory (e.g. the prompt types), in the same envelope as `paginated`."""
    page, size = query["page"], query["page_size"]
    start = (page - 1) * size
    return _page(request, list(items[start : start + size]), len(items), page, size)


def _page(request: web.Request, results: list[Any], count: int, page: int, size: int) -> web.Response:
    """The page envelope with its links; `previous` from past the end points at the last page."""
    url = request.url
    next_url = str(url.update_query(page=page + 1, page_size=size)) if page * size < count else None
    previous_url = (
        str(url.update_query(page=min(page - 1, max(1, -(-count // size))), page_size=size)) if page > 1 else None
    )
    return envelope.page(request, results, count=count, next_url=next_url, previous_url=previous_url)


def _nested_schema(field: fields.Field) -> tuple[Schema, bool] | None:
    """(the schema, many) of a Nested field or a List of Nested; None for plain fields."""
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        return field.inner.schema, True
    if isinstance(field, fields.Nested):
        return field.schema, bool(field.many)
    return None


@functools.cache
def _plan(schema_class: type[Schema]) -> tuple[tuple[str, ...], tuple[tuple[str, Serializer, bool], ...]]:
    schema = schema_class()
    plain, nested = [], []
    for name, declared in schema.fields.items():
        inner = _nested_schema(declared)
        if inner is None:
            plain.append(name)
        else:
            nested.append((name, row_serializer(inner[0]), inner[1]))
    return tuple(plain), tuple(nested)


def row_serializer(schema: Schema) -> Serializer:
    """The output of `schema` as a plain function over model objects or `.values()` dicts.

    Marshmallow describes the responses for the docs; dumping 100 rows through it costs more
    than the query, so responses are built by reading the declared fields directly (datetimes
    and JSON values are rendered by the envelope).
    """
    plain, nested = _plan(type(schema))

    def serialize(obj: Any) -> dict[str, Any]:
        if isinstance(obj, dict):
            row = {name: obj.get(name) for name in plain}
        else:
            row = {name: getattr(obj, name, None) for name in plain}
        for name, inner, many in nested:
            value = obj[name] if isinstance(obj, dict) else getattr(obj, name, None)
            if value is None:
                row[name] = None
            else:
                row[name] = [inner(item) for item in value] if many else inner(value)
        return row

    return serialize


def value_columns(schema: Schema, model: type[Model]) -> tuple[str, ...] | None:
    """The columns to fetch with `.values()` when every output field is one; else None."""
    meta = model._meta
    names = []
    for name, declared in schema.fields.items():
        if _nested_schema(declared) is not None or (declared.attribute or name) != name:
            return None
        column = name in meta.fields_map and name not in meta.fk_fields | meta.backward_fk_fields
        foreign = name.endswith("_id") and name[:-3] in meta.fk_fields
        if not (column or foreign):
            return None
        names.append(name)
    return tuple(names)


# --- the PostgreSQL fast path of hot lists and detail reads ----------------------------------------
#
# The same declarations as the ORM path (tenancy, the query schema's `filter` lookups, ordering,
# default order, output columns), compiled once per resource into SQL that asyncpg runs and
# whose records go to orjson as they are: building two Tortoise querysets and converting every
# value cost about a third of a list request's time. Count and page go in one round trip. A
# request the plan can't express exactly (search, a lookup or value type it doesn't know) takes
# the ORM path, as does every request on SQLite.

SQL_OPERATORS = {"": "=", "gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}
# Values asyncpg binds exactly as Tortoise does; others (datetimes, lists) take the ORM path.
FAST_VALUE_TYPES = (int, str, bool)
UNSUPPORTED = ("", "")
# Output columns whose asyncpg value is what Tortoise's `to_python_value` gives (JSON, decimals,
# enums and the like are converted by Tortoise: a resource showing one keeps the ORM path).
PLAIN_FIELDS = frozenset(
    {
        tortoise_fields.IntField,
        tortoise_fields.BigIntField,
        tortoise_fields.SmallIntField,
        tortoise_fields.CharField,
        tortoise_fields.TextField,
        tortoise_fields.BooleanField,
        tortoise_fields.DatetimeField,
        tortoise_fields.FloatField,
    }
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class FastPath:
    """A resource's list and detail as SQL (PostgreSQL); see `fast_path`."""

    table: str
    select: str  # the output columns, `"column" AS "field"`
    page_select: str  # the same columns of the page subquery `p`, plus its row marker
    fields: tuple[str, ...]
    filters: dict[str, tuple[str, str]]  # query field -> (column, operator) or UNSUPPORTED
    columns: dict[str, str]  # orderable field -> column
    default_order: str
    site_owned: bool

    def where(self, caller: Principal, query: dict[str, Any] | None) -> tuple[list[str], list[Any]] | None:
        """The WHERE conditions and their values, or None when the ORM path must answer."""
        conditions: list[str] = []
        values: list[Any] = []
        for column, value in scope_of(caller, site_owned=self.site_owned).items():
            values.append(value)
            conditions.append(f"{_quote(column)} = ${len(values)}")
        for name, value in (query or {}).items():
            if name in PAGING_KEYS:
                if name == "search" and value:
                    return None
                continue
            if value is None or name not in self.filters:
                continue
            column, operator = self.filters[name]
            if not operator or type(value) not in FAST_VALUE_TYPES:
                return None
            values.append(value)
            conditions.append(f"{_quote(column)} {operator} ${len(values)}")
        return conditions, values

    def order(self, ordering: str | None) -> str | None:
        if not ordering:
            return self.default_order
        column = self.columns.get(ordering.lstrip("-"))
        if column is None:
            return None
        return f'{_quote(column)} {"DESC" if ordering.startswith("-") else "ASC"}, "id" DESC'

    async def page(self, request: web.Request, caller: Principal, query: dict[str, Any]) -> web.Response | None:
        where = self.where(caller, query)
        order = self.order(query.get("ordering"))
        if where is None or order is None:
            return None
        conditions, values = where
        page, size = query["page"], query["page_size"]
        clause = " AND ".join(conditions)
        n = len(values)
        # One row at least (the count), with the page's rows joined to it; `__row` tells a
        # page row from the lone count row of an empty page.
        sql = (
            f"SELECT c.__count, {self.page_select} FROM (SELECT count(*) AS __count FROM {self.table} "
            f"WHERE {clause}) c LEFT JOIN LATERAL (SELECT {self.select}, 1 AS __row FROM {self.table} "
            f"WHERE {clause} ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}) p ON true"
        )
        records = await raw_records(sql, [*values, size, (page - 1) * size])
        count = records[0]["__count"]
        fields = self.fields
        rows = [{name: record[name] for name in fields} for record in records if record["__row"] is not None]
        return _page(request, rows, count, page, size)

    async def get(self, caller: Principal, row_id: int) -> dict[str, Any] | None:
        """The caller's row `row_id` as the output dict, None when they have no such row."""
        where = self.where(caller, None)
        assert where is not None
        conditions, values = where
        values.append(row_id)
        conditions.append(f'"id" = ${len(values)}')
        records = await raw_records(f"SELECT {self.select} FROM {self.table} WHERE {' AND '.join(conditions)}", values)
        return dict(records[0]) if records else None


def fast_path(r: Resource) -> FastPath | None:
    """The resource's fast path when its declarations allow one: plain output columns, the
    default tenancy (no `base_query`) and the model's own table."""
    if r.columns is None or r.base_query is not None or not r.tenant:
        return None
    meta = r.model._meta
    projection: dict[str, str] = dict(meta.fields_db_projection)
    if "id" not in projection or any(type(meta.fields_map.get(name)) not in PLAIN_FIELDS for name in r.columns):
        return None
    filters: dict[str, tuple[str, str]] = {}
    for name, declared in r.query_schema().fields.items():
        if name in PAGING_KEYS:
            continue
        lookup = declared.metadata.get("filter", name)
        if lookup is None:
            continue
        field_name, _, op = lookup.partition("__")
        known = field_name in projection and op in SQL_OPERATORS
        filters[name] = (projection[field_name], SQL_OPERATORS[op]) if known else UNSUPPORTED
    default = []
    for item in r.default_order:
        column = projection.get(item.lstrip("-"))
        if column is None:
            return None
        default.append(f"{_quote(column)} {'DESC' if item.startswith('-') else 'ASC'}")
    select = ", ".join(
        _quote(projection[name]) if projection[name] == name else f"{_quote(projection[name])} AS {_quote(name)}"
        for name in r.columns
    )
    return FastPath(
        table=_quote(meta.db_table),
        select=select,
        page_select=", ".join(f"p.{_quote(name)}" for name in r.columns) + ", p.__row",
        fields=r.columns,
        filters=filters,
        columns=projection,
        default_order=", ".join(default),
        site_owned=r.site_owned,
    )


# --- PUT takes back what GET gave --------------------------------------------------------------

READ_ONLY = "read_only: this field can't be changed; send the value GET returned, or leave it out."


def put_schema(name: str, out_schema: Schema, update_schema: type[Schema]) -> type[Schema]:
    """`update_schema` plus every field GET shows that PUT can't change, marked `readOnly`.

    So a client can GET an object, edit a field and PUT it all back: a read-only field is
    loaded as GET shows it (a timestamp in any ISO form, `null` allowed so that it can be
    compared) and checked by `without_read_only`; unknown fields are still refused.
    """
    editable = update_schema._declared_fields
    read_only: dict[str, fields.Field] = {}
    for key in out_schema.fields:
        if key in editable:
            continue
        loaded = _loader(out_schema.declared_fields[key])
        loaded.allow_none = True
        loaded.metadata = {
            **loaded.metadata,
            "readOnly": True,
            "description": "Read-only: ignored when it is the value GET returned, a 400 `read_only` otherwise.",
        }
        read_only[key] = loaded
    return type(name, (update_schema,), read_only)


def _loader(shown: fields.Field) -> fields.Field:
    """A field that loads what `shown` dumps, as every request field does: strings as storable
    `Text`, integers bounded (here by `bigint`, the widest column), booleans strict."""
    if isinstance(shown, fields.List):
        return fields.List(_loader(shown.inner))
    if isinstance(shown, fields.Integer):
        return Int(minimum=-INT64_MAX - 1, maximum=INT64_MAX)
    if isinstance(shown, fields.String):
        return Text()
    if isinstance(shown, fields.Boolean):
        return Bool()
    return copy.copy(shown)


def _same(sent: Any, current: Any) -> bool:
    """Equal as values (a datetime in another zone), or as the JSON GET rendered (a Decimal)."""
    return bool(sent == current) or orjson.loads(envelope.dumps(sent)) == orjson.loads(envelope.dumps(current))


def without_read_only(current: dict[str, Any], data: dict[str, Any], read_only: Sequence[str]) -> dict[str, Any]:
    """`data` without its read-only fields, each of which must equal the object's `current` value."""
    changed = [name for name in read_only if name in data and not _same(data[name], current.get(name))]
    if changed:
        raise ValidationFailed(
            f"Read-only fields can't be changed: {', '.join(changed)}.", errors={name: [READ_ONLY] for name in changed}
        )
    return {name: value for name, value in data.items() if name not in read_only}


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
    # Statuses an update or a delete can answer beyond the usual ones (a rule against other rows: 409).
    update_errors: tuple[int, ...] = ()
    delete_errors: tuple[int, ...] = ()
    serializer: Serializer | None = None
    base_query: Callable[[Principal], QuerySet[Any]] | None = None
    default_order: Sequence[str] = DEFAULT_ORDER
    # Lists fetch these columns with `.values()` (no model objects) when the output allows it.
    columns: tuple[str, ...] | None = field(init=False)

    def __post_init__(self) -> None:
        if self.serializer is None:
            self.serializer = row_serializer(self.out_schema)
            self.columns = value_columns(self.out_schema, self.model)
        else:
            self.columns = None

    def serialize(self, obj: Any) -> dict[str, Any]:
        assert self.serializer is not None
        return self.serializer(obj)

    def queryset(self, caller: Principal) -> QuerySet[Any]:
        if self.base_query is not None:
            return self.base_query(caller)
        if not self.tenant:
            return self.model.all()
        return scoped(self.model, caller, site_owned=self.site_owned)

    async def get_object(self, request: web.Request) -> Any:
        return await row_or_404(self.queryset(principal(request)), path_id(request), self.name)


def add_crud(routes: web.RouteTableDef, r: Resource) -> None:
    """Add the resource's routes (with OpenAPI docs) to `routes`."""
    detail = r.path + "{id:\\d+}/"
    item_doc = envelope_schema(r.out_schema, f"{r.name.title().replace(' ', '')}Envelope")
    errors = error_responses(400, 401, 403)

    # Compiled at the first request: the model's columns are known once Tortoise is initialised.
    compiled = functools.cache(lambda: fast_path(r))

    def fast(request: web.Request) -> FastPath | None:
        # From the app's settings, not the ORM's connection: looking that up costs a context
        # lookup per request (7 % of a detail request's samples).
        return compiled() if dialect_of(request.app[SETTINGS].database_url) == "postgres" else None

    if "list" in r.actions:
        query_schema = r.query_schema()

        @routes.get(r.path)
        @endpoint(role=r.read_role, module=r.module, apikey=r.apikey)
        @docs(tags=[r.tag], summary=f"List {r.name}s", responses=errors)
        @querystring_schema(r.query_schema)
        @response_schema(page_envelope(r.out_schema, f"{r.name.title().replace(' ', '')}Page"), 200)
        async def list_handler(request: web.Request) -> web.Response:
            query = request["querystring"]
            if (plan := fast(request)) is not None:
                response = await plan.page(request, principal(request), query)
                if response is not None:
                    return response
            qs = apply_filters(r.queryset(principal(request)), query, query_schema)
            qs = apply_search(qs, query.get("search"), r.search_fields)
            return await paginated(request, qs, query, r.serialize, r.default_order, r.columns)

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
        @with_path_id
        async def retrieve_handler(request: web.Request) -> web.Response:
            if (plan := fast(request)) is not None:
                row = await plan.get(principal(request), path_id(request))
                if row is None:
                    raise not_found(r.name)
                return envelope.ok(request, row)
            return envelope.ok(request, r.serialize(await r.get_object(request)))

    if "update" in r.actions and r.update is not None and r.update_schema is not None:
        update = r.update
        body = put_schema(f"{r.name.title().replace(' ', '')}PutIn", r.out_schema, r.update_schema)
        read_only = tuple(name for name in body._declared_fields if name not in r.update_schema._declared_fields)

        @routes.put(detail)
        @endpoint(role=r.write_role, scope=r.write_scope, module=r.module, apikey=r.apikey)
        @docs(
            tags=[r.tag],
            summary=f"Update a {r.name}",
            description=(
                "Accepts the representation GET returned: read-only fields are ignored when unchanged "
                "and a 400 `read_only` (naming the field) when changed; unknown fields are a 400."
            ),
            responses=errors | error_responses(404, *r.update_errors),
        )
        @request_schema(body)
        @response_schema(item_doc, 200)
        @with_path_id
        async def update_handler(request: web.Request) -> web.Response:
            obj = await r.get_object(request)
            data = without_read_only(r.serialize(obj), request["data"], read_only)
            return envelope.ok(request, r.serialize(await update(request, obj, data)))

    if "delete" in r.actions and r.delete is not None:
        delete = r.delete

        @routes.delete(detail)
        @endpoint(role=r.write_role, scope=r.write_scope, module=r.module, apikey=r.apikey)
        @docs(tags=[r.tag], summary=f"Delete a {r.name}", responses=errors | error_responses(404, *r.delete_errors))
        @response_schema(NoContent, 204)
        @with_path_id
        async def delete_handler(request: web.Request) -> web.Response:
            await delete(request, await r.get_object(request))
            return envelope.no_content(request)
