"""The OpenAPI document is exact and valid: what clients generate from it and fuzzers test
against is what the server does (issue 8, point 6)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator.validation.validators import OpenAPIV30SpecValidator

from server.access import RULES_ATTR, EndpointRules
from server.app import create_app
from tests.helpers import Api

PUBLIC = {
    ("get", "/"),
    ("post", "/api/v1/auth/register/"),
    ("post", "/api/v1/auth/login/"),
    ("post", "/api/v1/auth/token/refresh/"),
    ("post", "/api/v1/auth/password/reset/"),
    ("post", "/api/v1/auth/password/reset/confirm/"),
    ("get", "/api/v1/system/health/"),
    ("get", "/api/v1/ws/"),
    ("get", "/api/v1/publisher/site-definition/"),
}


@pytest.fixture
async def docs_client(aiohttp_client: Any, make_settings: Any) -> TestClient:
    return await aiohttp_client(create_app(make_settings()))


async def _spec(client: TestClient) -> dict[str, Any]:
    response = await client.get("/api/docs/openapi.json")
    assert response.status == 200
    return await response.json()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in spec["paths"].items() for method, op in item.items()]


async def test_the_document_is_valid_openapi_3(docs_client: TestClient) -> None:
    spec = await _spec(docs_client)
    errors = [error.message[:200] for error in OpenAPIV30SpecValidator(spec).iter_errors()]
    assert errors == []
    for method, path, operation in _operations(spec):
        for status, response in operation["responses"].items():
            assert response["description"], f"{method} {path} {status}"
            if status == "204":
                assert "content" not in response, f"{method} {path}: a 204 has no body"


async def test_public_operations_need_no_credentials_and_the_others_say_which(docs_client: TestClient) -> None:
    spec = await _spec(docs_client)
    public = {(method, path) for method, path, op in _operations(spec) if op["security"] == []}
    assert public == PUBLIC
    register = spec["paths"]["/api/v1/auth/register/"]["post"]["responses"]
    assert "401" not in register and "403" not in register
    for method, path, operation in _operations(spec):
        if (method, path) in PUBLIC:
            continue
        schemes = {name for requirement in operation["security"] for name in requirement}
        assert {"bearerAuth", "cookieAuth"} <= schemes, f"{method} {path}"
    # The WordPress plugin's key is offered only where it is let in.
    assert {"apiKeyAuth"} & {n for r in spec["paths"]["/api/v1/auth/users/"]["get"]["security"] for n in r} == set()


async def test_every_status_the_middlewares_answer_is_documented_from_the_handlers_rules(
    docs_client: TestClient,
) -> None:
    spec = await _spec(docs_client)
    app = docs_client.app
    assert app is not None
    checked = 0
    for route in app.router.routes():
        rules: EndpointRules | None = getattr(route.handler, RULES_ATTR, None)
        method = route.method.lower()
        if rules is None or route.resource is None or method == "head":
            continue
        path = route.resource.canonical
        responses = spec["paths"][path][method]["responses"]
        where = f"{method} {path}"
        if not rules.public:
            assert {"401", "403"} <= responses.keys(), where
        if rules.scope is not None:
            assert "429" in responses, where
        if method in {"post", "put", "delete"}:
            assert {"400", "413", "415"} <= responses.keys(), where
        if "{" in path:
            assert "404" in responses, where
        if rules.idempotent:
            assert "409" in responses, where
        checked += 1
    assert checked >= 100
    # Deleting or demoting the last owner is a 409.
    assert "409" in spec["paths"]["/api/v1/auth/users/{id}/"]["delete"]["responses"]
    assert "409" in spec["paths"]["/api/v1/auth/users/{id}/"]["put"]["responses"]


async def test_head_is_answered_but_is_not_an_operation_of_its_own(docs_client: TestClient) -> None:
    spec = await _spec(docs_client)
    assert not [path for path, item in spec["paths"].items() if "head" in item]
    head = await docs_client.head("/api/v1/system/health/")
    assert head.status == 200


async def test_path_ids_are_bounded_integers(docs_client: TestClient) -> None:
    spec = await _spec(docs_client)
    ids = [
        parameter["schema"]
        for method, path, op in _operations(spec)
        for parameter in op["parameters"]
        if parameter["in"] == "path" and parameter["name"] == "id"
    ]
    assert len(ids) >= 20
    assert all(schema == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1} for schema in ids)


async def test_the_constraints_the_server_enforces_are_in_the_schemas(docs_client: TestClient) -> None:
    schemas = (await _spec(docs_client))["components"]["schemas"]
    for name, field in (("RegisterIn", "password"), ("PasswordResetConfirmIn", "new_password")):
        password = schemas[name]["properties"][field]
        assert (password["minLength"], password["maxLength"]) == (8, 128), name
        assert "pattern" in password  # not all digits
    assert schemas["RegisterIn"]["required"] == ["email", "password"]
    assert schemas["ModulesIn"]["properties"]["integration"]["type"] == "boolean"
    assert set(schemas["KeywordIn"]["properties"]["intent"]["enum"]) >= {"informational", "commercial"}
    assert schemas["SiteIn"]["properties"]["name"]["maxLength"] == 200
    # The success envelope: `message` is not among the fields every answer carries.
    assert "message" not in schemas["KeywordEnvelope"].get("required", [])


async def test_the_docs_page_is_titled_for_the_api(docs_client: TestClient) -> None:
    html = await (await docs_client.get("/api/docs/")).text()
    assert "<title>Inkflow API</title>" in html and "Swagger UI</title>" not in html


@pytest.mark.parametrize("value", [0, 1, "true", "yes", None])
async def test_a_boolean_setting_takes_only_true_or_false(api: Api, value: Any) -> None:
    owner = await api.register()
    before = (await api.call("GET", "/api/v1/system/modules/", as_=owner))["data"]
    body = await api.call("PUT", "/api/v1/system/modules/", json={"integration": value}, as_=owner, status=400)
    assert body["code"] == "validation_error" and "integration" in body["errors"]
    assert (await api.call("GET", "/api/v1/system/modules/", as_=owner))["data"] == before
    switched = await api.call("PUT", "/api/v1/system/modules/", json={"integration": False}, as_=owner)
    assert switched["data"]["integration"] is False


async def test_a_fractional_number_is_not_taken_for_an_integer(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    body = await api.call(
        "POST",
        "/api/v1/planner/keywords/",
        json={"site_id": site["id"], "keyword": "widgets", "difficulty": 2.5},
        as_=owner,
        status=400,
    )
    assert "difficulty" in body["errors"]


@pytest.mark.parametrize("password", ["short1!", "12345678901"])
async def test_a_password_the_schema_refuses_is_refused(api: Api, password: str) -> None:
    body = await api.call(
        "POST", "/api/v1/auth/register/", json={"email": "weak@example.com", "password": password}, status=400
    )
    assert "password" in body["errors"]
