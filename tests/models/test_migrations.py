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
    expected = sorted(p.name for p in (MIGRATIONS_ROOT / dialect_of(empty_database) / "models").glob("*.py"))
    assert applied == expected
    assert {"account", "user", "keyword", "content", "credit_transaction", "job", "automation_run"} <= await _tables(
        empty_database
    )
    assert await migrate(empty_database) == []


async def test_no_model_change_is_left_without_a_migration(empty_database: str, tmp_path: Path) -> None:
    await migrate(empty_database)
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_ROOT / dialect_of(empty_database), location / "models")

    async def diff() -> str | None:
        command = Command(tortoise_config=tortoise_config(empty_database), app="models", location=str(location))
        async with command:
            await command.init()
            return await command.migrate(name="pending", no_input=True)

    pending = await asyncio.get_running_loop().create_task(diff(), context=contextvars.Context())
    assert not pending, f"models changed without a migration; run aerich migrate ({pending})"


async def test_the_keyword_tally_migration_counts_the_keywords_already_there(empty_database: str) -> None:
    """Migration 6 (the tally and its triggers) on a database that already has keywords: each
    site's tally starts at its real count, and the triggers keep it from there."""
    import importlib.util

    from tortoise import connections

    from models.accounts import Account, Site
    from models.db import open_database, raw_query
    from models.planner import Keyword, KeywordTally

    await migrate(empty_database)
    (path,) = (MIGRATIONS_ROOT / dialect_of(empty_database) / "models").glob("6_*_keyword_tally.py")
    spec = importlib.util.spec_from_file_location("keyword_tally_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    orm = await open_database(empty_database)
    try:
        db = connections.get("default")
        # Back to the database as it was before migration 6, with keywords in two sites.
        await db.execute_script(await migration.downgrade(db))
        await raw_query("DELETE FROM aerich WHERE version = {0}", [path.name])
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
