"""/api/v1/integration/: site integrations (WordPress) — CRUD, key rotation and connection checks.

Integrations are the account's admins' business (CONTRACT §4): admins and owners create, change,
rotate and delete them; editors may run the read-only checks; viewers read.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, request_schema, response_schema

from models.integration import Integration
from schemas import integration as s
from schemas.common import envelope as envelope_schema
from schemas.common import error_responses
from server import envelope
from server.access import endpoint, principal
from server.crud import Resource, add_crud, delete_row, with_path_id
from server.keys import CRYPTO, OUTBOUND, SETTINGS
from services import integration as service

routes = web.RouteTableDef()
TAG = "integration"
BASE = "/api/v1/integration"
MODULE = "integration"
ERRORS = error_responses(400, 401, 403, 404)
CHECK_NOTE = (
    " Answers 200 with `ok: false`, `error` and `code` when WordPress can't be used (wrong application password, "
    "not a WordPress site, unreachable, timeout); 400 `url_not_allowed` when the private-address rule refuses the site."
)


async def _update(request: web.Request, integration: Integration, data: dict[str, Any]) -> Integration:
    app = request.app
    return await service.update_integration(app[SETTINGS], app[CRYPTO], integration, data)


INTEGRATION = Resource(
    name="integration",
    path=f"{BASE}/",
    tag=TAG,
    model=Integration,
    out_schema=s.IntegrationOut(),
    query_schema=s.IntegrationQuery,
    search_fields=("base_url", "username"),
    update_schema=s.IntegrationUpdateIn,
    update=_update,
    delete=delete_row,  # the integration's API keys go with it (ON DELETE CASCADE)
    serializer=service.serialize,
    actions=("list", "retrieve", "update", "delete"),
    read_role="viewer",
    write_role="admin",
    write_scope="general",
    module=MODULE,
)


@routes.post(f"{BASE}/")
@endpoint(role="admin", idempotent=True, module=MODULE)
@docs(
    tags=[TAG],
    summary="Create an integration; the answer shows its api_key and webhook_secret, once",
    description="`app_password` is stored encrypted and never shown again (`app_password_set`). "
    "`base_url` must be http(s); with `INKFLOW_ALLOW_PRIVATE_URLS=false` a private address is "
    "400 `url_not_allowed`.",
    responses=ERRORS | error_responses(409),
)
@request_schema(s.IntegrationIn)
@response_schema(envelope_schema(s.IntegrationSecretsOut, "IntegrationCreatedEnvelope"), 201)
async def create(request: web.Request) -> web.Response:
    app = request.app
    body = await service.create_integration(app[SETTINGS], app[CRYPTO], principal(request), request["data"])
    return envelope.created(request, body)


@routes.post(f"{BASE}/{{id:\\d+}}/rotate_key/")
@endpoint(role="admin", module=MODULE)
@docs(
    tags=[TAG],
    summary="Replace the API key and the webhook secret; the new ones are shown once, the old key stops working",
    responses=ERRORS,
)
@response_schema(envelope_schema(s.IntegrationSecretsOut, "IntegrationKeysEnvelope"), 200)
@with_path_id
async def rotate_key(request: web.Request) -> web.Response:
    integration = await INTEGRATION.get_object(request)
    return envelope.ok(request, await service.rotate_keys(request.app[CRYPTO], integration))


@routes.post(f"{BASE}/{{id:\\d+}}/test_connection/")
@endpoint(role="editor", module=MODULE)
@docs(
    tags=[TAG],
    summary="Check the site and the application password (users/me?context=edit)",
    description="`{ok, site_name, user, capabilities, latency_ms}`." + CHECK_NOTE,
    responses=ERRORS,
)
@response_schema(envelope_schema(s.ConnectionTestOut, "ConnectionTestEnvelope"), 200)
@with_path_id
async def test_connection(request: web.Request) -> web.Response:
    integration = await INTEGRATION.get_object(request)
    result = await service.check_connection(integration, request.app[CRYPTO], request.app[OUTBOUND])
    return envelope.ok(request, result)


@routes.post(f"{BASE}/{{id:\\d+}}/test_collection_connection/")
@endpoint(role="editor", module=MODULE)
@docs(
    tags=[TAG],
    summary="Check that one collection (posts, pages, categories, tags, media, types) can be read for editing",
    description="`{ok, collection, total, latency_ms}`; `total` is WordPress's X-WP-Total." + CHECK_NOTE,
    responses=ERRORS,
)
@request_schema(s.CollectionTestIn)
@response_schema(envelope_schema(s.CollectionTestOut, "CollectionTestEnvelope"), 200)
@with_path_id
async def test_collection_connection(request: web.Request) -> web.Response:
    integration = await INTEGRATION.get_object(request)
    app = request.app
    result = await service.check_collection(integration, app[CRYPTO], app[OUTBOUND], request["data"]["collection"])
    return envelope.ok(request, result)


@routes.post(f"{BASE}/{{id:\\d+}}/update_structure/")
@endpoint(role="admin", module=MODULE)
@docs(
    tags=[TAG],
    summary="Read post types, taxonomies and SEO plugins from WordPress into `structure`",
    description="`{ok, structure}`; `structure` is kept unchanged when WordPress can't be read." + CHECK_NOTE,
    responses=ERRORS,
)
@response_schema(envelope_schema(s.StructureOut, "StructureEnvelope"), 200)
@with_path_id
async def update_structure(request: web.Request) -> web.Response:
    integration = await INTEGRATION.get_object(request)
    result = await service.update_structure(integration, request.app[CRYPTO], request.app[OUTBOUND])
    return envelope.ok(request, result)


@routes.get(f"{BASE}/{{id:\\d+}}/content_types/")
@endpoint(role="viewer", module=MODULE)
@docs(
    tags=[TAG],
    summary="The post types content can be published as (from `structure`, read from WordPress when empty)",
    description="`{ok, content_types, refreshed}`." + CHECK_NOTE,
    responses=ERRORS,
)
@response_schema(envelope_schema(s.ContentTypesOut, "ContentTypesEnvelope"), 200)
@with_path_id
async def content_types(request: web.Request) -> web.Response:
    integration = await INTEGRATION.get_object(request)
    result = await service.content_types(integration, request.app[CRYPTO], request.app[OUTBOUND])
    return envelope.ok(request, result)


add_crud(routes, INTEGRATION)
