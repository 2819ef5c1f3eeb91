"""`Idempotency-Key` on POSTs that create or start work, stored in the database so it holds
across processes: the same key and body within 24 h replays the first answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from tortoise.exceptions import IntegrityError

from models.idempotency import IdempotencyRecord
from server.envelope import dumps
from server.keys import REQUEST_ID
from services.errors import Conflict, ValidationFailed
from services.security import utcnow

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


async def _claim(scope: str, key: str, body_hash: str) -> IdempotencyRecord | None:
    """Insert the in-progress record; return the existing one when the key is taken."""
    try:
        await IdempotencyRecord.create(scope=scope, key=key, body_hash=body_hash, expires_at=utcnow() + TTL)
        return None
    except IntegrityError:
        existing = await IdempotencyRecord.get_or_none(scope=scope, key=key)
        if existing is not None and existing.expires_at <= utcnow():
            await IdempotencyRecord.filter(id=existing.id).delete()
            return await _claim(scope, key, body_hash)
        return existing


def _replay(request: web.Request, record: IdempotencyRecord) -> web.Response:
    """The first answer again; only `request_id` is this request's, to match its header."""
    if not record.body:
        response = web.Response(status=record.status or 204)
    else:
        payload = json.loads(record.body)
        payload["request_id"] = request[REQUEST_ID]
        response = web.Response(status=record.status or 200, body=dumps(payload), content_type="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


async def run_once(
    request: web.Request,
    scope: str,
    key: str,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 characters.",
            errors={"Idempotency-Key": ["Must be 1 to 255 characters."]},
        )
    # The query is part of the request (e.g. `run_now/?site_id=`): the same key with another
    # query is another request, refused like another body.
    body_hash = hashlib.sha256(request.query_string.encode() + b"\n" + await request.read()).hexdigest()
    existing = await _claim(scope, key, body_hash)
    if existing is not None:
        if existing.body_hash != body_hash:
            raise Conflict("This Idempotency-Key was used with a different body or query.")
        if existing.state != "done":
            raise Conflict("A request with this Idempotency-Key is still in progress.", code="in_progress")
        return _replay(request, existing)

    try:
        response = await handler(request)
    except BaseException:
        await IdempotencyRecord.filter(scope=scope, key=key).delete()
        raise
    body = response.text if isinstance(response, web.Response) and response.body is not None else None
    if response.status >= 500:
        await IdempotencyRecord.filter(scope=scope, key=key).delete()
    else:
        await IdempotencyRecord.filter(scope=scope, key=key).update(state="done", status=response.status, body=body)
    return response
