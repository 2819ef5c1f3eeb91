"""/api/v1/system/: health, AI integration settings and their test, prompts, modules."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema
from tortoise import connections

from models.jobs import Job
from schemas import system as s
from schemas.common import ErrorSchema, error_responses, page_envelope
from schemas.common import envelope as envelope_schema
from schemas.system import HealthOut
from server import envelope
from server.access import endpoint, principal
from server.crud import paginated_list
from server.keys import ACTORS, AI_CLIENTS, AI_SETTINGS, CRYPTO, EVENTS, REDIS, SETTINGS, STARTED_AT
from services import ai_client, ai_settings, modules

routes = web.RouteTableDef()
TAG = "system"
BASE = "/api/v1/system"
ERRORS = error_responses(400, 401, 403)
NOT_FOUND = {404: {"schema": ErrorSchema}}
CHECK_TIMEOUT = 2.0


async def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT)
    except Exception as exc:  # any failure of a dependency is a failed check, never a 500
        return {
            "ok": False,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "error": type(exc).__name__,
        }
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


async def _job_counts() -> dict[str, int]:
    return {
        "queued": await Job.filter(status="queued").count(),
        "running": await Job.filter(status="running").count(),
    }


@routes.get("/api/v1/system/health/")
@endpoint(public=True, scope=None)
@docs(
    tags=[TAG],
    summary="Health for ops polling (no auth, no rate limit); 503 when the database is down",
)
@response_schema(envelope_schema(HealthOut, "HealthEnvelope"), 200)
async def health(request: web.Request) -> web.Response:
    app = request.app
    database = await _timed(connections.get("default").execute_query("SELECT 1"))
    checks: dict[str, Any] = {"database": database}
    redis = app[REDIS]
    checks["redis"] = await _timed(redis.ping()) if redis is not None else "not configured"
    checks["actors"] = app[ACTORS].stats()
    checks["ownership"] = ownership = app[ACTORS].health()
    if database["ok"]:
        try:
            checks["jobs"] = await asyncio.wait_for(_job_counts(), CHECK_TIMEOUT)
        except Exception:
            checks["jobs"] = {"ok": False}
    redis_ok = not isinstance(checks["redis"], dict) or checks["redis"]["ok"]
    # A process that lost Redis takes no site over until it is back: it says so.
    redis_ok = redis_ok and not (isinstance(ownership, dict) and ownership["degraded"])
    status = "down" if not database["ok"] else ("ok" if redis_ok else "degraded")
    body = {
        "status": status,
        "version": app[SETTINGS].version,
        "uptime_s": round(time.monotonic() - app[STARTED_AT], 3),
        "checks": checks,
    }
    return envelope.ok(request, body, status=503 if status == "down" else 200)


# --- AI integration settings (per account) ------------------------------------------------------

OPENAI_PATH = f"{BASE}/settings/integrations/openai/"
IMAGE_PATH = f"{BASE}/settings/integrations/image_generation/"


@routes.get(OPENAI_PATH)
@endpoint()
@docs(
    tags=[TAG],
    summary="The account's OpenAI settings; the key itself is never shown",
    description="`api_key_set`/`api_key_last4` describe the key in effect: the account's own, else the "
    "server's `OPENAI_API_KEY` (`key_source` says which).",
    responses=ERRORS,
)
@response_schema(envelope_schema(s.OpenAiSettingsOut, "OpenAiSettingsEnvelope"), 200)
async def openai_get(request: web.Request) -> web.Response:
    app = request.app
    body = await ai_settings.openai_settings(principal(request).account_id, app[SETTINGS], app[CRYPTO])
    return envelope.ok(request, body)


@routes.put(OPENAI_PATH)
@endpoint(role="admin")
@docs(
    tags=[TAG],
    summary="Change the account's OpenAI settings (any subset); the key is stored encrypted",
    description="`api_key` null or empty clears the account's key (the server's, if any, applies again); "
    "`base_url` null falls back to the server's `OPENAI_BASE_URL`. A custom `base_url` is only used with "
    "the account's own key.",
    responses=ERRORS,
)
@request_schema(s.OpenAiSettingsIn)
@response_schema(envelope_schema(s.OpenAiSettingsOut, "OpenAiSettingsUpdateEnvelope"), 200)
async def openai_put(request: web.Request) -> web.Response:
    app, data = request.app, request["data"]
    if data.get("base_url"):
        await ai_settings.check_outbound_url(data["base_url"], app[SETTINGS])
    account_id = principal(request).account_id
    await ai_settings.save_openai_settings(account_id, data, app[CRYPTO], app[EVENTS])
    return envelope.ok(request, await ai_settings.openai_settings(account_id, app[SETTINGS], app[CRYPTO]))


@routes.get(IMAGE_PATH)
@endpoint()
@docs(tags=[TAG], summary="The account's image generation settings", responses=ERRORS)
@response_schema(envelope_schema(s.ImageSettingsOut, "ImageSettingsEnvelope"), 200)
async def image_get(request: web.Request) -> web.Response:
    return envelope.ok(request, await ai_settings.image_settings(principal(request).account_id))


@routes.put(IMAGE_PATH)
@endpoint(role="admin")
@docs(
    tags=[TAG],
    summary="Change the account's image generation settings (any subset)",
    description="`images_per_content` counts in-article images; `featured_image: true` adds one featured image.",
    responses=ERRORS,
)
@request_schema(s.ImageSettingsIn)
@response_schema(envelope_schema(s.ImageSettingsOut, "ImageSettingsUpdateEnvelope"), 200)
async def image_put(request: web.Request) -> web.Response:
    body = await ai_settings.save_image_settings(principal(request).account_id, request["data"], request.app[EVENTS])
    return envelope.ok(request, body)


@routes.post(f"{BASE}/settings/integrations/test/")
@endpoint(role="editor", scope="ai")
@docs(
    tags=[TAG],
    summary="Test the account's AI settings with one cheap real call",
    description="`openai`: a 1-token chat completion with the account's model; `image_generation`: the "
    "provider's model list must include the image model. Answers 200 `{ok: true, latency_ms, model}` or "
    "200 `{ok: false, error}`; 400 `ai_not_configured` when no key is in effect.",
    responses=ERRORS,
)
@request_schema(s.IntegrationTestIn)
@response_schema(envelope_schema(s.IntegrationTestOut, "IntegrationTestEnvelope"), 200)
async def integration_test(request: web.Request) -> web.Response:
    app = request.app
    config = await app[AI_SETTINGS].config(principal(request).account_id)
    if config.key_source == "account" and config.base_url:
        await ai_settings.check_outbound_url(config.base_url, app[SETTINGS])
    if request["data"]["integration"] == "openai":
        result = await ai_client.ping(request.app[AI_CLIENTS], config)
    else:
        result = await ai_client.check_image_model(request.app[AI_CLIENTS], config)
    return envelope.ok(request, result)


# --- prompts ------------------------------------------------------------------------------------

PROMPT_PATH = BASE + "/prompts/{type}/"


@routes.get(f"{BASE}/prompts/")
@endpoint()
@docs(tags=[TAG], summary="Every prompt type with the text in effect and its placeholders", responses=ERRORS)
@querystring_schema(s.PromptQuery)
@response_schema(page_envelope(s.PromptOut, "PromptPage"), 200)
async def prompts_list(request: web.Request) -> web.Response:
    rows = await ai_settings.list_prompts(principal(request).account_id)
    return paginated_list(request, rows, request["querystring"])


@routes.get(PROMPT_PATH)
@endpoint()
@docs(tags=[TAG], summary="One prompt type", responses=ERRORS | NOT_FOUND)
@response_schema(envelope_schema(s.PromptOut, "PromptEnvelope"), 200)
async def prompt_get(request: web.Request) -> web.Response:
    body = await ai_settings.get_prompt(principal(request).account_id, request.match_info["type"])
    return envelope.ok(request, body)


@routes.put(PROMPT_PATH)
@endpoint(role="admin")
@docs(
    tags=[TAG],
    summary="Replace a prompt's text for the account",
    description="The text must contain every placeholder of the type and no other `{name}` (400 naming them).",
    responses=ERRORS | NOT_FOUND,
)
@request_schema(s.PromptIn)
@response_schema(envelope_schema(s.PromptOut, "PromptUpdateEnvelope"), 200)
async def prompt_put(request: web.Request) -> web.Response:
    account_id, prompt_type = principal(request).account_id, request.match_info["type"]
    body = await ai_settings.save_prompt(account_id, prompt_type, request["data"]["text"], request.app[EVENTS])
    return envelope.ok(request, body)


@routes.post(PROMPT_PATH + "reset/")
@endpoint(role="admin")
@docs(tags=[TAG], summary="Restore a prompt's default text", responses=ERRORS | NOT_FOUND)
@response_schema(envelope_schema(s.PromptOut, "PromptResetEnvelope"), 200)
async def prompt_reset(request: web.Request) -> web.Response:
    body = await ai_settings.reset_prompt(
        principal(request).account_id, request.match_info["type"], request.app[EVENTS]
    )
    return envelope.ok(request, body)


# --- modules ------------------------------------------------------------------------------------

MODULES_PATH = f"{BASE}/modules/"


@routes.get(MODULES_PATH)
@endpoint()
@docs(tags=[TAG], summary="Which modules the account has switched on", responses=ERRORS)
@response_schema(envelope_schema(s.ModulesOut, "ModulesEnvelope"), 200)
async def modules_get(request: web.Request) -> web.Response:
    return envelope.ok(request, await modules.enabled_modules(principal(request).account_id))


@routes.put(MODULES_PATH)
@endpoint(role="admin")
@docs(
    tags=[TAG],
    summary="Switch modules on or off (any subset)",
    description="A disabled module's endpoints answer 403 `module_disabled`.",
    responses=ERRORS,
)
@request_schema(s.ModulesIn)
@response_schema(envelope_schema(s.ModulesOut, "ModulesUpdateEnvelope"), 200)
async def modules_put(request: web.Request) -> web.Response:
    return envelope.ok(
        request, await modules.set_modules(request.app[EVENTS], principal(request).account_id, request["data"])
    )
