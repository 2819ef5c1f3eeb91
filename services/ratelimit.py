"""Per-minute rate limits by scope: fixed windows counted in Redis when configured (shared by
every process), in memory otherwise.

While Redis is unreachable the limits are counted in this process's memory instead (so they
still hold, per process), Redis is tried again every few seconds, and the log says once that it
went away and once that it came back; health reports `degraded` meanwhile.

In memory the counting is the `limits` library's storage. In Redis it is one Lua script, so a
hit costs one round trip: the `limits` strategy needs three (increment, read, expiry), and this
runs on every request. One call of that script is in flight at a time: the hits that reach the
limiter meanwhile (or in the same turn of the event loop) go together in the next call, each key
still counted exactly, atomically. Under load one command and one reply serve many requests, and
a hit waits at most for the call in flight before its own.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from limits.aio.storage import MemoryStorage
from redis.asyncio import Redis

from services.batching import Batcher
from services.redis_calls import SerialScript

log = logging.getLogger("inkflow.ratelimit")
WINDOW_SECONDS = 60
# While the shared storage is down, how long to count in memory before trying it again, and how
# long one try may take (a hit is one round trip; an unreachable host must not stall requests).
RETRY_SECONDS = 5.0
STORAGE_TIMEOUT = 2.0

# KEYS: the counters (one per hit, a key may repeat); ARGV[1]: the window in ms. Returns per
# hit, flat: count, ms until the window resets.
HIT_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
  out[2 * i - 1] = count
  out[2 * i] = redis.call('PTTL', key)
end
return out
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    resets: float  # Unix time when the window frees up

    @property
    def reset_at(self) -> int:
        """`resets` in whole seconds, rounded up: no earlier than the window frees."""
        return math.ceil(self.resets)

    @property
    def retry_after(self) -> int:
        # From the exact time: whole seconds on both sides would say 61 for a 60 s window hit
        # twice within one second.
        return max(1, math.ceil(self.resets - time.time()))

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

    async def close(self) -> None: ...


class MemoryCounter:
    def __init__(self) -> None:
        self._storage = MemoryStorage()

    async def hit(self, key: str) -> tuple[int, float]:
        count = await self._storage.incr(key, WINDOW_SECONDS)
        return count, await self._storage.get_expiry(key)

    async def close(self) -> None:
        """Nothing to let go of: the counts are this process's memory."""


class RedisCounter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._script = SerialScript(redis, HIT_SCRIPT)
        self._prefix = f"{prefix}:rl:"
        # Bounded like each hit, so a stalled Redis leaves no batch behind.
        self._hits: Batcher[str, tuple[int, float]] = Batcher(self._run, timeout=STORAGE_TIMEOUT)

    async def hit(self, key: str) -> tuple[int, float]:
        return await self._hits.submit(self._prefix + key)

    async def _run(self, keys: list[str]) -> list[tuple[int, float]]:
        flat = await self._script(keys=keys, args=[WINDOW_SECONDS * 1000])
        now = time.time()
        return [(int(flat[2 * i]), now + max(0, int(flat[2 * i + 1])) / 1000) for i in range(len(keys))]

    async def close(self) -> None:
        await self._script.close()


class RateLimiter:
    def __init__(self, limits: Mapping[str, int], counter: Counter, *, retry_seconds: float = RETRY_SECONDS) -> None:
        self._limits = dict(limits)
        self._counter = counter
        self._fallback = MemoryCounter()
        self._retry_seconds = retry_seconds
        # Monotonic time until which `counter` is not tried; None while it answers.
        self._down_until: float | None = None

    async def close(self) -> None:
        await self._counter.close()

    async def hit(self, scope: str, identity: str) -> Decision:
        limit = self._limits[scope]
        count, resets = await self._count(f"{scope}:{identity}")
        return Decision(allowed=count <= limit, limit=limit, remaining=max(0, limit - count), resets=resets)

    async def _count(self, key: str) -> tuple[int, float]:
        if self._down_until is not None and time.monotonic() < self._down_until:
            return await self._fallback.hit(key)
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps the call in a new
            # task, a cost on every request.
            async with asyncio.timeout(STORAGE_TIMEOUT):
                result = await self._counter.hit(key)
        except Exception as exc:  # any failure of the storage: count here rather than fail the request
            if self._down_until is None:
                log.warning(
                    "rate limit storage unreachable (%s); counting in this process until it is back",
                    f"{type(exc).__name__}: {exc}",
                )
                log.debug("rate limit storage failure", exc_info=exc)
            self._down_until = time.monotonic() + self._retry_seconds
            return await self._fallback.hit(key)
        if self._down_until is not None:
            self._down_until = None
            log.warning("rate limit storage is back; counting in it again")
        return result
