"""Typed application keys: everything the app holds, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    pass

SETTINGS = web.AppKey["Settings"]("settings")
ORM = web.AppKey["TortoiseContext"]("orm")
REDIS = web.AppKey["Redis | None"]("redis")
RATE_LIMITER = web.AppKey["RateLimiter"]("rate_limiter")
CRYPTO = web.AppKey["Crypto"]("crypto")
MAILER = web.AppKey["Mailer"]("mailer")
STARTED_AT = web.AppKey[float]("started_at")
ACTORS = web.AppKey["ActorSystem[int]"]("actors")
WAITERS = web.AppKey["Waiters"]("waiters")

# Per-request values set by the middlewares.
REQUEST_ID = web.RequestKey[str]("request_id")
PRINCIPAL = web.RequestKey["Principal"]("principal")
