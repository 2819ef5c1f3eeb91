"""A real `run.py serve` process, the fake model and Debian's Chromium, for the browser tests.

The server runs as a subprocess on a free port with a temp data dir, on the pass's backend:
SQLite (a fresh file) or PostgreSQL + Redis (a fresh database, dropped afterwards, and a Redis
prefix of its own). The fake model runs in a thread with its own event loop, so the server's
model calls are answered even while a test blocks on restarting the server. Without Chromium (or
Playwright) the tests skip with the reason, unless INKFLOW_REQUIRE_SERVICES=1: then they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis

from tests.conftest import BACKEND, REQUIRE_SERVICES, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.fakes.openai_server import FakeOpenAI
from tests.perf.common import FERNET_KEY, HEALTH_PATH, ROOT, asyncpg_dsn, free_port, with_db

CHROMIUM = Path("/usr/bin/chromium")
SECRET_KEY = "browser-tests-secret-key-long-enough-for-hs256-0123456789abcdef"
PASSWORD = "browser-password-0123"
START_TIMEOUT_S = 90.0


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements.txt)"
    return None


@pytest.fixture(scope="module")
def browser_ready() -> None:
    reason = _missing_browser()
    if reason is not None:
        if REQUIRE_SERVICES:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


# --- the fake model, in a thread -----------------------------------------------------------------


class ThreadedFake:
    """A FakeOpenAI served from its own thread and event loop."""

    def __init__(self) -> None:
        self.fake = FakeOpenAI()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-openai", daemon=True)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def slow(self, seconds: float) -> None:
        """Every model call takes `seconds` (0: instant), so a test can watch a run progress."""
        self.loop.call_soon_threadsafe(self._slow, seconds)

    def _slow(self, seconds: float) -> None:
        self.fake.reset()
        if seconds > 0:
            self.fake.always("slow", seconds=seconds)


@pytest.fixture(scope="module")
def fake_model(browser_ready: None) -> Iterator[ThreadedFake]:
    fake = ThreadedFake()
    fake.start()
    yield fake
    fake.stop()


# --- the server process ------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """`run.py serve` on one port; `restart()` brings it back on the same port and data."""

    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, str(ROOT / "run.py"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited during start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + HEALTH_PATH, timeout=2) as response:
                    if response.status < 500:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, as a deploy would: the server shuts down gracefully (websockets get 1001)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def cli(self, *args: str) -> str:
        """`run.py <args>` on the server's database (and Redis), e.g. `credits grant`."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "run.py"), *args],
            cwd=ROOT,
            env={**self.env, "INKFLOW_LOG_LEVEL": "WARNING"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout


def _create_pg_database(url: str) -> tuple[str, str]:
    name = f"inkflow_browser_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        admin = await asyncpg.connect(with_db(asyncpg_dsn(url), "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    asyncio.run(create())
    return name, with_db(url.replace("postgresql://", "postgres://", 1), name)


def _drop_pg_database(url: str, name: str) -> None:
    async def drop() -> None:
        admin = await asyncpg.connect(with_db(asyncpg_dsn(url), "postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


def _drop_redis_keys(url: str, prefix: str) -> None:
    """The server's event streams and rate counters live under its own prefix: remove them."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def server(browser_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("browser-server")
    env = {
        **os.environ,
        "INKFLOW_DATA_DIR": str(tmp / "data"),
        "INKFLOW_SECRET_KEY": SECRET_KEY,
        "INKFLOW_ENCRYPTION_KEY": FERNET_KEY,
        "INKFLOW_LOG_LEVEL": "WARNING",
        "INKFLOW_ALLOW_PRIVATE_URLS": "true",  # the fake model is on loopback
    }
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REDIS_URL", "DATABASE_URL", "INKFLOW_REDIS_PREFIX"):
        env.pop(name, None)
    db_name = ""
    if BACKEND == "postgres":
        if not (TEST_DATABASE_URL and TEST_REDIS_URL):
            message = "TEST_DATABASE_URL and TEST_REDIS_URL are needed for the PostgreSQL + Redis pass"
            if REQUIRE_SERVICES:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        db_name, env["DATABASE_URL"] = _create_pg_database(TEST_DATABASE_URL)
        env["REDIS_URL"] = TEST_REDIS_URL
        env["INKFLOW_REDIS_PREFIX"] = f"inkflow-browser:{uuid.uuid4().hex}"
    else:
        env["DATABASE_URL"] = f"sqlite://{tmp / 'data' / 'inkflow.sqlite3'}"
    process = ServerProcess(env=env, port=free_port(), log=tmp / "server.log")
    try:
        process.start()
        yield process
    except BaseException:
        print(process.log_tail(), file=sys.stderr)
        raise
    finally:
        process.stop()
        if db_name:
            assert TEST_DATABASE_URL is not None and TEST_REDIS_URL is not None
            _drop_pg_database(TEST_DATABASE_URL, db_name)
            _drop_redis_keys(TEST_REDIS_URL, env["INKFLOW_REDIS_PREFIX"])
        shutil.rmtree(tmp, ignore_errors=True)


# --- an account with a site ready for a run ------------------------------------------------------


@dataclass
class World:
    email: str
    token: str
    site_id: int
    account_id: int


async def make_world(server: ServerProcess, fake: ThreadedFake, keywords: int = 10) -> World:
    """A new owner (email + password) with AI on the fake model and a site with new keywords,
    made over the HTTP API as a user would."""
    email = f"ops-{uuid.uuid4().hex[:10]}@example.com"
    async with aiohttp.ClientSession(base_url=server.base) as http:

        async def call(method: str, path: str, token: str | None = None, **kwargs: Any) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.request(method, path, headers=headers, **kwargs) as response:
                body: dict[str, Any] = await response.json()
                assert response.status < 300, (method, path, response.status, body)
                return body

        registered = await call("POST", "/api/v1/auth/register/", json={"email": email, "password": PASSWORD})
        token = registered["data"]["access"]
        account_id = registered["data"]["account"]["id"]
        base_url = fake.fake.base_url
        await call(
            "PUT",
            "/api/v1/system/settings/integrations/openai/",
            token,
            json={"api_key": "sk-browser-test-0123", "base_url": base_url},
        )
        site = await call(
            "POST", "/api/v1/auth/sites/", token, json={"name": "Trail blog", "domain": "trail.example.com"}
        )
        site_id = site["data"]["id"]
        tails = ("running shoes", "for beginners", "at home", "mistakes", "equipment")
        for n in range(keywords):
            text = f"topic{n // len(tails)} {tails[n % len(tails)]}"
            await call(
                "POST",
                "/api/v1/planner/keywords/",
                token,
                json={"site_id": site_id, "keyword": text, "volume": 100 - n},
            )
    return World(email=email, token=token, site_id=site_id, account_id=account_id)


async def rest(server: ServerProcess, world: World, path: str, **params: Any) -> Any:
    """GET over the API as the world's owner; the envelope's data (or the page for lists)."""
    async with aiohttp.ClientSession(base_url=server.base) as http:
        headers = {"Authorization": f"Bearer {world.token}"}
        async with http.get(path, headers=headers, params={k: str(v) for k, v in params.items()}) as response:
            body = await response.json()
            assert response.status == 200, (path, body)
            return body if "results" in body else body["data"]


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture
async def browser(browser_ready: None) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()
