"""The per-site keyword tally (`keyword_tally`, kept by database triggers) behind the plan's
keywords-per-site limit and the billing page's usage: every path that adds or removes keywords
keeps it equal to the site's real count, on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from tortoise.functions import Sum

from config.settings import DEFAULT_RATE_LIMITS, PlanLimits
from models.planner import Keyword, KeywordTally
from server.app import create_app
from services.planner import ROOM_LOCK
from tests.conftest import BACKEND
from tests.helpers import Api, Caller

KEYWORDS = "/api/v1/planner/keywords/"


async def _tally(site_id: int) -> int:
    rows = await KeywordTally.filter(site_id=site_id).annotate(total=Sum("n")).values_list("total", flat=True)
    return int(rows[0] or 0) if rows else 0


async def _agrees(site_id: int) -> int:
    """The tally of `site_id`, checked against a real count."""
    tally = await _tally(site_id)
    assert tally == await Keyword.filter(site_id=site_id).count()
    return tally


async def _usage(api: Api, owner: Caller) -> int:
    body = await api.call("GET", "/api/v1/billing/usage/limits/", as_=owner)
    return int(body["data"]["usage"]["keywords_per_site"])


async def _add(api: Api, owner: Caller, site_id: int, keyword: str, status: int = 201) -> dict[str, Any]:
    return await api.call("POST", KEYWORDS, json={"site_id": site_id, "keyword": keyword}, as_=owner, status=status)


async def test_every_path_that_adds_or_removes_keywords_keeps_the_tally(api: Api) -> None:
    owner = await api.register()
    site, other = await api.site(owner), await api.site(owner)
    made = [(await _add(api, owner, site["id"], f"kw {n}"))["data"]["id"] for n in range(4)]
    await _add(api, owner, other["id"], "elsewhere")
    assert await _agrees(site["id"]) == 4 and await _agrees(other["id"]) == 1
    assert await _usage(api, owner) == 4

    seeds = (await api.call("GET", "/api/v1/auth/seed-keywords/", as_=owner, params={"page_size": 3}))["results"]
    body = {"site_id": site["id"], "seed_keyword_ids": [seed["id"] for seed in seeds]}
    await api.call("POST", f"{KEYWORDS}add_to_workflow/", json=body, as_=owner, status=201)
    assert await _agrees(site["id"]) == 7

    await api.call("DELETE", f"{KEYWORDS}{made[0]}/", as_=owner, status=204)
    result = await api.call("POST", f"{KEYWORDS}bulk_delete/", json={"ids": made[1:3]}, as_=owner)
    assert result["data"] == {"deleted": 2, "not_found": []}
    assert await _agrees(site["id"]) == 4 and await _agrees(other["id"]) == 1
    assert await _usage(api, owner) == 4

    # A failed write (duplicate) counts nothing.
    await _add(api, owner, site["id"], "KW 3", status=409)
    assert await _agrees(site["id"]) == 4

    # A deleted site takes its tally with it: a site made afterwards starts from nothing (SQLite
    # may hand the new site the old one's id).
    await api.call("DELETE", f"/api/v1/auth/sites/{site['id']}/", as_=owner, status=204)
    assert await KeywordTally.filter(site_id=site["id"]).count() == 0
    fresh = await api.site(owner)
    assert await _agrees(fresh["id"]) == 0 and await _usage(api, owner) == 1


async def test_the_plan_limit_follows_the_tally_down_as_well_as_up(aiohttp_client: Any, make_settings: Any) -> None:
    api = Api(await aiohttp_client(create_app(make_settings(plan=PlanLimits(keywords_per_site=3)), docs=False)))
    owner = await api.register()
    site = await api.site(owner)
    ids = [(await _add(api, owner, site["id"], f"kw {n}"))["data"]["id"] for n in range(3)]
    full = await _add(api, owner, site["id"], "one too many", status=403)
    assert full["code"] == "plan_limit"
    await api.call("POST", f"{KEYWORDS}bulk_delete/", json={"ids": ids[:2]}, as_=owner)
    await _add(api, owner, site["id"], "room again")
    await _add(api, owner, site["id"], "and again")
    await _add(api, owner, site["id"], "no more", status=403)
    assert await _agrees(site["id"]) == 3


async def test_concurrent_writes_to_one_site_are_all_counted(api: Api) -> None:
    # On PostgreSQL the writes land on several connections, so on several stripes of the tally.
    owner = await api.register()
    site = await api.site(owner)
    await asyncio.gather(*(_add(api, owner, site["id"], f"parallel {n}") for n in range(24)))
    assert await _agrees(site["id"]) == 24


async def test_concurrent_adds_at_the_last_free_places_fill_them_and_no_more(
    aiohttp_client: Any, make_settings: Any
) -> None:
    limits = {**DEFAULT_RATE_LIMITS, "content": 1000}  # over a hundred writes in a few seconds
    settings = make_settings(plan=PlanLimits(keywords_per_site=6), rate_limits=limits)
    api = Api(await aiohttp_client(create_app(settings, docs=False)))
    owner = await api.register()
    seeds = (await api.call("GET", "/api/v1/auth/seed-keywords/", as_=owner, params={"page_size": 2}))["results"]

    # A race is won or lost by timing: three rounds, each on a site of its own, so that code
    # without the room lock is caught in nearly every run (one round alone missed 1 in 4).
    for _ in range(3):
        site = (await api.site(owner))["id"]
        for n in range(3):
            await _add(api, owner, site, f"kw {n}")
        body = {"site_id": site, "name": "c"}
        cluster = (await api.call("POST", "/api/v1/planner/clusters/", json=body, as_=owner, status=201))["data"]

        async def post(path: str, body: dict[str, Any], site: int = site) -> int:
            response = await api.client.post(path, json={"site_id": site, **body}, headers=owner.headers)
            return response.status

        # Every way of adding, all at once: single keywords, keywords joining a cluster, a bulk add.
        tries = [post(KEYWORDS, {"keyword": f"new {n}"}) for n in range(30)]
        tries += [post(KEYWORDS, {"keyword": f"clustered {n}", "cluster_id": cluster["id"]}) for n in range(4)]
        tries.append(post(f"{KEYWORDS}add_to_workflow/", {"seed_keyword_ids": [seed["id"] for seed in seeds]}))
        statuses = await asyncio.gather(*tries)
        assert set(statuses) == {201, 403}, statuses
        assert await _agrees(site) == 6  # the three free places taken, none more
        added = 3 - 2 * (statuses[-1] == 201)
        assert statuses[:-1].count(201) == added, statuses


@pytest.mark.skipif(BACKEND != "postgres", reason="the room function is PostgreSQL's (migration 9)")
async def test_the_one_statement_add_waits_for_an_exclusive_add_and_counts_what_it_committed(
    api: Api, database_url: str
) -> None:
    owner = await api.register()
    site = (await api.site(owner))["id"]
    dsn = database_url.replace("postgres://", "postgresql://", 1)
    holder, asker, other = [await asyncpg.connect(dsn) for _ in range(3)]
    try:
        margin = int(await holder.fetchval("SHOW max_connections"))
        limit = margin + 5  # room for 5 adds by the one statement on an empty site
        room = 'SELECT "keyword_room_shared"($1, $2)'

        # Shared holders don't wait for each other: the hot path isn't serialised.
        async with holder.transaction():
            assert await holder.fetchval(room, site, limit) is True
            await other.execute("SET statement_timeout = '2s'")
            assert await other.fetchval(room, site, limit) is True

        # An exclusive add that fills the room: the question asked meanwhile waits for its commit
        # and counts what it added, though the add committed after the question was asked.
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1, $2)", ROOM_LOCK, site)
            await holder.execute(
                """INSERT INTO keyword (created_at, updated_at, keyword, keyword_key, volume, difficulty, intent,
                                        status, account_id, site_id)
                   SELECT now(), now(), 'k' || n, 'k' || n, 0, 0, '', 'new', $1, $2 FROM generate_series(1, 5) n""",
                owner.account["id"],
                site,
            )
            asked = asyncio.create_task(asker.fetchval(room, site, limit))
            await asyncio.sleep(0.3)
            assert not asked.done()  # held by the exclusive lock
        assert await asyncio.wait_for(asked, 5) is False
    finally:
        for conn in (holder, asker, other):
            await conn.close()
