"""One fixture builds the app for a test on a fresh database.

The suite runs once per backend (one Python process each: Tortoise's models can't switch
dialect inside a process): `INKFLOW_TEST_BACKEND=sqlite` (default, the embedded set-up: SQLite,
in-memory rate limits) or `postgres` (PostgreSQL from TEST_DATABASE_URL + Redis from
TEST_REDIS_URL). Without those URLs the postgres pass skips, or fails when
INKFLOW_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher, profiles

from config.settings import Settings
from models.db import MIGRATIONS_ROOT
from server.app import create_app
from services import security
from tests.fakes.wordpress_server import FakeWordPress
from tests.helpers import Api, Caller

ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("INKFLOW_TEST_BACKEND", "sqlite")
REQUIRE_SERVICES = os.environ.get("INKFLOW_REQUIRE_SERVICES") == "1"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
SERVICES_MISSING = "TEST_DATABASE_URL and TEST_REDIS_URL are needed for the PostgreSQL + Redis pass"
# Reference data and aerich's own table survive between tests; everything else is emptied.
KEEP_TABLES = {"industry", "industry_sector", "seed_keyword", "aerich"}
TEST_SECRET = "test-secret-key-long-enough-for-hs256-and-hs512-0123456789abcdefghij"
TEST_FERNET = "q2ZAqMAoZmG5LGr2rTjqjhdXhZXhAljAxF2j0F1Y3Ic="


def pytest_configure(config: pytest.Config) -> None:
    # Passwords hashed in this process use argon2's cheapest parameters: at full cost (~0.2 s a
    # hash here) hashing was about half of the suite's time. Servers the tests start as processes
    # (tests/test_cli.py, tests/browser) hash at full cost, and a test there checks the parameters.
    security.set_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))


def pytest_report_header(config: pytest.Config) -> str:
    return f"inkflow backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL + Redis pass on a machine without those services is skipped as a whole, with
    the reason (the README's promise), so no test of it can half-run against nothing; with
    INKFLOW_REQUIRE_SERVICES=1 (CI) they run and fail instead."""
    if BACKEND == "postgres" and not (TEST_DATABASE_URL and TEST_REDIS_URL) and not REQUIRE_SERVICES:
        skip = pytest.mark.skip(reason=SERVICES_MISSING)
        for item in items:
            item.add_marker(skip)


def _seed(database_url: str) -> None:
    """Migrate and load reference data in a child process, as `python run.py seed` does."""
    env = {**os.environ, "DATABASE_URL": database_url, "INKFLOW_LOG_LEVEL": "WARNING"}
    subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "seed"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _admin_dsn(url: str) -> str:
    return _with_database(url, "postgres").replace("postgres://", "postgresql://", 1)


class Backend:
    """The database (and Redis) of this test run."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.redis_url: str | None = None
        if BACKEND == "postgres":
            if not (TEST_DATABASE_URL and TEST_REDIS_URL):
                message = SERVICES_MISSING
                if REQUIRE_SERVICES:
                    pytest.fail(message, pytrace=False)
                pytest.skip(message)
            self.name = f"inkflow_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            self.url = _with_database(TEST_DATABASE_URL.replace("postgresql://", "postgres://", 1), self.name)
            self.redis_url = TEST_REDIS_URL
        else:
            self.template = tmp / "template.sqlite3"
            self.url = f"sqlite://{self.template}"

    async def create(self) -> None:
        if BACKEND == "postgres":
            conn = await asyncpg.connect(_admin_dsn(self.url))
            try:
                await conn.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                await conn.close()
        _seed(self.url)

    async def drop(self) -> None:
        if BACKEND == "postgres":
            conn = await asyncpg.connect(_admin_dsn(self.url))
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            finally:
                await conn.close()

    async def fresh(self, tmp_path: Path) -> str:
        """A database URL whose contents are the migrated, seeded template and nothing else."""
        if BACKEND == "postgres":
            conn = await asyncpg.connect(self.url.replace("postgres://", "postgresql://", 1))
            try:
                tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                names = [row["tablename"] for row in tables if row["tablename"] not in KEEP_TABLES]
                await conn.execute("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
            finally:
                await conn.close()
            return self.url
        copy = tmp_path / "inkflow.sqlite3"
        shutil.copyfile(self.template, copy)
        return f"sqlite://{copy}"


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    import asyncio

    db = Backend(tmp_path_factory.mktemp("backend"))
    asyncio.run(db.create())
    yield db
    asyncio.run(db.drop())


@pytest.fixture
async def database_url(backend: Backend, tmp_path: Path) -> str:
    return await backend.fresh(tmp_path)


@pytest.fixture
def make_settings(backend: Backend, database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    prefix = f"inkflow-test:{uuid.uuid4().hex}"

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "redis_url": backend.redis_url,
            "redis_prefix": prefix,
            "data_dir": tmp_path / "data",
            "media_dir": tmp_path / "data" / "media",
            "secret_key": TEST_SECRET,
            "encryption_key": TEST_FERNET,
            "migrate_on_start": False,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings, docs=False))


@pytest.fixture
async def api(client: TestClient) -> AsyncIterator[Api]:
    yield Api(client)


@pytest.fixture
async def owner(api: Api) -> Caller:
    """A freshly registered account's owner."""
    return await api.register()


@pytest.fixture
async def wp() -> AsyncIterator[FakeWordPress]:
    """The fake WordPress on a free loopback port (tests/fakes/wordpress_server.py)."""
    async with FakeWordPress() as fake:
        yield fake


__all__ = ["MIGRATIONS_ROOT"]
