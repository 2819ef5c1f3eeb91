"""Typed application keys: everything the app holds, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # the keys' types, named in strings (imported at run time they'd be circular)
    import weakref  # noqa: F401

    from redis.asyncio import Redis  # noqa: F401
    from tortoise.context import TortoiseContext  # noqa: F401

    from actors.placement import Placement  # noqa: F401
    from config.settings import Settings  # noqa: F401
    from services.ai_client import AiClients  # noqa: F401
    from services.ai_settings import AiSettingsCache  # noqa: F401
    from services.events import EventBus  # noqa: F401
    from services.mail import Mailer  # noqa: F401
    from services.outbound import Outbound  # noqa: F401
    from services.principal import Principal  # noqa: F401
    from services.principal_cache import PrincipalCache  # noqa: F401
    from services.ratelimit import RateLimiter  # noqa: F401
    from services.security import AccessClaims, Crypto  # noqa: F401

SETTINGS = web.AppKey["Settings"]("settings")
ORM = web.AppKey["TortoiseContext"]("orm")
REDIS = web.AppKey["Redis | None"]("redis")
RATE_LIMITER = web.AppKey["RateLimiter"]("rate_limiter")
CRYPTO = web.AppKey["Crypto"]("crypto")
MAILER = web.AppKey["Mailer"]("mailer")
STARTED_AT = web.AppKey[float]("started_at")
# The site actors, reached by site id from any process (`await app[ACTORS].tell(site_id, message)`).
ACTORS = web.AppKey["Placement"]("actors")
EVENTS = web.AppKey["EventBus"]("events")
PRINCIPALS = web.AppKey["PrincipalCache"]("principals")
# The account's AI config and prompts that jobs read, cached (services/ai_settings.AiSettingsCache).
AI_SETTINGS = web.AppKey["AiSettingsCache"]("ai_settings")
OUTBOUND = web.AppKey["Outbound"]("outbound")
AI_CLIENTS = web.AppKey["AiClients"]("ai_clients")
# Open websockets, so shutdown can close them (1001 going away; 1012 when other processes serve on).
WEBSOCKETS = web.AppKey["weakref.WeakSet[web.WebSocketResponse]"]("websockets")

# Per-request values set by the middlewares.
REQUEST_ID = web.RequestKey[str]("request_id")
PRINCIPAL = web.RequestKey["Principal"]("principal")
CLAIMS = web.RequestKey["AccessClaims"]("access_claims")
RATE_HEADERS = web.RequestKey[dict[str, str]]("rate_headers")
# The request's JSON body, decoded once by the body check; schema validation reads it from here.
JSON_BODY = web.RequestKey[object]("json_body")
