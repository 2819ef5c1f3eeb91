"""/api/v1/integration/: site integrations (WordPress) — CRUD, key rotation and connection checks.

Integrations are the account's admins' business (CONTRACT §4): admins and owners create, change,
rotate and delete them; editors may run the read-only checks; viewers read.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, request_schema, response_schema
from aiohttp_apigami.constants import SCHEMAS_ATTR
from marshmallow import ValidationError

from actors.operations.sync import SyncIntegration
from actors.site import Submit
from models.integration import Integration
from schemas import integration as s
from schemas.common import envelope as envelope_schema
from schemas.common import error_responses
from server import envelope
from server.access import endpoint, principal
from server.crud import Resource, add_crud, delete_row, path_id, with_path_id
from server.errors import PayloadTooLarge
from server.jobs import add_operation
from server.keys import ACTORS, CRYPTO, EVENTS, OUTBOUND, SETTINGS
from services import integration as service
from services import jobs, wp_sync, wp_webhook
from services.errors import Conflict, ValidationFailed
from services.tenancy import site_or_400

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
    update_errors=(409,),  # another WordPress than the site's other active integrations, or than its content's
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
    "400 `url_not_allowed`. The active integrations of a site all reach one WordPress (the site's content "
    "mirrors its posts by their ids): an active one for another WordPress is 409 `conflict`, naming the one "
    "in the way; so is a `PUT` that would make one. The site's content stays linked to the WordPress it was "
    "published to or synced from: while it has such content, making an integration for another WordPress "
    "active (`POST`, or a `PUT` of `base_url` or `is_active`) is 409 too, unless `same_wordpress: true` says "
    "it is that WordPress at a new address, or `unlink_content: true` unlinks the content from the first one "
    "(published content becomes `draft`, WordPress ids and URLs are cleared, nothing is deleted; the next sync "
    "is a full one). Moving a site to another WordPress is 409 while a sync, publish or automation job of the "
    "site is unfinished (paused included) or a sync is starting: let it finish or cancel it first.",
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


# --- sync ------------------------------------------------------------------------------------------

add_operation(
    routes,
    f"{BASE}/{{id:\\d+}}/sync/",
    SyncIntegration,
    tag=TAG,
    module=MODULE,
    summary="Sync categories, tags, posts and pages from WordPress into Taxonomy and Content (source=wordpress)",
    params=lambda request: {"integration_id": path_id(request), "full": request["querystring"]["full"]},
    query=s.SyncQuery,
    scope="general",
    errors=error_responses(409, s409="conflict: a sync of this integration is already on, or it is inactive"),
)


@routes.get(f"{BASE}/{{id:\\d+}}/sync_status/")
@endpoint(role="viewer", module=MODULE)
@docs(
    tags=[TAG],
    summary="The latest sync's state and counts: one indexed read, never a call to WordPress (poll it freely)",
    description="`status` idle | syncing | error; `items` counts posts and pages, `terms` categories and tags "
    "(CONTRACT §16.18); `last_error` says why the latest sync failed.",
    responses=ERRORS,
)
@response_schema(envelope_schema(s.SyncStatusOut, "SyncStatusEnvelope"), 200)
@with_path_id
async def sync_status(request: web.Request) -> web.Response:
    return envelope.ok(request, await wp_sync.sync_status(principal(request), path_id(request)))


@routes.get(f"{BASE}/{{id:\\d+}}/sync_health/")
@endpoint(role="viewer", module=MODULE)
@docs(
    tags=[TAG],
    summary="Sync statistics over the last 30 days, with webhooks received and rejected",
    responses=ERRORS,
)
@response_schema(envelope_schema(s.SyncHealthOut, "SyncHealthEnvelope"), 200)
@with_path_id
async def sync_health(request: web.Request) -> web.Response:
    return envelope.ok(request, await wp_sync.sync_health(principal(request), path_id(request)))


@routes.post(f"{BASE}/site_sync/")
@endpoint(role="editor", module=MODULE)
@docs(
    tags=[TAG],
    summary="Start a sync of every active integration of a site; answers the jobs at once",
    description="202 with one job per integration synced (follow them at `/api/v1/jobs/{id}/` or on "
    "`integration:<id>`); integrations whose sync is already on are listed in `skipped`.",
    responses=error_responses(400, 401, 403),
)
@request_schema(s.SiteSyncIn)
@response_schema(envelope_schema(s.SiteSyncOut, "SiteSyncEnvelope"), 202)
async def site_sync(request: web.Request) -> web.Response:
    caller = principal(request)
    site = await site_or_400(caller, request["data"]["site_id"])
    started, skipped = [], []
    for integration in await Integration.filter(site_id=site.id, is_active=True).order_by("id"):
        try:
            plan = await SyncIntegration.plan_for(integration, full=request["data"]["full"])
        except Conflict as exc:
            skipped.append({"integration_id": integration.id, "reason": exc.message})
            continue
        job = await jobs.create(
            request.app[EVENTS],
            account_id=caller.account_id,
            site_id=plan.site_id,
            user_id=caller.user_id,
            kind=SyncIntegration.kind,
            params=plan.params,
            total=0,
            reserve=0,
        )
        await request.app[ACTORS].tell(plan.site_id, Submit(job.id))
        started.append(jobs.job_dict(job))
    return envelope.ok(request, {"site_id": site.id, "jobs": started, "skipped": skipped}, status=202)


# --- webhook ---------------------------------------------------------------------------------------


def _documented_only(handler: Any) -> Any:
    """Keep the body schema in the OpenAPI document but out of the validation middleware: the
    signature is checked on the raw body first, then the handler loads the schema itself."""
    getattr(handler, SCHEMAS_ATTR).clear()
    return handler


@routes.post(f"{BASE}/webhook/wordpress/")
@endpoint(role="editor", apikey=True, scope="general", module=MODULE)
@docs(
    tags=[TAG],
    summary="Receive a WordPress event (the plugin), signed the Standard Webhooks way",
    description="`Authorization: ApiKey ink_…` of the integration, and the headers `webhook-id`, "
    "`webhook-timestamp`, `webhook-signature` (`v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`, key: the "
    "base64-decoded part of the `whsec_` secret). Valid events update Content/Taxonomy and publish "
    "`content.updated` (posts, pages) or `taxonomy.updated` (terms) on `site:<id>` and `integration:<id>`. "
    "A `webhook-id` already processed answers 200 `{duplicate: true}` and changes nothing.",
    responses=error_responses(
        400,
        401,
        403,
        409,
        413,
        s400="an unknown event type, or `data` without a field the event needs (named in `errors`)",
        s401="wrong API key; or `invalid_signature`: bad signature or a timestamp more than 300 s away "
        "(counted as rejected in sync_health/)",
        s403="not an integration's API key; or `wrong_wordpress`: the body's `site_url` is on neither `base_url`'s "
        "host nor `home_url`'s (a copy of the site holding the key; counted as rejected in sync_health/)",
        s409="the integration is inactive",
        s413="the body is over 1 MiB",
    ),
)
@response_schema(envelope_schema(s.WebhookOut, "WebhookEnvelope"), 200)
@_documented_only
@request_schema(s.WebhookIn)
async def wordpress_webhook(request: web.Request) -> web.Response:
    if (request.content_length or 0) > wp_webhook.MAX_BODY:
        raise PayloadTooLarge("The webhook body is over 1 MiB.")
    body = await request.read()
    if len(body) > wp_webhook.MAX_BODY:
        raise PayloadTooLarge("The webhook body is over 1 MiB.")
    integration = await wp_webhook.integration_of(principal(request))
    webhook_id = await wp_webhook.verify(integration, request.app[CRYPTO], body, request.headers)
    try:
        payload = s.WebhookIn().load(await request.json())
    except ValidationError as exc:
        raise ValidationFailed("Invalid webhook payload.", errors=exc.messages) from None
    return envelope.ok(request, await wp_webhook.receive(request.app[EVENTS], integration, webhook_id, payload))


add_crud(routes, INTEGRATION)
