"""`run.py`: serve answers health quickly on a fresh data folder; createuser; credits grant."""

from __future__ import annotations

import argparse
import gc
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import run
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


def _import_seconds(env: dict[str, str]) -> float:
    """How long this interpreter takes to import the server's code, in a new process: the part of
    start-up that only a faster machine makes shorter."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import run, server.app"], cwd=ROOT, env=env, check=True, timeout=60)
    return time.monotonic() - started


@pytest.mark.skipif(BACKEND != "sqlite", reason="the embedded default is SQLite; runs in the SQLite pass")
def test_serve_on_a_fresh_data_folder_answers_health_within_3_seconds(tmp_path: Path) -> None:
    """3 s on a machine that imports the server in 1.5 s or less; on a slower one, twice its
    import time (a start-up that does more than import, migrate and listen still fails)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"INKFLOW_DATA_DIR": str(tmp_path / "data"), "INKFLOW_PORT": str(port)}
    limit = max(3.0, 2 * _import_seconds(env))
    started = time.monotonic()
    server = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        status = None
        while time.monotonic() - started < limit and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/system/health/", timeout=1) as r:
                    status = r.status
            except OSError:
                time.sleep(0.05)
        assert status == 200, f"no healthy answer within {limit:.1f} s of start"
        assert (tmp_path / "data" / "inkflow.sqlite3").exists()
        assert (tmp_path / "data" / "secret_key").exists()
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/api/docs/" in out


def test_serve_sizes_the_collectors_young_generations_before_it_serves(
    make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A serving process collects young objects every 10,000 allocations, not CPython's 700, so a
    websocket fan-out's messages die young instead of filling the oldest generation, whose
    collections stop the process for a pass over every connection (bench ws in the README)."""
    seen: list[tuple[int, ...]] = []
    monkeypatch.setattr(web, "run_app", lambda *args, **kwargs: seen.append(gc.get_threshold()))
    before = gc.get_threshold()
    try:
        run.serve(make_settings(), argparse.Namespace(host=None, port=None, workers=1, worker=False))
    finally:
        gc.set_threshold(*before)
    assert seen == [run.GC_THRESHOLDS] and run.GC_THRESHOLDS[0] >= 10_000


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
    from models.accounts import User
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
        user = await User.get(email="cli@example.com")
    finally:
        await orm.close_connections()
    assert rows == [
        {"amount": 1000, "kind": "grant", "balance_after": 1000, "description": "Signup credits"},
        {"amount": 250, "kind": "grant", "balance_after": 1250, "description": "Welcome bonus"},
        {"amount": -1250, "kind": "adjustment", "balance_after": 0, "description": "Granted from the CLI"},
    ]
    # Outside the test suite (which hashes cheaply) passwords get argon2-cffi's full parameters.
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


# --- start-up failures: one line naming the problem and the variable, exit code 2 -----------------


def _start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`run.py` (serve) with this environment on top of a fresh data folder; it must exit."""
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    # WARNING: the INFO lines of a normal start (migrations applied) are not part of the answer.
    base |= {"INKFLOW_DATA_DIR": str(tmp_path / "data"), "INKFLOW_PORT": str(_free_port())}
    base |= {"INKFLOW_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "run.py"], cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=120
    )


def _postgres_server() -> str:
    """user@host:port of the test PostgreSQL server (trust auth), or skip."""
    from tests.conftest import REQUIRE_SERVICES, TEST_DATABASE_URL

    if not TEST_DATABASE_URL:
        message = "TEST_DATABASE_URL is needed for the PostgreSQL start-up failures"
        if REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from urllib.parse import urlsplit

    parts = urlsplit(TEST_DATABASE_URL)
    return f"{parts.hostname}:{parts.port or 5432}"


def _assert_one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(("start-up error: ", "configuration error: ")), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_a_database_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    server = _postgres_server()
    result = _start(tmp_path, DATABASE_URL=f"postgres://postgres@{server}/inkflow_missing_{os.getpid()}")
    _assert_one_line(result, "does not exist", "DATABASE_URL", f"inkflow_missing_{os.getpid()}")


def test_a_role_that_does_not_exist_is_one_line_without_the_password(tmp_path: Path) -> None:
    server = _postgres_server()
    result = _start(tmp_path, DATABASE_URL=f"postgres://no_such_role:s3cret-pw@{server}/postgres")
    _assert_one_line(result, "refused the login", "no_such_role", "DATABASE_URL")
    assert "s3cret-pw" not in result.stderr


def test_a_refused_database_port_is_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    url = f"postgres://postgres@127.0.0.1:{_free_port()}/inkflow"
    result = _start(tmp_path, DATABASE_URL=url)
    _assert_one_line(result, "connection refused", "DATABASE_URL")
    debug = _start(tmp_path, DATABASE_URL=url, INKFLOW_LOG_LEVEL="DEBUG")
    assert debug.returncode == 2
    assert "Traceback" in debug.stderr and "ConnectionRefusedError" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1].startswith("start-up error: ")


def test_an_unsupported_database_scheme_is_a_configuration_error(tmp_path: Path) -> None:
    result = _start(tmp_path, DATABASE_URL="mysql://user:pw@127.0.0.1/inkflow")
    _assert_one_line(result, "DATABASE_URL", "mysql://")
    assert "pw@" not in result.stderr


def test_a_listening_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _start(tmp_path, INKFLOW_PORT=str(port))
    _assert_one_line(result, f"127.0.0.1:{port}", "in use", "INKFLOW_PORT")
    assert "listening" not in result.stdout


def test_help_lists_every_command_and_the_options_have_help() -> None:
    def help_of(*args: str) -> str:
        result = subprocess.run([sys.executable, "run.py", *args, "--help"], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout

    top = help_of()
    for command in ("serve", "migrate", "seed", "createuser", "credits", "makemigrations", "bench"):
        assert f"    {command} " in top, command
    assert "makemigrations and bench" in top  # the description names them too
    serve_help, grant_help = help_of("serve"), help_of("credits", "grant")
    assert "address to listen on" in serve_help and "port to listen on" in serve_help
    for text in ("a user of the account", "negative takes away", "ledger row's description", "ledger kind"):
        assert text in " ".join(grant_help.split()), text


def test_serve_logs_requests_with_the_access_log_on_and_no_orm_shutdown_line(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"INKFLOW_DATA_DIR": str(tmp_path / "data"), "INKFLOW_PORT": str(port)}
    env |= {"INKFLOW_ACCESS_LOG": "true", "INKFLOW_LOG_LEVEL": "INFO"}
    server = subprocess.Popen(
        [sys.executable, "run.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    status = r.status
            except OSError:
                time.sleep(0.1)
        assert status == 200
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert "Inkflow listening on" in out
    assert "Tortoise-ORM shutdown" not in err
    assert any("aiohttp.access" in line and '"GET / HTTP/1.1" 200' in line for line in err.splitlines()), err
