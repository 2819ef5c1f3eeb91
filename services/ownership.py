"""Leases in Redis: which process owns a site's actor (and the singleton jobs such as the
automation scheduler), with a fencing token per acquisition, and the wake-up channel that hands
work to the owner.

A lease is one key `SET` with an expiry (`PX`) whose value is `<process id>|<token>`; the token
is `INCR` of a per-name counter, so every acquisition of a name gets a larger number than the
last. The owner renews its leases every `ttl / 4`; a process that dies stops renewing and its
leases end after `ttl`, when another process may take them. The token is written on the job
rows the owner claims (`services/jobs.py`): a stale owner whose lease ended writes with a smaller
token than the row holds and is refused (`LeaseLost`), so no item is committed or charged by
two processes even when a paused, partitioned or dying process does not know it lost the lease.

Acquire, renew and release are Lua scripts, each one atomic step in Redis. Only Redis's own
expiry decides who may own what: there is no election of our own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("inkflow.ownership")

# The token an actor claims with while this process does not hold the site's lease: tokens
# start at 1 and rows at 0, so a claim with it never succeeds (`fence <= -1` matches nothing).
NOT_OWNED = -1

# KEYS[1] the lease, KEYS[2] the name's token counter; ARGV[1] this process, ARGV[2] the ttl in
# ms, ARGV[3] the largest token the database has seen for the name (so a counter lost with a
# Redis restart without persistence still hands out tokens above every row's). Returns the
# token held (a new one, or ours again), 0 when another process holds the lease.
_ACQUIRE_LUA = """
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, '|', 1, true)
  if sep and string.sub(current, 1, sep - 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(current, sep + 1))
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if token <= floor then
  token = floor + 1
  redis.call('SET', KEYS[2], token)
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return token
"""
# KEYS[1] the lease; ARGV[1] the value we set, ARGV[2] the ttl in ms. 1 renewed, 0 lost.
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
# KEYS[1] the lease; ARGV[1] the value we set. Deletes only our own lease.
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseLost(Exception):
    """This process no longer owns what it was writing for: a newer owner's token is on the row."""


def process_id() -> str:
    """Unique per process and readable in health: host, pid and a random tail (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Leases:
    """The leases this process holds in one Redis, renewed in the background.

    `degraded` is set while Redis does not answer: no lease is taken then, and once the leases
    held may have expired (`ttl` after the last renewal that worked) they all count as lost."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        ttl: float,
        owner: str | None = None,
        on_lost: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_ms = int(ttl * 1000)
        self.owner = owner or process_id()
        self.on_lost = on_lost
        self.held: dict[str, int] = {}  # lease name -> token
        self.degraded = False
        self.problems: list[str] = []  # the latest few, for health
        self._last_ok = time.monotonic()
        self._acquire = redis.register_script(_ACQUIRE_LUA)
        self._renew = redis.register_script(_RENEW_LUA)
        self._release = redis.register_script(_RELEASE_LUA)

    def _key(self, name: str) -> str:
        return f"{self.prefix}:lease:{name}"

    def _counter(self, name: str) -> str:
        return f"{self.prefix}:fence:{name}"

    def _value(self, name: str) -> str:
        return f"{self.owner}|{self.held[name]}"

    def _problem(self, text: str) -> None:
        self.problems = [*self.problems[-4:], f"{time.strftime('%H:%M:%S')} {text}"]

    def token(self, name: str) -> int:
        return self.held.get(name, NOT_OWNED)

    def holds(self, name: str) -> bool:
        return name in self.held

    async def acquire(self, name: str, floor: int = 0) -> int | None:
        """Take the lease of `name` if it is free (or ours): its token, else None. Never while degraded."""
        if self.degraded:
            return None
        try:
            token = int(
                await self._acquire(keys=[self._key(name), self._counter(name)], args=[self.owner, self.ttl_ms, floor])
            )
        except Exception as exc:  # Redis down: say so, take nothing
            self._down(exc)
            return None
        if not token:
            return None
        if self.held.get(name) not in (None, token):
            log.warning("lease %s: token moved from %s to %s", name, self.held[name], token)
        self.held[name] = token
        return token

    async def owner_of(self, name: str) -> str | None:
        value = await self.redis.get(self._key(name))
        if value is None:
            return None
        return (value.decode() if isinstance(value, bytes) else str(value)).rpartition("|")[0]

    async def owners(self, names: list[str]) -> list[str | None]:
        """The process holding each lease (None: free; "?" when Redis does not answer), in one round trip."""
        if not names:
            return []
        try:
            values = await self.redis.mget([self._key(name) for name in names])
        except Exception as exc:  # unknown owners: take nothing
            self._down(exc)
            return ["?"] * len(names)
        return [
            None if v is None else (v.decode() if isinstance(v, bytes) else str(v)).rpartition("|")[0] for v in values
        ]

    async def release(self, name: str) -> None:
        """Give the lease up now (graceful stop, idle actor): another process may take it at once."""
        if name not in self.held:
            return
        value = self._value(name)
        del self.held[name]
        try:
            await self._release(keys=[self._key(name)], args=[value])
        except Exception as exc:  # it expires by itself after ttl
            self._down(exc)

    async def renew_all(self) -> None:
        """Renew every lease held in one round trip; report the ones lost, and whether Redis answers."""
        names = list(self.held)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in names:
                    await self._renew(keys=[self._key(name)], args=[self._value(name), self.ttl_ms], client=pipe)
                results = await pipe.execute() if names else []
            if not names:
                await self.redis.ping()
        except Exception as exc:
            self._down(exc)
            if time.monotonic() - self._last_ok >= self.ttl_ms / 1000:
                # Past the ttl the leases may be someone else's: stop acting on any of them.
                for name in list(self.held):
                    await self._lose(name, "not renewed within the lease time (Redis unreachable)")
            return
        self._last_ok = time.monotonic()
        if self.degraded:
            log.warning("leases: Redis is reachable again; taking ownership again")
            self._problem("Redis reachable again")
            self.degraded = False
        for name, renewed in zip(names, results, strict=True):
            if not renewed and self.held.get(name) is not None:
                await self._lose(name, "renewal refused: another process holds it now")

    def _down(self, exc: BaseException) -> None:
        if not self.degraded:
            log.warning("leases: lost Redis (%s); taking no ownership until it is back", exc)
            self._problem(f"Redis unreachable: {type(exc).__name__}")
        self.degraded = True

    async def _lose(self, name: str, why: str) -> None:
        self.held.pop(name, None)
        log.warning("lease %s lost: %s", name, why)
        self._problem(f"lost {name}: {why}")
        if self.on_lost is not None:
            await self.on_lost(name)

    async def release_all(self) -> list[str]:
        names = list(self.held)
        for name in names:
            await self.release(name)
        return names

    def health(self) -> dict[str, Any]:
        return {
            "process": self.owner,
            "leases": sorted(self.held),
            "degraded": self.degraded,
            "lease_ttl_s": self.ttl_ms / 1000,
            "problems": list(self.problems),
        }


class WakeChannel:
    """One Redis pub/sub channel over which processes hand each other work by id: `{"site": 3,
    "message": "submit", "job_id": 12}` wakes the owner of site 3; `{"released": [...]}` says a
    process gave leases up (others look for work to take at once). The durable half is the job
    row: a wake-up that reaches nobody (the owner just died) is made good by the next sweep."""

    def __init__(self, redis: Redis, prefix: str, handle: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self.redis = redis
        self.channel = f"{prefix}:wake"
        self.handle = handle
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Not waiting for the subscription: a wake-up missed meanwhile is made good by the sweep.
        self._task = asyncio.create_task(self._read(), name="wake-channel")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # Bounded: a connection stuck closing must not hold the process's shutdown.
            await asyncio.wait({self._task}, timeout=5)

    async def send(self, message: dict[str, Any]) -> bool:
        """Publish; False when Redis is unreachable (the job row stays for the sweep)."""
        try:
            await self.redis.publish(self.channel, orjson.dumps(message))
        except Exception as exc:
            log.warning("wake channel: could not publish (%s)", exc)
            return False
        return True

    async def _read(self) -> None:
        delay = 0.1
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        await self.handle(orjson.loads(message["data"]))
                    except Exception:  # one bad message must not end the reader
                        log.exception("wake channel: handling %r failed", message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("wake channel: reconnecting (%s)", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
