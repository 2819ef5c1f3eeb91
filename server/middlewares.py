"""The request pipeline: request id → error envelope → ORM context → body → rate limit →
auth → module check → idempotency → (validation) → handler, in four layers (`request_middleware`,
`access_middleware`, `idempotency_middleware`, aiohttp-apigami's validation)."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from aiohttp import web
from marshmallow import Schema, ValidationError
from webargs.aiohttpparser import AIOHTTPParser

from models.db import bind_orm
from server import envelope, idempotency
from server.access import EndpointRules, rules_of
from server.errors import HTTP_STATUS_CODES, ApiError, ParseError, RateLimited, UnsupportedMediaType, status_of
from server.keys import (
    CLAIMS,
    CRYPTO,
    JSON_BODY,
    ORM,
    PRINCIPAL,
    PRINCIPALS,
    RATE_HEADERS,
    RATE_LIMITER,
    REQUEST_ID,
)
from services import auth as auth_service
from services import modules
from services.errors import DomainError, ModuleDisabled, NotAuthenticated, PermissionDenied, ValidationFailed
from services.principal import Principal
from services.security import constant_time_equal, token_hash

log = logging.getLogger("inkflow.server")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """What every request goes through, in one layer (each layer costs a frame and a partial
    per request): its id, the error envelope, the ORM context and the body check."""
    incoming = request.headers.get("X-Request-ID", "")
    # 32 random hex digits, as `uuid4().hex` looks, without building a UUID (2 % of a detail read).
    request[REQUEST_ID] = incoming if REQUEST_ID_RE.match(incoming) else os.urandom(16).hex()
    try:
        response = await _enveloped(request, handler)
    except web.HTTPException as exc:  # only reaches here if raised outside the error layer
        exc.headers["X-Request-ID"] = request[REQUEST_ID]
        raise
    response.headers["X-Request-ID"] = request[REQUEST_ID]
    return response


async def _enveloped(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every failure in the one error envelope; 500s name nothing internal. Error
    answers carry the rate-limit headers like any other (CONTRACT §14)."""
    try:
        # This app's Tortoise context, current for the request's task.
        bind_orm(request.app[ORM])
        if request.method in UNSAFE_METHODS and request.can_read_body:
            await _check_body(request)
        return await handler(request)
    except DomainError as exc:
        headers = exc.headers if isinstance(exc, ApiError) else {}
        response = envelope.error(request, status_of(exc), exc.code, exc.message, exc.errors, exc.extra, headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = HTTP_STATUS_CODES.get(exc.status, ("error", exc.reason))
        headers = {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}}
        response = envelope.error(request, exc.status, code, message, headers=headers)
    except Exception:
        log.exception("unhandled error request_id=%s %s %s", request[REQUEST_ID], request.method, request.path)
        response = envelope.error(request, 500, "server_error", "Internal server error.")
    if RATE_HEADERS in request:
        response.headers.update(request[RATE_HEADERS])
    return response


async def _check_body(request: web.Request) -> None:
    """Refuse malformed JSON with `parse_error` before any schema sees it."""
    raw = await request.read()  # raises 413 past client_max_size
    if raw.strip():
        if request.content_type != "application/json":
            raise UnsupportedMediaType()
        try:
            request[JSON_BODY] = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ParseError(f"Malformed JSON in the request body: {exc}") from None


class CheckedBodyParser(AIOHTTPParser):
    """webargs' aiohttp parser, taking the JSON body `_check_body` decoded instead of decoding
    it a second time."""

    async def load_json(self, req: web.Request, schema: Schema) -> Any:
        if JSON_BODY in req:
            return req[JSON_BODY]
        return await super().load_json(req, schema)


def _client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


async def _rate_identity(request: web.Request) -> str:
    """Who the counter belongs to, decided cheaply: the token's user, the key, or the IP."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer" and credential:
        try:
            claims = request.app[CRYPTO].read_access(credential.strip())
        except DomainError:
            pass
        else:
            request[CLAIMS] = claims  # verified once; the auth middleware reuses it
            return f"u:{claims.user_id}"
    elif scheme.lower() == "apikey" and credential:
        return f"k:{token_hash(credential.strip())[:24]}"
    session = request.cookies.get("session")
    if session:
        return f"s:{token_hash(session)[:24]}"
    return f"ip:{_client_ip(request)}"


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The rate limit, then who is calling and what the route allows them (one layer)."""
    rules = rules_of(request)
    if rules.scope is None:
        await _authorise(request, rules)
        return await handler(request)
    scope = rules.scope
    identity = f"ip:{_client_ip(request)}" if scope == "auth" else await _rate_identity(request)
    decision = await request.app[RATE_LIMITER].hit(scope, identity)
    # The headers go on the answer here, or on an error answer by the error envelope.
    request[RATE_HEADERS] = decision.headers()
    if not decision.allowed:
        raise RateLimited(
            f"Rate limit of {decision.limit} requests per minute exceeded for '{scope}'.",
            headers={"Retry-After": str(decision.retry_after)},
        )
    await _authorise(request, rules)
    response = await handler(request)
    response.headers.update(request[RATE_HEADERS])
    return response


async def _authorise(request: web.Request, rules: EndpointRules) -> None:
    """Resolve Bearer, ApiKey or session cookie, in that order, apply the route's role rules
    and its module switch; unknown paths and methods (404/405) and public routes pass."""
    if request.match_info.http_exception is not None or rules.public:
        return
    caller = await _caller(request)
    if caller.kind == "apikey" and not rules.apikey:
        raise PermissionDenied("An API key can't be used for this endpoint.")
    if not caller.has_role(rules.role):
        raise PermissionDenied(f"This needs the {rules.role} role or higher.")
    request[PRINCIPAL] = caller
    if rules.module:
        enabled = caller.modules if caller.modules is not None else await modules.enabled_modules(caller.account_id)
        if not enabled.get(rules.module, True):
            raise ModuleDisabled(f"The {rules.module} module is disabled for this account.")


async def _caller(request: web.Request) -> Principal:
    crypto = request.app[CRYPTO]
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if header:
        if scheme.lower() == "bearer" and credential:
            claims = request.get(CLAIMS) or crypto.read_access(credential)
            return await request.app[PRINCIPALS].resolve(claims.jti, lambda: auth_service.principal_from_bearer(claims))
        if scheme.lower() == "apikey" and credential:
            return await auth_service.principal_from_api_key(credential)
        raise NotAuthenticated("Use 'Authorization: Bearer <token>' or 'Authorization: ApiKey <key>'.")
    if session_token := request.cookies.get("session"):
        session_caller = await auth_service.principal_from_session(session_token)
        if session_caller is None:
            raise NotAuthenticated("The session has expired; log in again.")
        if request.method in UNSAFE_METHODS:
            cookie = request.cookies.get("csrftoken", "")
            sent = request.headers.get("X-CSRF-Token", "")
            if not cookie or not sent or not constant_time_equal(cookie, sent):
                raise PermissionDenied("CSRF check failed: send the csrftoken cookie's value in X-CSRF-Token.")
        return session_caller
    raise NotAuthenticated()


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Safe methods do no idempotency work at all.
    if request.method != "POST":
        return await handler(request)
    key = request.headers.get("Idempotency-Key")
    if key is None or not rules_of(request).idempotent:
        return await handler(request)
    caller = request.get(PRINCIPAL)
    who = caller.rate_identity if caller else f"ip:{_client_ip(request)}"
    return await idempotency.run_once(request, f"{who}:{request.path}", key, handler)


def validation_error_callback(error: ValidationError, *args: object, **kwargs: object) -> NoReturn:
    """aiohttp-apigami calls this on a schema failure: flatten webargs' location level."""
    messages = error.messages
    if isinstance(messages, dict) and len(messages) == 1:
        (only,) = messages.values()
        if isinstance(only, dict):
            messages = only
    if isinstance(messages, dict) and "_schema" in messages and len(messages) == 1:
        raise ValidationFailed("; ".join(map(str, messages["_schema"])), errors=messages)
    raise ValidationFailed("Invalid input.", errors=messages)
