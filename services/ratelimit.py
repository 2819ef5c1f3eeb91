"""Per-minute rate limits by scope, counted in Redis when configured, else in memory.

The counting is the `limits` library's fixed-window strategy; this module only picks the
storage and turns its window stats into the numbers the response headers need.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

log = logging.getLogger("inkflow.ratelimit")


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


class RateLimiter:
    def __init__(self, limits: Mapping[str, int], redis_url: str | None, prefix: str) -> None:
        storage: Storage
        if redis_url:
            storage = RedisStorage("async+" + redis_url, implementation="redispy", key_prefix=f"{prefix}:rl")
        else:
            storage = MemoryStorage()
        self.backend = "redis" if redis_url else "memory"
        self._storage = storage
        self._strategy = FixedWindowRateLimiter(storage)
        self._items = {scope: RateLimitItemPerMinute(n) for scope, n in limits.items()}

    async def hit(self, scope: str, identity: str) -> Decision:
        item = self._items[scope]
        try:
            allowed = await self._strategy.hit(item, scope, identity)
            stats = await self._strategy.get_window_stats(item, scope, identity)
        except Exception:
            # Fail open: an unreachable Redis must not take the API down with it; health
            # reports it as degraded.
            log.warning("rate limit storage unavailable; allowing %s %s", scope, identity, exc_info=True)
            return Decision(True, item.amount, item.amount, int(time.time()) + 60)
        return Decision(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_at=int(stats.reset_time + 0.999),
        )
