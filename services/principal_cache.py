"""A few seconds' memory of each access token's principal, dropped by bus events.

Resolving a Bearer token reads the user (role, active), the logout deny-list and the module
switches: one database round trip on nearly every request. This process keeps the answer per
token (`jti`) for `ttl` seconds (`services.bus_cache`, which says when nothing is cached).
Whatever changes one of those facts — a logout, a role change, a deactivation or deletion, a
password change, a module switch — calls `announce` after its commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services import bus_cache
from services.events import Event, EventBus
from services.principal import Principal

CHANNEL = "system:principals"  # not a websocket channel kind: no client can subscribe to it
EVENT = "principal.changed"
TTL_S = 3.0


class PrincipalCache(bus_cache.BusCache[str, Principal]):
    def __init__(self, bus: EventBus, ttl: float = TTL_S, max_entries: int = bus_cache.MAX_ENTRIES) -> None:
        super().__init__(bus, CHANNEL, ttl=ttl, max_entries=max_entries)

    def forget(self, *, user_id: int | None = None, account_id: int | None = None, jti: str | None = None) -> None:
        """Drop the token `jti`, and every principal of `user_id` or `account_id`."""
        scoped = user_id is not None or account_id is not None
        self.drop(
            keys=(jti,) if jti is not None else (),
            where=(lambda p: p.user_id == user_id or p.account_id == account_id) if scoped else None,
        )

    def on_change(self, event: Event) -> None:
        if event.event == EVENT:
            self.forget(**_scope(event.data))


def _scope(data: Mapping[str, Any]) -> dict[str, Any]:
    return {name: data.get(name) for name in ("user_id", "account_id", "jti")}


async def announce(
    events: EventBus, *, user_id: int | None = None, account_id: int | None = None, jti: str | None = None
) -> None:
    """Tell every process that principals of this user/account/token changed (after the commit)."""
    await bus_cache.announce(events, CHANNEL, EVENT, {"user_id": user_id, "account_id": account_id, "jti": jti})
