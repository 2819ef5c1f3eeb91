"""/api/v1/system/: health (more settings endpoints join this module)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, response_schema
from tortoise import connections

from models.jobs import Job
from schemas.common import envelope as envelope_schema
from schemas.system import HealthOut
from server import envelope
from server.access import endpoint
from server.keys import REDIS, SETTINGS, STARTED_AT

routes = web.RouteTableDef()
TAG = "system"
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
    if database["ok"]:
        try:
            checks["jobs"] = await asyncio.wait_for(_job_counts(), CHECK_TIMEOUT)
        except Exception:
            checks["jobs"] = {"ok": False}
    redis_ok = not isinstance(checks["redis"], dict) or checks["redis"]["ok"]
    status = "down" if not database["ok"] else ("ok" if redis_ok else "degraded")
    body = {
        "status": status,
        "version": app[SETTINGS].version,
        "uptime_s": round(time.monotonic() - app[STARTED_AT], 3),
        "checks": checks,
    }
    return envelope.ok(request, body, status=503 if status == "down" else 200)
