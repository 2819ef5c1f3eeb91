"""Planner rules: keyword normalisation and uniqueness, cluster totals, bulk operations."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count, Sum
from tortoise.transactions import in_transaction

from config.settings import Settings
from models.accounts import Site, SiteSector
from models.db import raw_query, save_changes
from models.planner import Cluster, ContentIdea, Keyword
from models.reference import SeedKeyword
from models.writer import Task
from services.errors import Duplicate, PlanLimit, ValidationFailed
from services.principal import Principal
from services.security import utcnow
from services.tenancy import site_or_400, split_owned

SPACES = re.compile(r"\s+")


def normalise_keyword(text: str) -> str:
    return SPACES.sub(" ", text).strip()


async def sector_or_400(caller: Principal, site_id: int, sector_id: int | None) -> None:
    if sector_id is not None and not await SiteSector.exists(
        id=sector_id, site_id=site_id, account_id=caller.account_id
    ):
        raise ValidationFailed("Sector not found on this site.", errors={"sector_id": ["Sector not found."]})


async def cluster_or_400(caller: Principal, site_id: int, cluster_id: int | None) -> None:
    if cluster_id is not None and not await Cluster.exists(
        id=cluster_id, site_id=site_id, account_id=caller.account_id
    ):
        raise ValidationFailed("Cluster not found on this site.", errors={"cluster_id": ["Cluster not found."]})


async def recount_clusters(cluster_ids: Iterable[int | None]) -> None:
    """Recompute `keywords_count` and `volume` of the given clusters from their keywords."""
    ids = {cid for cid in cluster_ids if cid is not None}
    if not ids:
        return
    totals = {
        row["cluster_id"]: row
        for row in await Keyword.filter(cluster_id__in=ids)
        .annotate(n=Count("id"), total=Sum("volume"))
        .group_by("cluster_id")
        .values("cluster_id", "n", "total")
    }
    for cid in ids:
        row = totals.get(cid, {})
        await Cluster.filter(id=cid).update(keywords_count=row.get("n") or 0, volume=row.get("total") or 0)


async def check_refs(caller: Principal, site_id: int, data: dict[str, Any]) -> None:
    """The `sector_id` and `cluster_id` given in `data` must be of this site (400 otherwise)."""
    if "sector_id" in data:
        await sector_or_400(caller, site_id, data["sector_id"])
    if "cluster_id" in data:
        await cluster_or_400(caller, site_id, data["cluster_id"])


async def site_and_refs_or_400(caller: Principal, data: dict[str, Any]) -> Site:
    """The body's site, with its sector and cluster ids checked against it."""
    site = await site_or_400(caller, data["site_id"])
    await check_refs(caller, site.id, data)
    return site


# --- keywords ----------------------------------------------------------------------------------


def _keywords_of(site: str) -> str:
    """SQL for how many keywords the site `site` (a column or a parameter) has: the sum of its
    `keyword_tally` rows, which triggers keep (see KeywordTally)."""
    return f'(SELECT coalesce(sum(t."n"), 0) FROM "keyword_tally" t WHERE t."site_id" = {site})'


async def keywords_of_site(site_id: int) -> int:
    rows = await raw_query(f'SELECT {_keywords_of("{0}")} AS "n"', [site_id])
    return int(rows[0]["n"])


async def keywords_of_fullest_site(account_id: int) -> int:
    """The most keywords any one of the account's sites has (0 without sites)."""
    sql = f'SELECT coalesce(max({_keywords_of("s.id")}), 0) AS "n" FROM "site" s WHERE s."account_id" = {{0}}'
    rows = await raw_query(sql, [account_id])
    return int(rows[0]["n"])


async def _check_keyword_room(settings: Settings, site_id: int, adding: int) -> None:
    limit = settings.plan.keywords_per_site
    if await keywords_of_site(site_id) + adding > limit:
        raise PlanLimit(f"The plan allows {limit} keywords per site.")


# The plan's keywords per site hold exactly under concurrent writes. On PostgreSQL a single new
# keyword goes in with one statement that asks `keyword_room_shared` (migration 9): it holds the
# site's room lock in shared mode, so these adds don't wait for each other and the hot path isn't
# serialised, counts with a fresh snapshot and keeps a margin of one keyword per connection for the
# shared adds in flight beside it. Every other add (within that margin of the limit, with a
# cluster or sector, in bulk) takes the lock exclusively in a transaction, which waits for the
# adds in flight and holds off new ones until it commits, and counts after taking it. On SQLite
# the transaction holds the only connection, which serialises every write.
ROOM_LOCK = 27511  # the advisory lock's class, "a site's keyword room", as in migration 9; the object: the site id


@contextlib.asynccontextmanager
async def _keyword_room(settings: Settings, caller: Principal, site_id: int) -> AsyncIterator[None]:
    """A transaction in which the site's keyword count is exact until it commits (the lock is
    taken only on a site of the caller's account)."""
    async with in_transaction():
        if settings.is_postgres:
            sql = 'SELECT pg_advisory_xact_lock({0}, s."id") FROM "site" s WHERE s."id" = {1} AND s."account_id" = {2}'
            await raw_query(sql, [ROOM_LOCK, site_id, caller.account_id])
        yield


# What a new keyword needs checked, in one round trip: the site is the caller's, the keyword is
# not already there, and how many keywords the site has.
NEW_KEYWORD_SQL = (
    """
SELECT s.id,
       EXISTS (SELECT 1 FROM keyword k WHERE k.site_id = {0} AND k.keyword_key = {1}) AS duplicate,
       """
    + _keywords_of("s.id")
    + """ AS taken
FROM site s
WHERE s.id = {0} AND s.account_id = {2}
"""
)


# PostgreSQL: a new keyword that refers to no cluster or sector, in one statement. The row goes
# in only if the site is the caller's and has room beyond the margin (above), and not if the site
# has the keyword already; no row back means one of those failed, and `create_keyword`'s checks,
# under the exclusive lock, then say which or add it. (Typed parameters: PostgreSQL doesn't take
# the types of `INSERT … SELECT`'s values from the columns.)
INSERT_KEYWORD_SQL = """
INSERT INTO "keyword" ("created_at", "updated_at", "keyword", "keyword_key", "volume", "difficulty", "intent",
                       "status", "account_id", "site_id")
SELECT {0}::timestamptz, {0}::timestamptz, {1}::varchar, {2}::varchar, {3}::int, {4}::smallint,
       {5}::varchar, {6}::varchar, s."account_id", s."id"
FROM "site" s
WHERE s."id" = {7} AND s."account_id" = {8} AND "keyword_room_shared"(s."id", {9})
ON CONFLICT ("site_id", "keyword_key") DO NOTHING
RETURNING *
"""
# What the statement above writes, besides the site and the account.
INSERT_KEYWORD_FIELDS = ("keyword", "keyword_key", "volume", "difficulty", "intent", "status")


async def _insert_keyword(caller: Principal, site_id: int, values: dict[str, Any], limit: int) -> Keyword | None:
    rows = await raw_query(
        INSERT_KEYWORD_SQL,
        [utcnow(), *(values[name] for name in INSERT_KEYWORD_FIELDS), site_id, caller.account_id, limit],
    )
    return Keyword._init_from_db(**rows[0]) if rows else None


async def create_keyword(settings: Settings, caller: Principal, data: dict[str, Any]) -> Keyword:
    site_id: int = data["site_id"]
    text = normalise_keyword(data.pop("keyword"))
    key = text.lower()
    limit = settings.plan.keywords_per_site
    if data.get("status") is None:
        data["status"] = "new" if data.get("cluster_id") is None else "mapped"
    plain = data.get("cluster_id") is None and data.get("sector_id") is None
    if text and plain and caller.site_id in (None, site_id) and settings.is_postgres:
        values = {"keyword": text, "keyword_key": key, **data}
        if (keyword := await _insert_keyword(caller, site_id, values, limit)) is not None:
            return keyword
    if caller.site_id is not None and caller.site_id != site_id:
        raise ValidationFailed("Site not found.", errors={"site_id": ["Site not found."]})
    async with _keyword_room(settings, caller, site_id):
        rows = await raw_query(NEW_KEYWORD_SQL, [site_id, key, caller.account_id])
        # The same answers, in the same order, as site_and_refs_or_400 and the checks after it.
        if not rows:
            raise ValidationFailed("Site not found.", errors={"site_id": ["Site not found."]})
        await check_refs(caller, site_id, data)
        if not text:
            raise ValidationFailed("The keyword is empty.", errors={"keyword": ["Must not be blank."]})
        if rows[0]["duplicate"]:
            raise Duplicate("The site already has this keyword.", errors={"keyword": ["Already exists on this site."]})
        if rows[0]["taken"] + 1 > limit:
            raise PlanLimit(f"The plan allows {limit} keywords per site.")
        try:
            keyword = await Keyword.create(account_id=caller.account_id, keyword=text, keyword_key=key, **data)
        except IntegrityError:
            raise Duplicate("The site already has this keyword.") from None
    await recount_clusters([keyword.cluster_id])
    return keyword


async def update_keyword(caller: Principal, keyword: Keyword, data: dict[str, Any]) -> Keyword:
    site_id: int = keyword.site_id
    await check_refs(caller, site_id, data)
    if "keyword" in data:
        text = normalise_keyword(data.pop("keyword"))
        if not text:
            raise ValidationFailed("The keyword is empty.", errors={"keyword": ["Must not be blank."]})
        if await Keyword.filter(site_id=site_id, keyword_key=text.lower()).exclude(id=keyword.id).exists():
            raise Duplicate("The site already has this keyword.", errors={"keyword": ["Already exists on this site."]})
        data.update(keyword=text, keyword_key=text.lower())
    old_cluster = keyword.cluster_id
    joins_or_leaves = "cluster_id" in data and data["cluster_id"] != old_cluster
    # A status sent back unchanged (a GET → PUT round trip) is no choice; only a new one wins.
    if joins_or_leaves and data.get("status", keyword.status) == keyword.status:
        data["status"] = "new" if data["cluster_id"] is None else "mapped"
    try:
        await save_changes(keyword, data)
    except IntegrityError:
        raise Duplicate("The site already has this keyword.") from None
    await recount_clusters([old_cluster, keyword.cluster_id])
    return keyword


async def delete_keyword(keyword: Keyword) -> None:
    cluster_id = keyword.cluster_id
    await keyword.delete()
    await recount_clusters([cluster_id])


async def _split_ids(caller: Principal, ids: list[int]) -> tuple[list[int], list[int]]:
    """(the caller's keyword ids among `ids`, the rest) — others' ids are only 'not found'."""
    keywords, missing = await split_owned(Keyword, caller, ids)
    return [keyword.id for keyword in keywords], missing


async def bulk_delete(caller: Principal, ids: list[int]) -> dict[str, Any]:
    found, missing = await _split_ids(caller, ids)
    async with in_transaction():
        clusters = cast(
            "list[int | None]", await Keyword.filter(id__in=found).distinct().values_list("cluster_id", flat=True)
        )
        # Counted from RETURNING: SQLite's change count through Tortoise includes the rows the
        # keyword_tally trigger changes.
        marks = ",".join(f"{{{n}}}" for n in range(len(found)))
        deleted = (
            await raw_query(f'DELETE FROM "keyword" WHERE "id" IN ({marks}) RETURNING "id"', found) if found else []
        )
        await recount_clusters(clusters)
    return {"deleted": len(deleted), "not_found": missing}


async def bulk_status(caller: Principal, ids: list[int], status: str) -> dict[str, Any]:
    found, missing = await _split_ids(caller, ids)
    updated = await Keyword.filter(id__in=found).update(status=status)
    return {"updated": updated, "not_found": missing}


async def add_to_workflow(settings: Settings, caller: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """Copy seed keywords into a site; ones the site already has are skipped."""
    site = await site_and_refs_or_400(caller, data)
    wanted = list(dict.fromkeys(data["seed_keyword_ids"]))
    seeds = {seed.id: seed for seed in await SeedKeyword.filter(id__in=wanted)}
    missing = [i for i in wanted if i not in seeds]
    keys = [s.keyword.lower() for s in seeds.values()]
    rows: list[Keyword] = []
    # The site's keywords read inside the room: an add of the same seeds running beside this one
    # has committed by then, and its keywords are skipped here rather than inserted twice (a
    # unique violation: a 500).
    async with _keyword_room(settings, caller, site.id):
        existing = cast(
            "list[str]",
            await Keyword.filter(site_id=site.id, keyword_key__in=keys).values_list("keyword_key", flat=True),
        )
        seen = set(existing)
        for seed_id in wanted:
            seed = seeds.get(seed_id)
            if seed is None or seed.keyword.lower() in seen:
                continue
            seen.add(seed.keyword.lower())
            rows.append(
                Keyword(
                    account_id=caller.account_id,
                    site_id=site.id,
                    sector_id=data.get("sector_id"),
                    seed_keyword_id=seed.id,
                    keyword=seed.keyword,
                    keyword_key=seed.keyword.lower(),
                    volume=seed.volume,
                    difficulty=seed.difficulty,
                    intent=seed.intent,
                )
            )
        await _check_keyword_room(settings, site.id, len(rows))
        await Keyword.bulk_create(rows)
    created_ids = await Keyword.filter(site_id=site.id, keyword_key__in=[row.keyword_key for row in rows]).values_list(
        "id", flat=True
    )
    return {
        "created": len(rows),
        "skipped": len(seeds) - len(rows),
        "keyword_ids": sorted(created_ids),
        "not_found": missing,
    }


# --- clusters ----------------------------------------------------------------------------------


async def create_cluster(caller: Principal, data: dict[str, Any]) -> Cluster:
    site = await site_and_refs_or_400(caller, data)
    name = normalise_keyword(data.pop("name"))
    if await Cluster.exists(site_id=site.id, name_key=name.lower()):
        raise Duplicate("The site already has a cluster with this name.", errors={"name": ["Already exists."]})
    try:
        return await Cluster.create(account_id=caller.account_id, name=name, name_key=name.lower(), **data)
    except IntegrityError:
        raise Duplicate("The site already has a cluster with this name.") from None


async def update_cluster(caller: Principal, cluster: Cluster, data: dict[str, Any]) -> Cluster:
    site_id: int = cluster.site_id
    await check_refs(caller, site_id, data)
    taken = Duplicate("The site already has a cluster with this name.", errors={"name": ["Already exists."]})
    if "name" in data:
        name = normalise_keyword(data.pop("name"))
        if await Cluster.filter(site_id=site_id, name_key=name.lower()).exclude(id=cluster.id).exists():
            raise taken
        data.update(name=name, name_key=name.lower())
    try:
        return await save_changes(cluster, data)
    except IntegrityError:  # the name given to another cluster at the same time, after the check
        if "name_key" in data and await Cluster.filter(site_id=site_id, name_key=data["name_key"]).exists():
            raise taken from None
        raise


async def delete_cluster(cluster: Cluster) -> None:
    """Its keywords stay, unmapped."""
    async with in_transaction():
        await Keyword.filter(cluster_id=cluster.id, status="mapped").update(status="new", cluster_id=None)
        await cluster.delete()


# --- ideas -------------------------------------------------------------------------------------


async def create_idea(caller: Principal, data: dict[str, Any]) -> ContentIdea:
    await site_and_refs_or_400(caller, data)
    return await ContentIdea.create(account_id=caller.account_id, **data)


async def update_idea(caller: Principal, idea: ContentIdea, data: dict[str, Any]) -> ContentIdea:
    await check_refs(caller, idea.site_id, data)
    return await save_changes(idea, data)


async def create_tasks(caller: Principal, ids: list[int]) -> dict[str, Any]:
    """One writing task per new idea; the ideas become `queued`."""
    ideas, missing = await split_owned(ContentIdea, caller, ids)
    task_ids = []
    async with in_transaction():
        # The new ones as they are now, locked until the commit: an idea another request is
        # turning into a task at the same time is skipped here, not given a second task.
        locked = {
            idea.id: idea
            for idea in await ContentIdea.filter(id__in=[idea.id for idea in ideas], status="new").select_for_update()
        }
        fresh = [locked[idea.id] for idea in ideas if idea.id in locked]
        for idea in fresh:
            task = await Task.create(
                account_id=idea.account_id,
                site_id=idea.site_id,
                sector_id=idea.sector_id,
                cluster_id=idea.cluster_id,
                idea_id=idea.id,
                title=idea.title,
                brief="\n".join(
                    f"{section.get('heading', '')}: {section.get('notes', '')}".strip(": ")
                    for section in idea.description
                ),
                keywords=idea.target_keywords,
                content_type=idea.content_type,
                content_structure=idea.content_structure,
                word_count=idea.estimated_word_count,
            )
            task_ids.append(task.id)
        await ContentIdea.filter(id__in=[idea.id for idea in fresh]).update(status="queued")
    return {
        "created": len(task_ids),
        "task_ids": task_ids,
        "skipped": [idea.id for idea in ideas if idea.id not in locked],
        "not_found": missing,
    }
