"""Health for ops scripts: real checks, 503 when the database is down (CONTRACT §11)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.app import create_app
from tests.conftest import BACKEND
from tests.helpers import Api


async def test_health_reports_real_checks_without_auth(api: Api) -> None:
    body = await api.call("GET", "/api/v1/system/health/")
    data = body["data"]
    assert data["status"] == "ok"
    assert data["checks"]["database"]["ok"] is True
    assert data["checks"]["database"]["latency_ms"] >= 0
    if BACKEND == "postgres":
        assert data["checks"]["redis"]["ok"] is True
    else:
        assert data["checks"]["redis"] == "not configured"
    assert data["checks"]["jobs"] == {"queued": 0, "running": 0}
    assert data["checks"]["actors"] == {"running": 0, "busiest_mailbox": 0}
    assert data["uptime_s"] >= 0 and data["version"]


def _unreachable_database(tmp_path: Path) -> str:
    if BACKEND == "postgres":
        return "postgres://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    return f"sqlite://{blocker / 'inkflow.sqlite3'}"


async def test_health_is_503_down_when_the_database_is_unreachable(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path
) -> None:
    settings = make_settings(database_url=_unreachable_database(tmp_path))
    api = Api(await aiohttp_client(create_app(settings, docs=False)))
    response = await api.client.get("/api/v1/system/health/")
    assert response.status == 503
    body = await response.json()
    assert body["success"] is True and body["data"]["status"] == "down"
    assert body["data"]["checks"]["database"]["ok"] is False


async def test_health_is_degraded_when_redis_is_down(aiohttp_client: Any, make_settings: Any) -> None:
    settings = make_settings(redis_url="redis://127.0.0.1:1/0")
    api = Api(await aiohttp_client(create_app(settings, docs=False)))
    body = await api.call("GET", "/api/v1/system/health/")
    assert body["data"]["status"] == "degraded"
    assert body["data"]["checks"]["redis"]["ok"] is False
