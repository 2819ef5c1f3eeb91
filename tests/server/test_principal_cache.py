"""The per-token principal cache: every change that decides who a token is takes effect on the
very next request, in this process and (PostgreSQL + Redis pass) in another app sharing Redis."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from models.accounts import User
from server.app import create_app
from server.keys import CRYPTO, PRINCIPALS
from services.events import MemoryEventBus
from services.principal import Principal
from services.principal_cache import PrincipalCache
from tests.conftest import BACKEND
from tests.helpers import Api, Caller

ACCOUNT = "/api/v1/auth/account/"
USERS = "/api/v1/auth/users/"
SITES = "/api/v1/auth/sites/"
KEYWORDS = "/api/v1/planner/keywords/"
MODULES = "/api/v1/system/modules/"
ON_REDIS = pytest.mark.skipif(BACKEND != "postgres", reason="needs Redis: runs in the PostgreSQL + Redis pass")


async def _logout(api: Api, owner: Caller, member: Caller, site: dict[str, Any]) -> None:
    await api.call("POST", "/api/v1/auth/logout/", json={}, as_=member)


async def _password(api: Api, owner: Caller, member: Caller, site: dict[str, Any]) -> None:
    payload = {"old_password": member.password, "new_password": "another pass 2"}
    await api.call("POST", "/api/v1/auth/password/change/", json=payload, as_=member)


async def _deactivate(api: Api, owner: Caller, member: Caller, site: dict[str, Any]) -> None:
    await api.call("PUT", f"{USERS}{member.user['id']}/", json={"is_active": False}, as_=owner)


async def _delete(api: Api, owner: Caller, member: Caller, site: dict[str, Any]) -> None:
    await api.call("DELETE", f"{USERS}{member.user['id']}/", as_=owner, status=204)


async def _demote(api: Api, owner: Caller, member: Caller, site: dict[str, Any]) -> None:
    await api.call("PUT", f"{USERS}{member.user['id']}/", json={"role": "viewer"}, as_=owner)


async def _switch_off(api: Api, owner: Caller, member: Caller, site: dict[str, Any]) -> None:
    await api.call("PUT", MODULES, json={"planner": False}, as_=owner)


Change = Callable[[Api, Caller, Caller, dict[str, Any]], Awaitable[None]]
# (the change, then what the member's old token gets: (status, code) on the probe request)
CASES: dict[str, tuple[Change, int, str]] = {
    "logout": (_logout, 401, "invalid_token"),
    "password change": (_password, 401, "invalid_token"),
    "deactivation": (_deactivate, 401, "invalid_token"),
    "deletion": (_delete, 401, "invalid_token"),
    "role change": (_demote, 403, "permission_denied"),
    "module switch": (_switch_off, 403, "module_disabled"),
}


async def _check(changer: Api, reader: Api, name: str) -> None:
    change, status, code = CASES[name]
    owner = await changer.register()
    site = await changer.site(owner)
    member = await changer.member(owner, "admin")
    # The reader resolves (and may cache) the member's principal before the change.
    await reader.call("GET", KEYWORDS, as_=member, params={"site_id": site["id"]})
    await reader.call("PUT", ACCOUNT, json={"name": "Before"}, as_=member)
    await change(changer, owner, member, site)
    if name == "role change":
        body = await reader.call("PUT", ACCOUNT, json={"name": "After"}, as_=member, status=status)
    else:
        body = await reader.call("GET", KEYWORDS, as_=member, params={"site_id": site["id"]}, status=status)
    assert body["code"] == code, body


@pytest.mark.parametrize("name", list(CASES))
async def test_each_change_takes_effect_on_the_very_next_request(api: Api, name: str) -> None:
    await _check(api, api, name)


@ON_REDIS
@pytest.mark.parametrize("name", list(CASES))
async def test_a_change_through_one_app_takes_effect_at_once_in_another(
    aiohttp_client: Any, settings: Any, name: str
) -> None:
    first = Api(await aiohttp_client(create_app(settings, docs=False)))
    second = Api(await aiohttp_client(create_app(settings, docs=False)))
    await _check(first, second, name)


@ON_REDIS
async def test_on_redis_the_principal_is_served_from_the_cache_until_a_change_is_announced(api: Api) -> None:
    """What makes the tests above able to fail: a change that announces nothing (here written
    straight to the table) is not seen while the entry lives."""
    owner = await api.register()
    admin = await api.member(owner, "admin")
    await api.call("PUT", ACCOUNT, json={"name": "Cached"}, as_=admin)
    await User.filter(id=admin.user["id"]).update(role="viewer")
    await api.call("PUT", ACCOUNT, json={"name": "Still cached"}, as_=admin)
    api.client.app[PRINCIPALS].forget(user_id=admin.user["id"])
    await api.call("PUT", ACCOUNT, json={"name": "Seen"}, as_=admin, status=403)


async def test_without_a_shared_bus_nothing_is_cached() -> None:
    """The in-memory bus reaches no other process (and a Redis bus that lost its connection has
    no epoch): every request reads the database."""
    cache = PrincipalCache(MemoryEventBus())
    caller = Principal(kind="user", account_id=1, role="owner", user_id=1, jti="abc")
    cache.put("abc", caller, cache.generation)
    assert cache.get("abc") is None
    cache.close()


async def test_an_answer_read_before_a_drop_is_not_stored() -> None:
    bus = MemoryEventBus()
    bus.epoch = 1  # as if it reached every process
    cache = PrincipalCache(bus)
    caller = Principal(kind="user", account_id=1, role="owner", user_id=1, jti="abc")
    generation = cache.generation
    cache.forget(user_id=1)  # a change lands while the database was being read
    cache.put("abc", caller, generation)
    assert cache.get("abc") is None
    cache.put("abc", caller, cache.generation)
    assert cache.get("abc") == caller
    bus.dispatch_local("system:principals", "principal.changed", {"account_id": 1})
    assert cache.get("abc") is None
    cache.close()


async def test_concurrent_misses_share_one_lookup_but_not_across_a_drop() -> None:
    bus = MemoryEventBus()
    bus.epoch = 1
    cache = PrincipalCache(bus)
    roles = iter(["admin", "viewer"])
    calls = 0
    gate = asyncio.Event()

    async def lookup() -> Principal:
        nonlocal calls
        calls += 1
        role = next(roles)
        await gate.wait()
        return Principal(kind="user", account_id=1, role=role, user_id=1, jti="abc")

    first = [asyncio.ensure_future(cache.resolve("abc", lookup)) for _ in range(5)]
    await asyncio.sleep(0)
    cache.forget(user_id=1)  # the role changed while the first lookup was under way
    after = asyncio.ensure_future(cache.resolve("abc", lookup))
    await asyncio.sleep(0)
    gate.set()
    assert {p.role for p in await asyncio.gather(*first)} == {"admin"}
    assert (await after).role == "viewer"
    assert calls == 2
    assert cache.get("abc") is not None and cache.get("abc").role == "viewer"  # type: ignore[union-attr]
    cache.close()


async def test_while_redis_is_unreachable_nothing_is_cached_and_a_logout_still_works(
    aiohttp_client: Any, make_settings: Any
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = Api(await aiohttp_client(create_app(make_settings(redis_url=f"redis://127.0.0.1:{port}/0"), docs=False)))
    owner = await api.register()
    await api.call("GET", ACCOUNT, as_=owner)
    jti = api.client.app[CRYPTO].read_access(owner.access).jti
    assert api.client.app[PRINCIPALS].get(jti) is None
    # The announcement can't reach Redis: the logout answers anyway and holds at once.
    await api.call("POST", "/api/v1/auth/logout/", json={}, as_=owner)
    await api.call("GET", ACCOUNT, as_=owner, status=401)
