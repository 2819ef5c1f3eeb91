"""The harness of the scale-out tests: a database of their own and a cluster of real
`run.py serve` processes on it (module-scoped: starting processes is the slow part)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import TEST_DATABASE_URL, TEST_FERNET, TEST_REDIS_URL, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
HEALTH = "/api/v1/system/health/"
LEASE_TTL = 10  # seconds: a takeover after SIGTERM well under it shows the lease was given up


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """N `run.py serve` processes sharing DATABASE_URL and REDIS_URL (and a Redis prefix of their own)."""

    def __init__(self, tmp: Path, database_url: str, size: int) -> None:
        self.tmp = tmp
        self.database_url = database_url
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": str(TEST_REDIS_URL),
            "INKFLOW_REDIS_PREFIX": f"inkflow-test-scale-{uuid.uuid4().hex[:8]}",
            "INKFLOW_SECRET_KEY": TEST_SECRET,
            "INKFLOW_ENCRYPTION_KEY": TEST_FERNET,
            "INKFLOW_DATA_DIR": str(tmp / "data"),
            "INKFLOW_AUTOMATION_INTERVAL": "1",
            "INKFLOW_LEASE_TTL": str(LEASE_TTL),
            "INKFLOW_RATE_LIMITS": "ai=1000,content=1000,auth=1000,general=1000",
            "INKFLOW_LOG_LEVEL": "INFO",
        }
        self.ports = [_free_port() for _ in range(size)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * size

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def start(self, i: int) -> None:
        command = [sys.executable, str(ROOT / "run.py"), "serve", "--port", str(self.ports[i])]
        with (self.tmp / f"server{i}.log").open("ab") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[i] = proc
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"server {i} exited at start:\n{self.log(i)}"
            try:
                with urllib.request.urlopen(self.url(i) + HEALTH, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server {i} did not answer within 60 s:\n{self.log(i)}")

    def signal(self, i: int, sig: int) -> subprocess.Popen[bytes]:
        proc = self.procs[i]
        assert proc is not None and proc.poll() is None
        proc.send_signal(sig)
        return proc

    def log(self, i: int) -> str:
        path = self.tmp / f"server{i}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def _admin_dsn(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


@pytest.fixture(scope="module")
def scale_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new, migrated and seeded PostgreSQL database for the module's processes; its URL."""
    assert TEST_DATABASE_URL
    name = f"inkflow_scale_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    base = TEST_DATABASE_URL.replace("postgresql://", "postgres://", 1)
    url = base.rsplit("/", 1)[0] + "/" + name

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_admin_dsn(base))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        env = {**os.environ, "DATABASE_URL": url, "INKFLOW_DATA_DIR": str(tmp_path_factory.mktemp("seed"))}
        seed = [sys.executable, str(ROOT / "run.py"), "seed"]
        subprocess.run(seed, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def cluster(scale_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path_factory.mktemp("scaleout"), scale_database, 3)
    try:
        for i in range(3):
            nodes.start(i)
        yield nodes
    finally:
        nodes.stop_all()
