"""Test helpers: one `Api` wrapper that asserts the status, the envelope and the documented
response schema on every call, and builders that take `**overrides`."""

from __future__ import annotations

import io
import itertools
import json as jsonlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp_apigami.constants import API_SPEC_ATTR
from marshmallow import Schema, ValidationError, fields
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from schemas.common import ErrorSchema

_counter = itertools.count(1)


@dataclass
class Caller:
    """A registered user: tokens and ids, ready to sign requests."""

    access: str
    refresh: str
    user: dict[str, Any]
    account: dict[str, Any]
    password: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


# --- Every body against the schema its handler documents for the status ----------------------------
#
# The schemas are the ones aiohttp-apigami keeps on the handler (`@response_schema` and
# `@docs(responses=…)` both write `__apispec__["responses"]`), so what the OpenAPI document
# promises is what every test checks. Checked strictly: a field the schema does not declare, a
# declared field that is missing (unless marked `optional` in its metadata), a null where the
# field does not allow none, a wrong JSON type or a value its validators refuse all fail.

OPTIONAL = "optional"  # field metadata: the response may leave this field out
_documented: dict[Any, dict[int, Schema | None]] = {}
_declared: dict[Schema, dict[str, fields.Field]] = {}
ERROR_SCHEMA = ErrorSchema()


def documented_responses(handler: Any) -> dict[int, Schema | None]:
    """{status: schema (None if only described)} documented on `handler`, cached per handler."""
    if handler not in _documented:
        spec = getattr(handler, API_SPEC_ATTR, {"responses": {}})
        responses: dict[int, Schema | None] = {}
        for code, entry in spec["responses"].items():
            schema = entry.get("schema")
            responses[int(code)] = schema() if isinstance(schema, type) else schema
        _documented[handler] = responses
    return _documented[handler]


class _RouteProbe:
    """What a router reads to resolve a request (method and URL), without building a request:
    `make_mocked_request` costs ~7 ms, a probe a few µs."""

    def __init__(self, method: str, rel_url: URL) -> None:
        self.method = method
        self.rel_url = rel_url
        self.path = rel_url.path

    def clone(self, *, rel_url: URL) -> _RouteProbe:
        return _RouteProbe(self.method, rel_url)


async def route_handler(app: web.Application, method: str, path: str) -> Any:
    """The handler the app's router picks for `method path`; None when none matches (404/405)."""
    probe = cast(web.Request, _RouteProbe(method, URL(path)))
    match = await app.router.resolve(probe)
    return None if match.http_exception is not None else match.handler


def check_response(responses: dict[int, Schema | None], status: int, body: Any, where: str = "") -> None:
    """Assert that `body` is what `responses` documents for `status` (errors: the error envelope)."""
    if status < 400:
        assert status in responses, f"{where}: {status} is not a documented status (documented: {sorted(responses)})"
        schema = responses[status]
        assert schema is not None, f"{where}: no schema is documented for {status}"
    else:
        schema = responses.get(status) or ERROR_SCHEMA
    problems = list(_schema_mismatches(schema, body, "body"))
    assert not problems, f"{where} {status}: the body does not match {type(schema).__name__}: " + "; ".join(
        problems[:20]
    )


def _fields_of(schema: Schema) -> dict[str, fields.Field]:
    if schema not in _declared:
        _declared[schema] = {declared.data_key or name: declared for name, declared in schema.dump_fields.items()}
    return _declared[schema]


def _schema_mismatches(schema: Schema, value: Any, at: str) -> Iterator[str]:
    if not isinstance(value, dict):
        yield f"{at}: expected an object, got {type(value).__name__}"
        return
    declared = _fields_of(schema)
    for key in value.keys() - declared.keys():
        yield f"{at}.{key}: not documented"
    for key, declared_field in declared.items():
        if key in value:
            yield from _field_mismatches(declared_field, value[key], f"{at}.{key}")
        elif not declared_field.metadata.get(OPTIONAL):
            yield f"{at}.{key}: missing"


# JSON types of the leaf fields, most specific class first (bool is an int in Python).
_LEAF_TYPES: tuple[tuple[type[fields.Field], tuple[type, ...], tuple[type, ...]], ...] = (
    (fields.Boolean, (bool,), ()),
    (fields.Integer, (int,), (bool,)),
    (fields.Number, (int, float), (bool,)),
    (fields.String, (str,), ()),
    (fields.DateTime, (str,), ()),
)


def _field_mismatches(declared: fields.Field, value: Any, at: str) -> Iterator[str]:
    if value is None:
        if not declared.allow_none:
            yield f"{at}: null is not allowed"
        return
    if isinstance(declared, fields.Nested):
        if declared.many:
            if not isinstance(value, list):
                yield f"{at}: expected a list, got {type(value).__name__}"
                return
            for i, item in enumerate(value):
                yield from _schema_mismatches(declared.schema, item, f"{at}[{i}]")
        else:
            yield from _schema_mismatches(declared.schema, value, at)
        return
    if isinstance(declared, fields.List):
        if not isinstance(value, list):
            yield f"{at}: expected a list, got {type(value).__name__}"
            return
        for i, item in enumerate(value):
            yield from _field_mismatches(declared.inner, item, f"{at}[{i}]")
    elif isinstance(declared, fields.Dict):
        if not isinstance(value, dict):
            yield f"{at}: expected an object, got {type(value).__name__}"
            return
        for key, item in value.items():
            if declared.key_field is not None:
                yield from _field_mismatches(declared.key_field, key, f"{at} key {key!r}")
            if declared.value_field is not None:
                yield from _field_mismatches(declared.value_field, item, f"{at}.{key}")
    elif type(declared) in (fields.Raw, fields.Field):
        return
    else:
        for kind, allowed, refused in _LEAF_TYPES:
            if isinstance(declared, kind):
                if not isinstance(value, allowed) or isinstance(value, refused):
                    yield f"{at}: expected {kind.__name__}, got {type(value).__name__} {value!r:.60}"
                    return
                break
        else:
            raise AssertionError(f"{at}: the response check does not know {type(declared).__name__} fields")
        if isinstance(declared, fields.DateTime) and isinstance(value, str):
            try:
                datetime.fromisoformat(value)
            except ValueError:
                yield f"{at}: not an ISO 8601 datetime: {value!r:.60}"
                return
    for validator in declared.validators:
        try:
            validator(value)
        except ValidationError as exc:
            yield f"{at}: {exc.messages} ({value!r:.60})"


class Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        # The headers of the last answer, for tests about headers (e.g. `Idempotent-Replayed`).
        self.last_headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())

    async def call(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        data: Any = None,
        as_: Caller | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send a request, assert its status and envelope, return the parsed body."""
        all_headers = dict(as_.headers if as_ else {})
        all_headers.update(headers or {})
        kwargs: dict[str, Any] = {"headers": all_headers, "params": params}
        if json is not None:
            # A stream, so bodies over 1 MB (the oversized-input tests) don't trip aiohttp's warning.
            kwargs["data"] = io.BytesIO(jsonlib.dumps(json).encode())
            all_headers.setdefault("Content-Type", "application/json")
        if data is not None:
            kwargs["data"] = data
        response = await self.client.request(method, path, **kwargs)
        text = await response.text()
        self.last_headers = response.headers
        assert response.status == status, f"{method} {path}: {response.status} {text[:800]}"
        assert response.headers.get("X-Request-ID"), "every response carries X-Request-ID"
        responses = documented_responses(await route_handler(self.client.app, method, path))
        if status == 204:
            assert text == ""
            assert 204 in responses, f"{method} {path}: 204 is not a documented status"
            return {}
        body = await response.json()
        assert body["request_id"] == response.headers["X-Request-ID"]
        assert body["success"] is (status < 400), body
        if status >= 400:
            assert isinstance(body["code"], str) and body["error"], body
        check_response(responses, status, body, f"{method} {path}")
        return body

    async def ids(self, path: str, as_: Caller, **params: Any) -> set[int]:
        """The ids a list shows `as_` with `params` (one page of up to 500 rows)."""
        body = await self.call("GET", path, as_=as_, params={**params, "page_size": 500})
        assert body["count"] == len(body["results"]), "more rows than one page"
        return {row["id"] for row in body["results"]}

    async def assert_filters(self, path: str, as_: Caller, cases: list[tuple[dict[str, Any], set[int]]]) -> None:
        """Each filter shows exactly its rows and hides some the caller could otherwise see, so a
        filter that is switched off (or applied to the wrong field) fails."""
        everything = await self.ids(path, as_)
        for params, expected in cases:
            assert await self.ids(path, as_, **params) == expected, f"{path} {params}"
            assert expected < everything, f"{path} {params} hides nothing: it cannot catch an ignored filter"

    async def register(self, **overrides: Any) -> Caller:
        n = next(_counter)
        payload = {"email": f"user{n}@example.com", "password": "correct horse 1", **overrides}
        body = await self.call("POST", "/api/v1/auth/register/", json=payload, status=201)
        data = body["data"]
        return Caller(data["access"], data["refresh"], data["user"], data["account"], payload["password"])

    async def login(self, email: str, password: str, **extra: Any) -> dict[str, Any]:
        body = await self.call("POST", "/api/v1/auth/login/", json={"email": email, "password": password, **extra})
        return body["data"]

    async def member(self, owner: Caller, role: str, **overrides: Any) -> Caller:
        """Create a user with `role` in the owner's account and log them in."""
        n = next(_counter)
        payload = {"email": f"member{n}@example.com", "password": "member pass 1", "role": role, **overrides}
        body = await self.call("POST", "/api/v1/auth/users/", json=payload, as_=owner, status=201)
        tokens = await self.login(payload["email"], payload["password"])
        return Caller(tokens["access"], tokens["refresh"], body["data"], owner.account, payload["password"])

    async def site(self, owner: Caller, **overrides: Any) -> dict[str, Any]:
        n = next(_counter)
        payload = {"name": f"Site {n}", "domain": f"site{n}.example.com", **overrides}
        body = await self.call("POST", "/api/v1/auth/sites/", json=payload, as_=owner, status=201)
        return body["data"]
