"""Migrations: an empty database of this pass's kind migrates up, and no model change is left
without a migration."""

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
