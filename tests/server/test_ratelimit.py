"""Rate limits by scope with headers, in memory or in Redis (CONTRACT §14)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from server.app import create_app
from services.ratelimit import Decision, RedisCounter
from tests.conftest import BACKEND, TEST_REDIS_URL
from tests.helpers import Api

LOGIN = "/api/v1/auth/login/"


async def test_the_21st_login_from_one_ip_in_a_minute_is_429_with_retry_after(api: Api) -> None:
    payload = {"email": "nobody@example.com", "password": "wrong password"}
    for n in range(20):
        response = await api.client.post(LOGIN, json=payload)
        assert response.status == 401
        assert response.headers["X-RateLimit-Limit"] == "20"
        assert response.headers["X-RateLimit-Remaining"] == str(19 - n)
    response = await api.client.post(LOGIN, json=payload)
    assert response.status == 429
    body = await response.json()
    assert body["code"] == "rate_limited" and body["success"] is False
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_retry_after_is_the_seconds_left_in_the_window_rounded_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # A window hit twice within one second: whole seconds on both sides would say 61.
    monkeypatch.setattr(time, "time", lambda: 1_000.5)
    decision = Decision(allowed=False, limit=20, remaining=0, resets=1_060.4)
    assert (decision.retry_after, decision.reset_at) == (60, 1_061)
    assert Decision(allowed=False, limit=20, remaining=0, resets=1_000.6).retry_after == 1
    assert Decision(allowed=False, limit=20, remaining=0, resets=1_000.0).retry_after == 1


async def test_every_response_has_rate_headers_except_health(api: Api) -> None:
    owner = await api.register()
    response = await api.client.get("/api/v1/auth/sites/", headers=owner.headers)
    assert response.headers["X-RateLimit-Limit"] == "300"
    response = await api.client.get("/api/v1/auth/nope/", headers=owner.headers)
    assert response.status == 404
    response = await api.client.get("/api/v1/system/health/")
    assert "X-RateLimit-Limit" not in response.headers


async def test_error_answers_and_unknown_paths_and_methods_carry_the_headers_and_count(api: Api) -> None:
    owner = await api.register()
    answers = [
        await api.client.get("/api/v1/auth/nope/", headers=owner.headers),  # 404, unknown path
        await api.client.delete("/api/v1/auth/industries/", headers=owner.headers),  # 405
        await api.client.get("/api/v1/jobs/999/", headers=owner.headers),  # 404 from the handler
        await api.client.get("/api/v1/planner/keywords/", params={"page": "0"}, headers=owner.headers),  # 400
        await api.client.get("/nothing-here/"),  # outside the API: counted per IP
    ]
    assert [r.status for r in answers] == [404, 405, 404, 400, 404]
    for response in answers:
        assert response.headers["X-RateLimit-Limit"] == "300", response.url
        assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in answers[:4]]
    assert remaining == sorted(remaining, reverse=True) and len(set(remaining)) == 4, "each one counted"


async def test_a_refused_caller_is_counted_and_past_the_limit_hears_429_not_401(
    aiohttp_client: Any, make_settings: Any
) -> None:
    """The limit answers before the credentials are looked at: a refused request is a 429,
    whoever sent it, and every one is counted."""
    limits = {"ai": 60, "content": 100, "auth": 20, "general": 3}
    client = await aiohttp_client(create_app(make_settings(rate_limits=limits), docs=False))
    answers = [await client.get("/api/v1/auth/sites/") for _ in range(4)]  # no credentials
    assert [r.status for r in answers] == [401, 401, 401, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert (await answers[-1].json())["code"] == "rate_limited"
    forged = await client.get("/api/v1/auth/sites/", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status == 429, "a bad token counts against the caller's address"


async def test_scopes_count_separately_and_per_user(aiohttp_client: Any, make_settings: Any) -> None:
    limits = {"ai": 60, "content": 100, "auth": 20, "general": 3}
    api = Api(await aiohttp_client(create_app(make_settings(rate_limits=limits), docs=False)))
    first, second = await api.register(), await api.register()
    for _ in range(3):
        await api.call("GET", "/api/v1/auth/sites/", as_=first)
    body = await api.call("GET", "/api/v1/auth/sites/", as_=first, status=429)
    assert body["code"] == "rate_limited"
    await api.call("GET", "/api/v1/auth/sites/", as_=second)  # another user's counter


@pytest.mark.skipif(BACKEND != "postgres", reason="needs Redis: runs in the PostgreSQL + Redis pass")
async def test_counters_are_shared_by_two_app_instances_on_the_same_redis(
    aiohttp_client: Any, make_settings: Any
) -> None:
    settings = make_settings(rate_limits={"ai": 60, "content": 100, "auth": 4, "general": 300})
    one = Api(await aiohttp_client(create_app(settings, docs=False)))
    two = Api(await aiohttp_client(create_app(settings, docs=False)))
    payload = {"email": "nobody@example.com", "password": "wrong password"}
    for api in (one, two, one, two):
        await api.call("POST", LOGIN, json=payload, status=401)
    await one.call("POST", LOGIN, json=payload, status=429)
    await two.call("POST", LOGIN, json=payload, status=429)


async def test_concurrent_requests_are_each_counted_once(aiohttp_client: Any, make_settings: Any) -> None:
    """Hits that reach the limiter together (sent to Redis in one call) still count one each,
    in order: five pass with 4…0 remaining, the other five are 429."""
    limits = {"ai": 60, "content": 100, "auth": 20, "general": 5}
    api = Api(await aiohttp_client(create_app(make_settings(rate_limits=limits), docs=False)))
    owner = await api.register()
    answers = await asyncio.gather(*(api.client.get("/api/v1/auth/sites/", headers=owner.headers) for _ in range(10)))
    assert sorted(r.status for r in answers) == [200] * 5 + [429] * 5
    remaining = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in answers if r.status == 200)
    assert remaining == [0, 1, 2, 3, 4]


@pytest.mark.skipif(
    BACKEND != "postgres" or not TEST_REDIS_URL, reason="needs Redis: runs in the PostgreSQL + Redis pass"
)
async def test_redis_hits_that_arrive_during_a_call_go_together_in_the_next_one() -> None:
    """One script call in flight at a time: the hits that come meanwhile, over several turns of
    the event loop, wait for it and are sent as one call, each counted exactly and in order."""
    redis = Redis.from_url(TEST_REDIS_URL)
    counter = RedisCounter(redis, f"inkflow-test:{uuid.uuid4().hex}")
    real = counter._script
    batches: list[int] = []
    in_flight, gate = asyncio.Event(), asyncio.Event()

    async def counted(keys: list[str], args: list[Any]) -> Any:
        batches.append(len(keys))
        in_flight.set()
        await gate.wait()  # the first call stays in flight until every other hit has arrived
        return await real(keys=keys, args=args)

    counter._script = counted  # type: ignore[assignment]
    try:
        first = asyncio.ensure_future(counter.hit("user:1"))
        await in_flight.wait()
        rest = []
        for key in ["user:1"] * 9 + ["user:2"]:
            rest.append(asyncio.ensure_future(counter.hit(key)))
            await asyncio.sleep(0)  # each in a turn of its own
        gate.set()
        results = await asyncio.gather(first, *rest)
    finally:
        await real.close()  # the script whose connection the calls used
        await redis.aclose()
    assert batches == [1, 10]
    assert [count for count, _ in results] == [*range(1, 11), 1]
