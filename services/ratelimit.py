"""Per-minute rate limits by scope: fixed windows counted in Redis when configured (shared by
every process), in memory otherwise.

In memory the counting is the `limits` library's storage. In Redis it is one Lua script, so a
hit costs one round trip: the `limits` strategy needs three (increment, read, expiry), and this
runs on every request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from limits.aio.storage import MemoryStorage
from redis.asyncio import Redis

log = logging.getLogger("inkflow.ratelimit")
WINDOW_SECONDS = 60

# KEYS[1]: the counter; ARGV[1]: the window in ms. Returns {count, ms until the window resets}.
HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # Unix seconds when the window frees up

    @property
    def retry_after(self) -> int:
        return max(1, self.reset_at - int(time.time()))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


class Counter(Protocol):
    async def hit(self, key: str) -> tuple[int, float]:
        """Count a hit; return (hits in this window, Unix time the window ends)."""
        ...


class MemoryCounter:
    def __init__(self) -> None:
        self._storage = MemoryStorage()

    async def hit(self, key: str) -> tuple[int, float]:
        count = await self._storage.incr(key, WINDOW_SECONDS)
        return count, await self._storage.get_expiry(key)


class RedisCounter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._script = redis.register_script(HIT_SCRIPT)
        self._prefix = f"{prefix}:rl:"

    async def hit(self, key: str) -> tuple[int, float]:
        count, ttl_ms = await self._script(keys=[self._prefix + key], args=[WINDOW_SECONDS * 1000])
        return int(count), time.time() + max(0, int(ttl_ms)) / 1000


class RateLimiter:
    def __init__(self, limits: Mapping[str, int], counter: Counter) -> None:
        self._limits = dict(limits)
        self._counter = counter

    async def hit(self, scope: str, identity: str) -> Decision:
        limit = self._limits[scope]
        try:
            count, reset_at = await self._counter.hit(f"{scope}:{identity}")
        except Exception:
            # Fail open: an unreachable Redis must not take the API down with it; health
            # reports it as degraded.
            log.warning("rate limit storage unavailable; allowing %s %s", scope, identity, exc_info=True)
            return Decision(True, limit, limit, int(time.time()) + WINDOW_SECONDS)
        return Decision(
            allowed=count <= limit,
            limit=limit,
            remaining=max(0, limit - count),
            reset_at=int(reset_at + 0.999),
        )
