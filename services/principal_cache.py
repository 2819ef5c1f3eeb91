"""A few seconds' memory of each access token's principal, dropped by bus events.

Resolving a Bearer token reads the user (role, active), the logout deny-list and the module
switches: one database round trip on nearly every request. This process keeps the answer per
token (`jti`) for `ttl` seconds. Whatever changes one of those facts — a logout, a role change,
a deactivation or deletion, a password change, a module switch — calls `announce` after its
commit: the entries go at once in this process, and the event on the shared bus drops them in
every other process as Redis delivers it.

Nothing is cached unless the bus reaches every process and is connected (`RedisEventBus.epoch`):
with the in-memory bus, or while Redis is down, every request reads the database as before. A
reconnect starts from an empty cache, since events published meanwhile were lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from services.events import Event, EventBus
from services.principal import Principal

log = logging.getLogger("inkflow.auth")

CHANNEL = "system:principals"  # not a websocket channel kind: no client can subscribe to it
EVENT = "principal.changed"
TTL_S = 3.0
MAX_ENTRIES = 20_000


class PrincipalCache:
    def __init__(self, bus: EventBus, ttl: float = TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self._bus = bus
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._epoch: int | None = None
        # Bumped by every drop: a lookup that started before a drop must not store its answer,
        # which may predate the change.
        self.generation = 0
        self._listener = bus.listen([CHANNEL], self._on_event)
        # Lookups under way, by (jti, generation): when an entry expires, the requests of that
        # token arriving meanwhile wait for one query instead of each sending its own (a burst
        # of identical queries at every expiry showed as a long latency tail).
        self._pending: dict[tuple[str, int], asyncio.Future[Principal]] = {}

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

    def get(self, jti: str) -> Principal | None:
        if not self._usable():
            return None
        entry = self._entries.get(jti)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[jti]
            return None
        return entry[1]

    async def resolve(self, jti: str, lookup: Callable[[], Awaitable[Principal]]) -> Principal:
        """The cached principal of `jti`, or `lookup()`'s, shared with concurrent misses."""
        cached = self.get(jti)
        if cached is not None:
            return cached
        key = (jti, self.generation)
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(lookup, key[1]))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        # Shielded: a waiter that gives up (client gone) doesn't cancel the others' lookup.
        return await asyncio.shield(pending)

    async def _lookup(self, lookup: Callable[[], Awaitable[Principal]], generation: int) -> Principal:
        principal = await lookup()
        self.put(principal, generation)
        return principal

    def put(self, principal: Principal, generation: int) -> None:
        """Remember `principal` unless something was dropped since `generation` was read."""
        if principal.jti is None or generation != self.generation or not self._usable():
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()  # bounded; a miss only costs the query
        self._entries[principal.jti] = (time.monotonic() + self._ttl, principal)

    def drop(self, *, user_id: int | None = None, account_id: int | None = None, jti: str | None = None) -> None:
        self.generation += 1
        if jti is not None:
            self._entries.pop(jti, None)
        if user_id is None and account_id is None:
            return
        for key, (_, principal) in list(self._entries.items()):
            if principal.user_id == user_id or principal.account_id == account_id:
                del self._entries[key]

    def _on_event(self, event: Event) -> None:
        if event.event == EVENT:
            self.drop(**_scope(event.data))


def _scope(data: Mapping[str, Any]) -> dict[str, Any]:
    return {name: data.get(name) for name in ("user_id", "account_id", "jti")}


async def announce(
    events: EventBus, *, user_id: int | None = None, account_id: int | None = None, jti: str | None = None
) -> None:
    """Tell every process that principals of this user/account/token changed (after the commit)."""
    data = {"user_id": user_id, "account_id": account_id, "jti": jti}
    events.dispatch_local(CHANNEL, EVENT, data)
    try:
        await events.publish([CHANNEL], EVENT, data)
    except Exception:
        # Redis is unreachable: the other processes' readers lose it too and stop caching.
        log.warning("could not announce a principal change (user %s, account %s)", user_id, account_id, exc_info=True)
