"""`run.py`: serve answers health quickly on a fresh data folder; createuser; credits grant."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parent.parent


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "INKFLOW_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(BACKEND != "sqlite", reason="the embedded default is SQLite; runs in the SQLite pass")
def test_serve_on_a_fresh_data_folder_answers_health_within_3_seconds(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"INKFLOW_DATA_DIR": str(tmp_path / "data"), "INKFLOW_PORT": str(port)}
    started = time.monotonic()
    server = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        status = None
        while time.monotonic() - started < 3 and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/system/health/", timeout=1) as r:
                    status = r.status
            except OSError:
                time.sleep(0.05)
        assert status == 200, "no healthy answer within 3 s of start"
        assert (tmp_path / "data" / "inkflow.sqlite3").exists()
        assert (tmp_path / "data" / "secret_key").exists()
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/api/docs/" in out


def test_migrate_applies_every_migration_once(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'fresh.sqlite3'}" if BACKEND == "sqlite" else None
    if url is None:
        pytest.skip("the PostgreSQL migrations are checked in tests/models/test_migrations.py")
    first = _run(url, "migrate")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("applied: 0_") and "1_" in first.stdout
    again = _run(url, "migrate")
    assert again.stdout.strip() == "applied: nothing (up to date)"


async def test_createuser_and_credits_grant_write_ledger_rows(database_url: str) -> None:
    from models.billing import CreditTransaction

    created = _run(database_url, "createuser", "--email", "Cli@Example.com", "--password", "cli password 1")
    assert created.returncode == 0, created.stderr
    assert "created user cli@example.com" in created.stdout
    granted = _run(
        database_url, "credits", "grant", "--email", "cli@example.com", "--amount", "250", "--reason", "Welcome bonus"
    )
    assert granted.returncode == 0, granted.stderr
    assert "balance 1250" in granted.stdout
    taken = _run(database_url, "credits", "grant", "--email", "cli@example.com", "--amount", "-5000")
    assert taken.returncode == 0 and "balance 0" in taken.stdout
    unknown = _run(database_url, "credits", "grant", "--email", "ghost@example.com", "--amount", "5")
    assert unknown.returncode != 0 and "no user" in unknown.stderr

    from models.db import open_database

    orm = await open_database(database_url)
    try:
        rows = await CreditTransaction.all().order_by("id").values("amount", "kind", "balance_after", "description")
    finally:
        await orm.close_connections()
    assert rows == [
        {"amount": 1000, "kind": "grant", "balance_after": 1000, "description": "Signup credits"},
        {"amount": 250, "kind": "grant", "balance_after": 1250, "description": "Welcome bonus"},
        {"amount": -1250, "kind": "adjustment", "balance_after": 0, "description": "Granted from the CLI"},
    ]
