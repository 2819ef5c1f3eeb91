"""Bad input on every writing endpoint: the documented 4xx, in the envelope, and nothing
stored. One table row per endpoint; each row is tried with every kind of bad body.

Values a database can't store (a NUL character, an unpaired surrogate, an integer outside its
column) are 400s naming the field on both backends, in bodies, query strings and paths: on
PostgreSQL they used to reach the database and come back as 500s."""

from __future__ import annotations

import importlib
import io
import json
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from aiohttp import web
from marshmallow import Schema, fields, validate

import schemas
from models.accounts import Account, Site, SiteSector, User
from models.integration import Integration, SyncRun
from models.jobs import Job
from models.planner import Cluster, ContentIdea, Keyword
from models.publisher import Deployment, PublishingRecord
from models.system import AccountSetting, Prompt
from models.writer import Content, ContentVersion, Task
from schemas.common import Bool, Int, StrictSchema, Text
from tests.helpers import Api, Caller

LONG = "x" * 5000
NUL = "nul\x00byte"
SURROGATE = "lone \ud811 surrogate"
HUGE = 10**30  # beyond every integer column
JUST_OVER_INT32 = 2**31


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # `{site}`, `{user}`, `{keyword}`… are filled in from the fixture's objects
    body: dict[str, Any]
    # Whether dropping the body's first field makes it invalid (false for all-optional updates).
    first_is_required: bool = True


ROWS = [
    Row("POST", "/api/v1/auth/register/", {"email": "new@example.com", "password": "long enough 1"}),
    Row("POST", "/api/v1/auth/login/", {"email": "new@example.com", "password": "long enough 1"}),
    Row("POST", "/api/v1/auth/token/refresh/", {"refresh": "rt_x"}),
    Row("POST", "/api/v1/auth/password/change/", {"old_password": "a" * 10, "new_password": "b" * 10}),
    Row("POST", "/api/v1/auth/password/reset/", {"email": "new@example.com"}),
    Row("POST", "/api/v1/auth/password/reset/confirm/", {"token": "t", "new_password": "long enough 1"}),
    Row("POST", "/api/v1/auth/users/", {"email": "m@example.com", "password": "long enough 1", "role": "viewer"}),
    Row("PUT", "/api/v1/auth/users/{user}/", {"first_name": "A"}, first_is_required=False),
    Row("PUT", "/api/v1/auth/account/", {"name": "A"}),
    Row("POST", "/api/v1/auth/sites/", {"name": "S", "domain": "s.example.com"}),
    Row("PUT", "/api/v1/auth/sites/{site}/", {"name": "S"}, first_is_required=False),
    Row("POST", "/api/v1/auth/sectors/", {"site_id": "{site}", "name": "N"}),
    Row("POST", "/api/v1/planner/keywords/", {"site_id": "{site}", "keyword": "k", "volume": 1}),
    Row("PUT", "/api/v1/planner/keywords/{keyword}/", {"volume": 5}, first_is_required=False),
    Row("POST", "/api/v1/planner/keywords/bulk_delete/", {"ids": ["{keyword}"]}),
    Row("POST", "/api/v1/planner/keywords/bulk_status/", {"ids": ["{keyword}"], "status": "archived"}),
    Row("POST", "/api/v1/planner/keywords/add_to_workflow/", {"seed_keyword_ids": [1], "site_id": "{site}"}),
    Row("POST", "/api/v1/planner/clusters/", {"site_id": "{site}", "name": "C2"}),
    Row("PUT", "/api/v1/planner/clusters/{cluster}/", {"name": "C3"}, first_is_required=False),
    Row("POST", "/api/v1/planner/clusters/auto_cluster/", {"ids": ["{keyword}"], "site_id": "{site}"}),
    Row("POST", "/api/v1/planner/clusters/generate_ideas/", {"ids": ["{cluster}"]}),
    Row("POST", "/api/v1/planner/ideas/", {"site_id": "{site}", "title": "I"}),
    Row("PUT", "/api/v1/planner/ideas/{idea}/", {"title": "I2"}, first_is_required=False),
    Row("POST", "/api/v1/planner/ideas/create_tasks/", {"ids": ["{idea}"]}),
    Row("POST", "/api/v1/writer/tasks/", {"site_id": "{site}", "title": "T"}),
    Row("PUT", "/api/v1/writer/tasks/{task}/", {"title": "T2"}, first_is_required=False),
    Row("POST", "/api/v1/writer/tasks/bulk_create/", {"tasks": [{"site_id": "{site}", "title": "T"}]}),
    Row("POST", "/api/v1/writer/tasks/{task}/generate_content/", {"regenerate": True}, first_is_required=False),
    Row("POST", "/api/v1/writer/content/", {"site_id": "{site}", "title": "C"}),
    Row("PUT", "/api/v1/writer/content/{content}/", {"title": "C2"}, first_is_required=False),
    Row("POST", "/api/v1/writer/content/{content}/update_content/", {"title": "C3"}, first_is_required=False),
    Row("POST", "/api/v1/writer/images/generate_for_content/", {"content_ids": ["{content}"]}),
    Row("POST", "/api/v1/writer/images/regenerate/", {"image_id": 1, "prompt": "p"}),
    Row("POST", "/api/v1/optimizer/analyze/", {"content_id": "{content}"}),
    Row("POST", "/api/v1/optimizer/optimize/", {"content_id": "{content}"}),
    Row("POST", "/api/v1/optimizer/batch_optimize/", {"content_ids": ["{content}"]}),
    Row("POST", "/api/v1/linker/process/", {"content_id": "{content}"}),
    Row("POST", "/api/v1/linker/batch_process/", {"content_ids": ["{content}"]}),
    Row("POST", "/api/v1/writer/content/{content}/publish_to_wordpress/", {"status": "draft"}, first_is_required=False),
    Row("POST", "/api/v1/publisher/publish/", {"content_ids": ["{content}"], "status": "draft"}),
    Row("POST", "/api/v1/publisher/records/", {"content_id": "{content}", "status": "draft"}),
    Row(
        "POST",
        "/api/v1/integration/",
        {"site_id": "{site}", "base_url": "https://wp.example.com", "username": "u", "app_password": "p" * 24},
    ),
    Row("PUT", "/api/v1/integration/{integration}/", {"username": "v"}, first_is_required=False),
    Row("POST", "/api/v1/integration/site_sync/", {"site_id": "{site}"}),
    Row("PUT", "/api/v1/system/settings/integrations/openai/", {"model": "m"}, first_is_required=False),
    Row("PUT", "/api/v1/system/settings/integrations/image_generation/", {"model": "m"}, first_is_required=False),
    Row("POST", "/api/v1/system/settings/integrations/test/", {"integration": "openai"}),
    Row("PUT", "/api/v1/system/prompts/content/", {"text": "t"}),
    Row("PUT", "/api/v1/system/modules/", {"planner": True}, first_is_required=False),
]
STORED = (
    Account,
    User,
    Site,
    SiteSector,
    Keyword,
    Cluster,
    ContentIdea,
    Task,
    Content,
    ContentVersion,
    Job,
    AccountSetting,
    Prompt,
    PublishingRecord,
    Deployment,
    Integration,
    SyncRun,
)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every scalar in a JSON body, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _replaced(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(body) if isinstance(body, dict) else list(body)
    copy[path[0]] = _replaced(body[path[0]], path[1:], new)
    return copy


def _field_of(path: tuple[Any, ...]) -> str:
    """The name the error must carry: the innermost key of the path."""
    return next(str(step) for step in reversed(path) if isinstance(step, str))


def _mutations(row: Row, body: dict[str, Any]) -> list[tuple[str, dict[str, Any], str | None]]:
    """Wrong type, unknown field, over-long string, missing field and unstorable versions of a
    good body, each with the field its error must name (None: any)."""
    first = next(iter(body))
    cases: list[tuple[str, dict[str, Any], str | None]] = [
        ("wrong type", {**body, first: {"nested": ["object"]}}, first),
        ("unknown field", {**body, "is_superuser": True}, "is_superuser"),
        ("over-long string", {**body, first: LONG}, first),
    ]
    if row.first_is_required:
        cases.append(("missing field", {k: v for k, v in body.items() if k != first}, first))
    leaves = list(_leaves(body))
    text = next((path for path, value in leaves if isinstance(value, str)), None)
    if text is not None:
        cases.append(("NUL character", _replaced(body, text, NUL), _field_of(text)))
        cases.append(("unpaired surrogate", _replaced(body, text, SURROGATE), _field_of(text)))
    number = next((path for path, value in leaves if type(value) is int), None)
    if number is not None:
        cases.append(("huge integer", _replaced(body, number, HUGE), _field_of(number)))
        cases.append(("integer over int32", _replaced(body, number, JUST_OVER_INT32), _field_of(number)))
    return cases


async def _counts() -> list[int]:
    return [await model.all().count() for model in STORED]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str):
        for name, number in ids.items():
            value = value.replace("{" + name + "}", str(number))
        return value
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


@pytest.fixture
async def world(api: Api) -> tuple[Caller, dict[str, int]]:
    owner = await api.register()
    site = (await api.site(owner))["id"]
    member = await api.member(owner, "editor")

    async def make(path: str, body: dict[str, Any]) -> int:
        return (await api.call("POST", path, json=body, as_=owner, status=201))["data"]["id"]

    ids = {"site": site, "user": member.user["id"]}
    ids["keyword"] = await make("/api/v1/planner/keywords/", {"site_id": site, "keyword": "seed"})
    ids["cluster"] = await make("/api/v1/planner/clusters/", {"site_id": site, "name": "C"})
    ids["idea"] = await make("/api/v1/planner/ideas/", {"site_id": site, "title": "Idea"})
    ids["task"] = await make("/api/v1/writer/tasks/", {"site_id": site, "title": "Task"})
    ids["content"] = await make("/api/v1/writer/content/", {"site_id": site, "title": "Content"})
    connection = {"site_id": site, "base_url": "https://wp.example.com", "username": "u", "app_password": "p" * 24}
    ids["integration"] = await make("/api/v1/integration/", connection)
    return owner, ids


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.path}" for r in ROWS])
async def test_bad_bodies_are_400_and_change_nothing(api: Api, world: tuple[Caller, dict[str, int]], row: Row) -> None:
    owner, ids = world
    path = _fill(row.path, ids)
    body = _fill(row.body, ids)
    before = await _counts()
    for case, payload, field in _mutations(row, body):
        result = await api.call(row.method, path, json=payload, as_=owner, status=400)
        assert result["code"] == "validation_error", (case, result)
        assert result["errors"], case
        assert field is None or f'"{field}"' in json.dumps(result["errors"]), (case, field, result["errors"])
    parse = await api.call(
        row.method, path, data=b"{oops", as_=owner, headers={"Content-Type": "application/json"}, status=400
    )
    assert parse["code"] == "parse_error"
    oversized = io.BytesIO(b'{"padding": "' + b"x" * (11 * 1024 * 1024) + b'"}')
    too_big = await api.call(
        row.method, path, data=oversized, as_=owner, headers={"Content-Type": "application/json"}, status=413
    )
    assert too_big["code"] == "payload_too_large"
    assert await _counts() == before


PRIVATE_READS = [
    "/api/v1/auth/users/",
    "/api/v1/auth/groups/",
    "/api/v1/auth/account/",
    "/api/v1/auth/sites/",
    "/api/v1/auth/sectors/",
    "/api/v1/auth/industries/",
    "/api/v1/auth/seed-keywords/",
    "/api/v1/planner/keywords/",
    "/api/v1/planner/clusters/",
    "/api/v1/planner/ideas/",
    "/api/v1/writer/tasks/",
    "/api/v1/writer/content/",
    "/api/v1/writer/images/",
    "/api/v1/writer/taxonomies/",
    "/api/v1/billing/balance/",
    "/api/v1/billing/usage/",
    "/api/v1/billing/transactions/",
    "/api/v1/jobs/",
    "/api/v1/publisher/records/",
    "/api/v1/publisher/deployments/",
    "/api/v1/system/prompts/",
    "/api/v1/system/modules/",
]
NOT_PAGINATED = {"/api/v1/auth/account/", "/api/v1/billing/balance/", "/api/v1/system/modules/"}


@pytest.mark.parametrize("path", PRIVATE_READS)
async def test_garbage_and_foreign_tokens_are_401_and_negative_pages_400(
    api: Api, world: tuple[Caller, dict[str, int]], path: str
) -> None:
    owner, _ = world
    forged = jwt.encode(
        {"sub": "1", "acc": 1, "typ": "access", "jti": "j", "iat": 0, "exp": 4102444800},
        "some-other-servers-key-that-is-long-enough-000000000000000000",
        algorithm="HS256",
    )
    for token in ("garbage", forged, ""):
        result = await api.call("GET", path, headers={"Authorization": f"Bearer {token}"}, status=401)
        assert result["code"] in {"invalid_token", "not_authenticated"}
    if path not in NOT_PAGINATED:
        result = await api.call("GET", path, as_=owner, params={"page": -1}, status=400)
        assert result["errors"] == {"page": ["Must be greater than or equal to 1 and less than or equal to 1000000."]}


def _query_schema(route: web.AbstractRoute) -> Schema | None:
    for validation in getattr(route.handler, "__schemas__", ()):
        if validation.location == "querystring":
            return validation.schema  # type: ignore[no-any-return]
    return None


def _unstorable_values(field: fields.Field) -> list[Any]:
    # (A surrogate can't travel in a URL: it is invalid UTF-8, which aiohttp decodes as U+FFFD.)
    if isinstance(field, fields.String):
        return [NUL]
    if isinstance(field, fields.Integer):
        # One past the field's own maximum (a bigint column's is 2**63 - 1) and far beyond any.
        return [HUGE, *(v.max + 1 for v in field.validators if isinstance(v, validate.Range) and v.max is not None)]
    return []


async def test_every_query_field_of_every_list_rejects_values_no_column_can_hold(
    api: Api, world: tuple[Caller, dict[str, int]]
) -> None:
    """Each text and integer query parameter of each GET, from the app's own routes, so a new
    list or filter is covered without editing this test."""
    owner, _ = world
    tried = 0
    for route in api.client.app.router.routes():
        schema = _query_schema(route)
        if route.method != "GET" or schema is None or "{" in route.resource.canonical:  # type: ignore[union-attr]
            continue
        for name, field in schema.fields.items():
            for value in _unstorable_values(field):
                path = route.resource.canonical  # type: ignore[union-attr]
                result = await api.call("GET", path, as_=owner, params={name: str(value)}, status=400)
                assert result["code"] == "validation_error"
                assert name in result["errors"], (path, name, value, result["errors"])
                tried += 1
    assert tried > 100  # every list: page, page_size, search, ordering, ids, volumes…


async def test_path_ids_no_column_can_hold_are_400_naming_id(api: Api, world: tuple[Caller, dict[str, int]]) -> None:
    """Every route with an `{id}`, from the app's own routes."""
    owner, _ = world
    tried = 0
    for route in api.client.app.router.routes():
        canonical = route.resource.canonical  # type: ignore[union-attr]
        if "{id}" not in canonical or route.method == "HEAD":
            continue
        for value in (HUGE, JUST_OVER_INT32):
            path = canonical.replace("{id}", str(value))
            body = {} if route.method in {"POST", "PUT"} else None
            result = await api.call(route.method, path, as_=owner, json=body, status=400)
            assert result["code"] == "validation_error"
            assert list(result["errors"]) == ["id"], (route.method, path, result["errors"])
            tried += 1
    assert tried >= 2 * 20


@pytest.mark.parametrize("text", [NUL, SURROGATE])
async def test_unstorable_text_in_a_path_is_a_4xx(api: Api, world: tuple[Caller, dict[str, int]], text: str) -> None:
    owner, _ = world
    quoted = "%00" if text == NUL else "%ED%A0%91"  # the surrogate as (invalid) UTF-8
    result = await api.call("GET", f"/api/v1/system/prompts/{quoted}/", as_=owner, status=404)
    assert result["code"] == "not_found"


def _input_fields(schema: Schema, seen: set[type[Schema]]) -> Iterator[tuple[str, fields.Field]]:
    if type(schema) in seen:
        return
    seen.add(type(schema))
    for name, field in schema.fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from _input_fields(inner.schema, seen)
        else:
            yield f"{type(schema).__name__}.{name}", inner


def _subclasses(cls: type[Schema]) -> Iterator[type[Schema]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_request_schema_field_is_storable_text_a_bounded_int_or_a_strict_bool() -> None:
    """Requests are read only through `StrictSchema`s; each string field is `Text`, each
    integer an `Int` and each boolean a `Bool`, so nothing a column can't hold gets past the
    schemas, and `1` is not taken for `true`."""
    for module in pkgutil.iter_modules(schemas.__path__):
        importlib.import_module(f"schemas.{module.name}")

    loose = []
    for cls in _subclasses(StrictSchema):
        for name, field in _input_fields(cls(), set()):
            if isinstance(field, fields.String) and not isinstance(field, Text):
                loose.append(name)
            if isinstance(field, fields.Integer) and not isinstance(field, Int):
                loose.append(name)
            if isinstance(field, fields.Boolean) and not isinstance(field, Bool):
                loose.append(name)
    assert not loose


async def test_the_openapi_document_carries_the_bounds(aiohttp_client: Any, make_settings: Any) -> None:
    """Clients and fuzzers see the same bounds the schemas enforce."""
    from server.app import create_app

    client = await aiohttp_client(create_app(make_settings()))
    spec = await (await client.get("/api/docs/openapi.json")).json()
    ids = [
        parameter["schema"]
        for path, item in spec["paths"].items()
        if "{id}" in path
        for operation in item.values()
        for parameter in operation["parameters"]
        if parameter["name"] == "id"
    ]
    assert len(ids) >= 20 and all(s == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1} for s in ids)
    query = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/planner/keywords/"]["get"]["parameters"]}
    assert (query["volume_min"]["minimum"], query["volume_min"]["maximum"]) == (0, 2**31 - 1)
    assert query["page"]["maximum"] == 1_000_000
