"""Redis going away: requests keep working with the limits counted in memory, and the log says
so once (not a traceback per request), and once more when Redis is back."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from server.app import create_app
from services.ratelimit import MemoryCounter, RateLimiter
from tests.helpers import Api

LOGIN = "/api/v1/auth/login/"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "inkflow.ratelimit" and r.levelno >= logging.WARNING]


async def test_many_requests_without_redis_log_one_warning_and_still_limit(
    aiohttp_client: Any, make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    api = Api(await aiohttp_client(create_app(settings, docs=False)))
    caplog.set_level(logging.DEBUG, logger="inkflow.ratelimit")
    payload = {"email": "nobody@example.com", "password": "wrong password"}
    for n in range(20):
        response = await api.client.post(LOGIN, json=payload)
        assert response.status == 401
        assert response.headers["X-RateLimit-Remaining"] == str(19 - n)
    # The limits still hold, counted in this process.
    assert (await api.client.post(LOGIN, json=payload)).status == 429
    health = await api.call("GET", "/api/v1/system/health/")
    assert health["data"]["status"] == "degraded"

    warnings = _warnings(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "unreachable" in warnings[0].getMessage() and warnings[0].exc_info is None
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.INFO)


class _FlakyCounter:
    """A shared storage that is down while `down` is set."""

    def __init__(self) -> None:
        self.down = False
        self.memory = MemoryCounter()

    async def hit(self, key: str) -> tuple[int, float]:
        if self.down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return await self.memory.hit(key)


async def test_the_log_says_once_when_storage_goes_away_and_once_when_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counter = _FlakyCounter()
    limiter = RateLimiter({"general": 100}, counter, retry_seconds=0)
    caplog.set_level(logging.INFO, logger="inkflow.ratelimit")
    await limiter.hit("general", "u:1")
    counter.down = True
    for _ in range(10):
        assert (await limiter.hit("general", "u:1")).allowed
    counter.down = False
    for _ in range(10):
        assert (await limiter.hit("general", "u:1")).allowed
    messages = [r.getMessage() for r in _warnings(caplog)]
    assert len(messages) == 2, messages
    assert "unreachable" in messages[0] and "Connection refused" in messages[0]
    assert "back" in messages[1]
