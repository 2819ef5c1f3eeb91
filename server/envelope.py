"""The one place that builds response bodies: success, paginated list and error envelopes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from server.keys import REQUEST_ID

JSON_CONTENT_TYPE = "application/json"


# Datetimes as ISO 8601 UTC with a `Z`; non-string keys (marshmallow's list indexes in errors)
# as strings. orjson does this in C: a page of 100 rows costs ~0.1 ms instead of ~1 ms.
JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, default=_default, option=JSON_OPTIONS)


def _response(request: web.Request, payload: dict[str, Any], status: int) -> web.Response:
    payload["request_id"] = request.get(REQUEST_ID, "")
    return web.Response(body=dumps(payload), status=status, content_type=JSON_CONTENT_TYPE, charset="utf-8")


def ok(
    request: web.Request,
    data: Any = None,
    *,
    status: int = 200,
    message: str | None = None,
    **extra: Any,
) -> web.Response:
    payload: dict[str, Any] = {"success": True, "data": data}
    if message:
        payload["message"] = message
    payload.update(extra)
    return _response(request, payload, status)


def created(request: web.Request, data: Any, **extra: Any) -> web.Response:
    return ok(request, data, status=201, **extra)


def no_content(request: web.Request) -> web.Response:
    return web.Response(status=204)


def page(
    request: web.Request,
    results: list[Any],
    *,
    count: int,
    next_url: str | None,
    previous_url: str | None,
) -> web.Response:
    payload: dict[str, Any] = {"success": True, "count": count, "next": next_url, "previous": previous_url}
    payload["results"] = results
    return _response(request, payload, 200)


def error(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    errors: Any = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    payload: dict[str, Any] = {"success": False, "error": message, "code": code}
    if errors is not None:
        payload["errors"] = errors
    if extra:
        payload.update(extra)
    response = _response(request, payload, status)
    if headers:
        response.headers.update(headers)
    return response
