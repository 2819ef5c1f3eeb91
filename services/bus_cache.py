"""A few seconds' memory of what the database said, dropped by events on the shared bus.

The hot paths read a few facts on nearly every call that change rarely (who a token is, an
account's AI settings). A `BusCache` keeps each answer for `ttl` seconds. Whatever changes one
of those facts announces it after its commit (`announce`): the entries go at once in this
process, and the event on the shared bus drops them in every other process as Redis delivers it.

Nothing is cached unless the bus reaches every process and is connected (`RedisEventBus.epoch`):
with the in-memory bus, or while Redis is down, every call reads the database as before. A
reconnect starts from an empty cache, since events published meanwhile were lost. The TTL bounds
what a change made outside the server (a script, a hand edit) can leave behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

from services.events import Event, EventBus

log = logging.getLogger("inkflow.cache")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
MAX_ENTRIES = 20_000


class BusCache(Generic[K, V]):
    """`resolve(key, lookup)`: the remembered value, else `lookup()`'s (shared by concurrent misses).
    Subclasses say which entries an event on `channel` drops (`on_change`)."""

    def __init__(self, bus: EventBus, channel: str, *, ttl: float, max_entries: int = MAX_ENTRIES) -> None:
        self._bus = bus
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._epoch: int | None = None
        # Bumped by every drop: a lookup that started before a drop must not store its answer,
        # which may predate the change.
        self.generation = 0
        self._listener = bus.listen([channel], self.on_change)
        # Lookups under way, by (key, generation): when an entry expires, the calls for that key
        # arriving meanwhile wait for one query instead of each sending its own (a burst of
        # identical queries at every expiry showed as a long latency tail).
        self._pending: dict[tuple[K, int], asyncio.Future[V]] = {}

    def close(self) -> None:
        self._listener.close()
        self._entries.clear()

    def _usable(self) -> bool:
        epoch = self._bus.epoch
        if epoch != self._epoch:
            self._entries.clear()
            self.generation += 1
            self._epoch = epoch
        return epoch is not None

    def get(self, key: K) -> V | None:
        if not self._usable():
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[key]
            return None
        return entry[1]

    async def resolve(self, key: K, lookup: Callable[[], Awaitable[V]]) -> V:
        cached = self.get(key)
        if cached is not None:
            return cached
        pending_key = (key, self.generation)
        pending = self._pending.get(pending_key)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(key, lookup, pending_key[1]))
            self._pending[pending_key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(pending_key, None))
        # Shielded: a caller that gives up (client gone) doesn't cancel the others' lookup.
        return await asyncio.shield(pending)

    async def _lookup(self, key: K, lookup: Callable[[], Awaitable[V]], generation: int) -> V:
        value = await lookup()
        self.put(key, value, generation)
        return value

    def put(self, key: K, value: V, generation: int) -> None:
        """Remember `value` unless something was dropped since `generation` was read."""
        if generation != self.generation or not self._usable():
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()  # bounded; a miss only costs the query
        self._entries[key] = (time.monotonic() + self._ttl, value)

    def drop(self, keys: tuple[K, ...] = (), where: Callable[[V], bool] | None = None) -> None:
        """Forget `keys`, and every entry whose value `where` picks."""
        self.generation += 1
        for key in keys:
            self._entries.pop(key, None)
        if where is not None:
            for key, (_, value) in list(self._entries.items()):
                if where(value):
                    del self._entries[key]

    def on_change(self, event: Event) -> None:
        """An event on the cache's channel: drop what it names."""
        raise NotImplementedError


async def announce(events: EventBus, channel: str, event: str, data: Mapping[str, Any]) -> None:
    """Tell every process's caches on `channel` that something changed (after the commit)."""
    events.dispatch_local(channel, event, data)
    try:
        await events.publish([channel], event, data)
    except Exception:
        # Redis is unreachable: the other processes' readers lose it too and stop caching.
        log.warning("could not announce %s on %s (%s)", event, channel, dict(data), exc_info=True)
