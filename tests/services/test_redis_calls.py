"""`SerialScript`: a script called over a connection of its own, one call at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.redis_calls import SerialScript
from tests.conftest import BACKEND, TEST_REDIS_URL

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres" or not TEST_REDIS_URL, reason="needs Redis: runs in the PostgreSQL + Redis pass"
)

# Its first argument back with the number of keys, after a busy loop of ARGV[2] steps (Redis runs
# a script to its end before it reads the next command: a reply that takes its time).
ECHO = "for _ = 1, tonumber(ARGV[2] or 0) do end return {ARGV[1], #KEYS}"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(str(TEST_REDIS_URL))
    yield client
    await client.aclose()


async def test_a_call_answers_with_the_scripts_reply_on_a_connection_outside_the_clients_pool(redis: Redis) -> None:
    script = SerialScript(redis, ECHO)
    try:
        assert await script(keys=["a", "b"], args=["hello"]) == [b"hello", 2]
        assert await script(keys=[], args=[42]) == [b"42", 0]
        pool = redis.connection_pool
        assert not pool._available_connections and not pool._in_use_connections  # type: ignore[attr-defined]
    finally:
        await script.close()


async def test_a_redis_that_lost_its_scripts_gets_the_source_again(redis: Redis) -> None:
    script = SerialScript(redis, ECHO)
    try:
        assert await script(keys=[], args=["before"]) == [b"before", 0]
        await redis.script_flush()  # as after a restart: EVALSHA answers NOSCRIPT
        assert await script(keys=[], args=["after"]) == [b"after", 0]
        assert await script(keys=[], args=["again"]) == [b"again", 0]
    finally:
        await script.close()


async def test_a_call_given_up_while_its_reply_is_on_the_way_leaves_no_reply_for_the_next(redis: Redis) -> None:
    """A timeout cancels a call after its command went out: its reply still comes, so the
    connection is dropped; on a kept connection the next call would read the old reply."""
    script = SerialScript(redis, ECHO)
    try:
        abandoned = asyncio.ensure_future(script(keys=[], args=["old", 40_000_000]))
        await asyncio.sleep(0.02)  # sent; Redis loops for ~0.1 s more
        abandoned.cancel()
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        assert await script(keys=[], args=["new"]) == [b"new", 0]
    finally:
        await script.close()


async def test_a_second_call_while_one_is_in_flight_is_refused_and_the_first_gets_its_own_reply(redis: Redis) -> None:
    """One connection, one reply at a time: a second caller would read the first one's reply."""
    script = SerialScript(redis, ECHO)
    try:
        first = asyncio.ensure_future(script(keys=[], args=["first", 5_000_000]))
        await asyncio.sleep(0.005)
        with pytest.raises(RuntimeError, match="in flight"):
            await script(keys=[], args=["second"])
        assert await first == [b"first", 0]
        assert await script(keys=[], args=["third"]) == [b"third", 0]
    finally:
        await script.close()
