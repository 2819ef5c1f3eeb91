"""Migrations: an empty database of this pass's kind migrates up, no model change is left
without a migration, and a migration that derives data (the keyword tally) derives it from the
rows already there."""

from __future__ import annotations

import asyncio
import contextvars
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aerich import Command

from models.db import MIGRATIONS_ROOT, dialect_of, migrate, tortoise_config
from tests.conftest import BACKEND, REQUIRE_SERVICES, TEST_DATABASE_URL, _admin_dsn, _with_database


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[str]:
    if BACKEND != "postgres":
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    if not TEST_DATABASE_URL:
        # Like every other test of the PostgreSQL pass (tests/conftest.py): skip, or fail when
        # the services are required.
        message = "TEST_DATABASE_URL is needed for the PostgreSQL migration tests"
        if REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    name = f"inkflow_mig_{uuid.uuid4().hex[:8]}"
    url = _with_database(TEST_DATABASE_URL.replace("postgresql://", "postgres://", 1), name)
    conn = await asyncpg.connect(_admin_dsn(url))
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def _tables(url: str) -> set[str]:
    if url.startswith("sqlite://"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite://")) as db:
            return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        return {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    finally:
        await conn.close()


async def test_an_empty_database_migrates_up_once(empty_database: str) -> None:
    applied = await migrate(empty_database)
    names = [p.name for p in (MIGRATIONS_ROOT / dialect_of(empty_database) / "models").glob("*.py")]
    expected = sorted(names, key=lambda name: int(name.split("_", 1)[0]))
    assert applied == expected
    assert {"account", "user", "keyword", "content", "credit_transaction", "job", "automation_run"} <= await _tables(
        empty_database
    )
    assert await migrate(empty_database) == []


async def test_no_model_change_is_left_without_a_migration(empty_database: str, tmp_path: Path) -> None:
    await migrate(empty_database)
    # aerich reads `<location>/models/`: the dialect's folder holds that `models/` (copied one
    # level deeper, aerich found no migration and diffed against whatever an earlier test left).
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_ROOT / dialect_of(empty_database), location)

    async def diff() -> str | None:
        command = Command(tortoise_config=tortoise_config(empty_database), app="models", location=str(location))
        async with command:
            await command.init()
            return await command.migrate(name="pending", no_input=True)

    pending = await asyncio.get_running_loop().create_task(diff(), context=contextvars.Context())
    assert not pending, f"models changed without a migration; run aerich migrate ({pending})"


async def _undo_migration(database_url: str, name: str) -> Path:
    """Downgrade the last migration called `name` on the open database, and forget it was applied."""
    import importlib.util

    from tortoise import connections

    from models.db import raw_query

    (path,) = (MIGRATIONS_ROOT / dialect_of(database_url) / "models").glob(f"*_{name}.py")
    spec = importlib.util.spec_from_file_location(f"{name}_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db = connections.get("default")
    await db.execute_script(await migration.downgrade(db))
    await raw_query("DELETE FROM aerich WHERE version = {0}", [path.name])
    return path


async def test_the_keyword_tally_migration_counts_the_keywords_already_there(empty_database: str) -> None:
    """Migration 6 (the tally and its triggers) on a database that already has keywords: each
    site's tally starts at its real count, and the triggers keep it from there."""
    from models.accounts import Account, Site
    from models.db import open_database
    from models.planner import Keyword, KeywordTally

    await migrate(empty_database)
    orm = await open_database(empty_database)
    try:
        # Back to the database as it was before migration 6, with keywords in two sites.
        path = await _undo_migration(empty_database, "keyword_tally")
        account = await Account.create(name="Before the tally")
        sites = [
            await Site.create(account_id=account.id, name=f"S{n}", domain=f"s{n}.example.com", slug=f"before-{n}")
            for n in range(2)
        ]
        for site, count in zip(sites, (3, 5), strict=True):
            await Keyword.bulk_create(
                [
                    Keyword(account_id=account.id, site_id=site.id, keyword=f"k{i}", keyword_key=f"k{i}")
                    for i in range(count)
                ]
            )
    finally:
        await orm.close_connections()

    assert await migrate(empty_database) == [path.name]

    orm = await open_database(empty_database)
    try:
        for site, count in zip(sites, (3, 5), strict=True):
            assert sum(await KeywordTally.filter(site_id=site.id).values_list("n", flat=True)) == count
        await Keyword.create(account_id=account.id, site_id=sites[0].id, keyword="after", keyword_key="after")
        await Keyword.filter(site_id=sites[1].id, keyword_key="k0").delete()
        totals = [sum(await KeywordTally.filter(site_id=s.id).values_list("n", flat=True)) for s in sites]
        assert totals == [4, 4]
    finally:
        await orm.close_connections()


async def test_the_content_type_migration_types_content_as_its_task(empty_database: str) -> None:
    """Content made for a page's task becomes a page; content without a task, or for a post's, a post."""
    from models.accounts import Account, Site
    from models.db import open_database
    from models.writer import Content, Task

    await migrate(empty_database)
    orm = await open_database(empty_database)
    try:
        account = await Account.create(name="Before content types")
        site = await Site.create(account_id=account.id, name="S", domain="s.example.com", slug="before-types")
        owned = {"account_id": account.id, "site_id": site.id}
        page_task = await Task.create(**owned, title="About", content_type="page")
        post_task = await Task.create(**owned, title="News", content_type="post")
        contents = [
            await Content.create(**owned, task_id=task_id, title=title, slug=title)
            for task_id, title in ((page_task.id, "about"), (post_task.id, "news"), (None, "loose"))
        ]
        path = await _undo_migration(empty_database, "content_type")
    finally:
        await orm.close_connections()

    assert await migrate(empty_database) == [path.name]

    orm = await open_database(empty_database)
    try:
        types = [(await Content.get(id=c.id)).content_type for c in contents]
        assert types == ["page", "post", "post"]
    finally:
        await orm.close_connections()


async def test_the_site_wordpress_migration_links_each_site_to_its_integrations_wordpress(
    empty_database: str,
) -> None:
    """A site's content is linked to the WordPress of its active integration, else of the one
    changed last; a site without integrations to none."""
    from models.accounts import Account, Site
    from models.db import open_database
    from models.integration import Integration

    await migrate(empty_database)
    orm = await open_database(empty_database)
    try:
        account = await Account.create(name="Before site WordPress")
        sites = [
            await Site.create(account_id=account.id, name=f"S{n}", domain=f"s{n}.example.com", slug=f"wp-{n}")
            for n in range(3)
        ]
        for site_index, url, active in (
            (0, "https://active.example.com", True),
            (0, "https://parked.example.com", False),  # changed after the active one
            (1, "https://older.example.com", False),
            (1, "https://newer.example.com", False),
        ):
            await Integration.create(
                account_id=account.id, site_id=sites[site_index].id, base_url=url, username="u", is_active=active
            )
        path = await _undo_migration(empty_database, "site_wordpress_url")
    finally:
        await orm.close_connections()

    assert await migrate(empty_database) == [path.name]

    orm = await open_database(empty_database)
    try:
        linked = [(await Site.get(id=site.id)).wordpress_url for site in sites]
        assert linked == ["https://active.example.com", "https://newer.example.com", None]
    finally:
        await orm.close_connections()


# Foreign keys with no index of their own, each for a reason: the row they point to is deleted
# once in a long while (an account, a site, a sector, reference data) or their table stays
# small (a site's integrations, keys, deployments, taxonomies). Every other foreign key is
# indexed, so deleting what it points to, and filtering by it, finds the rows by index.
UNINDEXED_FOREIGN_KEYS = {
    **dict.fromkeys(
        [
            "api_key.account_id",
            "automation_config.account_id",
            "automation_run.account_id",
            "deployment.account_id",
            "image.account_id",
            "integration.account_id",
            "link.account_id",
            "publishing_record.account_id",
            "site.account_id",
            "site_sector.account_id",
            "taxonomy.account_id",
        ],
        "an account's deletion reads every table of it anyway",
    ),
    **dict.fromkeys(
        ["link.site_id", "publishing_record.site_id", "deployment.site_id", "integration.site_id", "api_key.site_id"],
        "a site is deleted once; its other tables are read by their (site, …) indexes",
    ),
    **dict.fromkeys(
        ["cluster.sector_id", "content.sector_id", "content_idea.sector_id", "keyword.sector_id", "task.sector_id"],
        "a sector is deleted rarely (site set-up); an index on the keyword table would slow every keyword write",
    ),
    **dict.fromkeys(
        ["keyword.seed_keyword_id", "site.industry_id", "site_sector.industry_sector_id"],
        "reference data, not deleted in use",
    ),
    **dict.fromkeys(
        ["api_key.integration_id", "taxonomy.parent_id", "password_reset_token.user_id"],
        "a few rows per site or per user",
    ),
}


async def test_every_foreign_key_is_indexed_unless_listed_with_a_reason(empty_database: str) -> None:
    if BACKEND != "postgres":
        pytest.skip("read from PostgreSQL's catalog")
    await migrate(empty_database)
    conn = await asyncpg.connect(empty_database.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch(
            """SELECT c.conrelid::regclass::text AS "table", a.attname AS "column"
               FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
               WHERE c.contype = 'f' AND NOT EXISTS (
                   SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])"""
        )
    finally:
        await conn.close()
    unindexed = {f"{row['table'].strip(chr(34))}.{row['column']}" for row in rows}
    assert unindexed - UNINDEXED_FOREIGN_KEYS.keys() == set(), "index these, or list them with a reason"
    assert UNINDEXED_FOREIGN_KEYS.keys() - unindexed == set(), "indexed now: take them off the list"
