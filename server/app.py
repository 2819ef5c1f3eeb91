"""The application factory used by `run.py` and by every test."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp_apigami import docs, response_schema, validation_middleware
from redis.asyncio import Redis
from tortoise.exceptions import OperationalError

from actors.operations import OperationContext
from actors.placement import Placement
from actors.site import SiteActor
from config.settings import Settings, ensure_secrets
from models.db import load_reference_data, migrate, open_database
from schemas.common import IndexOut
from schemas.common import envelope as envelope_schema
from server import (
    auth,
    automation,
    billing,
    envelope,
    integration,
    jobs,
    linker,
    optimizer,
    planner,
    publisher,
    system,
    webapp,
    writer,
    ws,
)
from server.access import endpoint
from server.docs import SPEC_URL, setup_docs
from server.keys import (
    ACTORS,
    AI_CLIENTS,
    AI_SETTINGS,
    CRYPTO,
    EVENTS,
    MAILER,
    ORM,
    OUTBOUND,
    PRINCIPALS,
    RATE_LIMITER,
    REDIS,
    SETTINGS,
    STARTED_AT,
)
from server.middlewares import access_middleware, idempotency_middleware, request_middleware
from server.routing import SlashTolerantRouter
from services.ai_client import AiClients
from services.ai_settings import AiSettingsCache
from services.events import make_bus
from services.mail import Mailer
from services.outbound import Outbound
from services.ownership import Leases
from services.principal_cache import PrincipalCache
from services.ratelimit import MemoryCounter, RateLimiter, RedisCounter
from services.security import Crypto

log = logging.getLogger("inkflow.app")
# aiohttp-apigami stores validated data under string request keys; that is its API, not a bug.
warnings.filterwarnings("ignore", category=web.NotAppKeyWarning, module="aiohttp_apigami")
ROUTE_MODULES = (
    auth,
    planner,
    writer,
    billing,
    optimizer,
    linker,
    automation,
    integration,
    publisher,
    jobs,
    system,
    ws,
)


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.migrate_on_start:
        applied = await migrate(settings.database_url)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
    orm = await open_database(settings.database_url)
    app[ORM] = orm
    if settings.migrate_on_start:
        await load_reference_data()
    yield
    await orm.close_connections()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    client = Redis.from_url(settings.redis_url) if settings.redis_url else None
    app[REDIS] = client
    yield
    if client is not None:
        await client.aclose()


async def events_ctx(app: web.Application) -> AsyncIterator[None]:
    """The event bus: Redis pub/sub when REDIS_URL is set (every process), else in memory."""
    bus = make_bus(app[REDIS], app[SETTINGS].redis_prefix)
    await bus.start()
    app[EVENTS] = bus
    app[PRINCIPALS] = PrincipalCache(bus)
    app[AI_SETTINGS] = AiSettingsCache(bus, app[SETTINGS], app[CRYPTO])
    yield
    app[AI_SETTINGS].close()
    app[PRINCIPALS].close()
    await bus.close()


async def outbound_ctx(app: web.Application) -> AsyncIterator[None]:
    """The one HTTP session for everything the server fetches, with the address rule."""
    settings = app[SETTINGS]
    # The operator's own OpenAI endpoint is exempt from the rule; the URLs accounts give are not.
    trusted = [settings.openai_base_url] if settings.openai_base_url else []
    app[OUTBOUND] = Outbound(allow_private=settings.allow_private_urls, trusted_urls=trusted)
    yield
    await app[OUTBOUND].close()


async def ai_clients_ctx(app: web.Application) -> AsyncIterator[None]:
    app[AI_CLIENTS] = AiClients(app[OUTBOUND])
    yield
    await app[AI_CLIENTS].close()


async def actors_ctx(app: web.Application) -> AsyncIterator[None]:
    """Site actors, placed by site ownership (actors/placement.py): every site here in one
    process; with Redis, the sites whose lease this process holds. Unfinished jobs resume."""
    settings = app[SETTINGS]
    context = OperationContext(
        settings=settings, crypto=app[CRYPTO], events=app[EVENTS], clients=app[AI_CLIENTS], ai=app[AI_SETTINGS]
    )
    redis = app[REDIS]
    leases = Leases(redis, settings.redis_prefix, ttl=settings.lease_ttl) if redis is not None else None
    placement = Placement(lambda site_id, fence: SiteActor(site_id, context, fence), leases, idle_timeout=60.0)
    app[ACTORS] = placement
    try:
        await placement.start()
    except (OperationalError, OSError):
        # The database is down: serve anyway so health can say so; jobs resume on the next start.
        log.exception("could not look for unfinished jobs")
    yield
    await placement.close()


async def rate_limiter_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis = app[REDIS]
    counter = RedisCounter(redis, settings.redis_prefix) if redis is not None else MemoryCounter()
    app[RATE_LIMITER] = RateLimiter(settings.rate_limits, counter)
    yield
    await app[RATE_LIMITER].close()


@endpoint(public=True, scope=None)
@docs(tags=["system"], summary="Where to start: name, version and links to the docs and health", security=[])
@response_schema(envelope_schema(IndexOut, "IndexEnvelope"), 200)
async def index(request: web.Request) -> web.Response:
    """`GET /`: start-up prints this URL, so it answers with where to go next."""
    return envelope.ok(
        request,
        {
            "name": "Inkflow API",
            "version": request.app[SETTINGS].version,
            "links": {
                "app": webapp.APP_PATH,
                "docs": "/api/docs/",
                "redoc": "/api/redoc/",
                "openapi": SPEC_URL,
                "health": "/api/v1/system/health/",
            },
        },
    )


MIDDLEWARES = (
    request_middleware,
    access_middleware,
    idempotency_middleware,
    validation_middleware,
)


# The request line and each header may be longer than aiohttp's 8 KiB, so that a long query (an id
# list; a fuzzer's junk) is answered by the API, a 400 in the envelope naming the parameter, and not
# by the HTTP parser's plain-text 400, which no application code can reach (aio-libs/aiohttp#3287).
# Past these limits the parser's own answer stands.
HTTP_LIMITS = {"max_line_size": 65_536, "max_field_size": 16_384}


def create_app(settings: Settings, *, docs: bool = True) -> web.Application:
    settings = ensure_secrets(settings)
    with warnings.catch_warnings():
        # aiohttp 3 still honours a custom router but warns; it is the one place that can
        # answer `/path` like `/path/` without a redirect (CONTRACT §16.3).
        warnings.simplefilter("ignore", DeprecationWarning)
        app = web.Application(
            router=SlashTolerantRouter(),
            client_max_size=settings.max_body_size,
            middlewares=MIDDLEWARES,
            handler_args=HTTP_LIMITS,
        )
    app[SETTINGS] = settings
    app[STARTED_AT] = time.monotonic()
    app[CRYPTO] = Crypto(settings.secret_key, settings.encryption_key, settings.access_ttl)
    app[MAILER] = Mailer(settings.mail_backend, settings.smtp_url, settings.mail_from)
    app.cleanup_ctx.extend(
        [
            database_ctx,
            redis_ctx,
            events_ctx,
            rate_limiter_ctx,
            outbound_ctx,
            ai_clients_ctx,
            actors_ctx,
            automation.scheduler_ctx,
            publisher.scheduler_ctx,
        ]
    )
    app.router.add_get("/", index)
    for module in ROUTE_MODULES:
        app.router.add_routes(module.routes)
    # Generated images, under unguessable names, public like the WordPress media they become.
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    app.router.add_static("/media/", settings.media_dir)
    ws.setup(app)
    webapp.setup(app)
    setup_docs(app, settings.version, generate=docs)
    return app
