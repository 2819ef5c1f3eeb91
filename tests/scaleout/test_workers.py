"""`run.py serve --workers N`: N processes on one port under a supervisor that restarts a dead
one; refused in one line without PostgreSQL and Redis."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

import run
from tests.conftest import BACKEND, TEST_FERNET, TEST_REDIS_URL, TEST_SECRET
from tests.scaleout.conftest import ROOT, _free_port


def test_workers_without_postgres_and_redis_is_a_one_line_configuration_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"INKFLOW_DATA_DIR": str(tmp_path / "data"), "INKFLOW_PORT": str(_free_port())}
    done = subprocess.run(
        [sys.executable, "run.py", "serve", "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "configuration error: --workers 2 needs PostgreSQL and Redis: set DATABASE_URL=postgres://… and "
        "REDIS_URL=redis://… (or run one process)"
    ]
    assert not (tmp_path / "data").exists(), "nothing was started or created"


def _health(port: int) -> dict[str, object]:
    # A new connection each time, so the kernel may pick any worker.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/system/health/", timeout=5) as response:
        return json.loads(response.read())["data"]  # type: ignore[no-any-return]


def _processes(port: int, tries: int = 40) -> set[str]:
    seen: set[str] = set()
    for _ in range(tries):
        with contextlib.suppress(OSError):
            seen.add(str(_health(port)["checks"]["ownership"]["process"]))  # type: ignore[index]
    return seen


def _supervisor(database_url: str, tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    """`run.py serve --workers 2` on `port`, its output in tmp_path/supervisor.log."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "INKFLOW_DATA_DIR": str(tmp_path / "data"),
        "INKFLOW_PORT": str(port),
        "INKFLOW_REDIS_PREFIX": f"inkflow-test-workers-{uuid.uuid4().hex[:8]}",
        "REDIS_URL": str(TEST_REDIS_URL),
        "INKFLOW_SECRET_KEY": TEST_SECRET,
        "INKFLOW_ENCRYPTION_KEY": TEST_FERNET,
    }
    with (tmp_path / "supervisor.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "run.py", "serve", "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after its last ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.add(int(stat.parent.name))
    return found


@pytest.mark.skipif(BACKEND != "postgres", reason="several workers need PostgreSQL and Redis: the PostgreSQL pass")
def test_two_workers_share_the_port_a_killed_one_is_replaced_and_sigterm_stops_them_all(
    scale_database: str, tmp_path: Path
) -> None:
    port = _free_port()
    supervisor = _supervisor(scale_database, tmp_path, port)
    try:
        deadline = time.monotonic() + 60
        seen: set[str] = set()
        while len(seen) < 2 and time.monotonic() < deadline:
            assert supervisor.poll() is None, (tmp_path / "supervisor.log").read_text()
            seen |= _processes(port, tries=5)
            time.sleep(0.3)
        assert len(seen) == 2, f"two worker processes answer on port {port}: {seen}"

        victim = int(sorted(seen)[0].split(":")[1])
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        replaced: set[str] = set()
        while time.monotonic() < deadline and not (replaced - seen):
            time.sleep(0.3)
            replaced = _processes(port, tries=5)
        assert replaced - seen, "a new worker took the killed one's place"
    finally:
        supervisor.send_signal(signal.SIGTERM)
        code = supervisor.wait(60)
    assert code == 0
    with pytest.raises(OSError):  # every worker stopped with the supervisor
        _health(port)


@pytest.mark.skipif(BACKEND != "postgres", reason="several workers need PostgreSQL and Redis: the PostgreSQL pass")
def test_workers_that_keep_dying_stop_the_supervisor_with_exit_1_and_its_reason(
    scale_database: str, tmp_path: Path
) -> None:
    """A crash loop reaches whoever runs the supervisor: past RESTARTS_ALLOWED deaths within
    RESTART_WINDOW_S it stops the other workers and exits 1, instead of restarting for ever."""
    port = _free_port()
    supervisor = _supervisor(scale_database, tmp_path, port)
    killed: set[int] = set()
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while supervisor.poll() is None and time.monotonic() < deadline:
            seen |= _children(supervisor.pid)
            for pid in seen - killed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
            time.sleep(0.1)
        code = supervisor.wait(30)
    finally:
        if supervisor.poll() is None:  # it kept restarting them: stop it and its workers
            supervisor.send_signal(signal.SIGTERM)
            supervisor.wait(60)
    log = (tmp_path / "supervisor.log").read_text()
    assert code == 1, log
    assert f"{run.RESTARTS_ALLOWED + 1} workers died within 60 s; stopping" in log
    assert len(killed) >= run.RESTARTS_ALLOWED + 1
    for pid in seen:  # the supervisor stopped every worker before it exited
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(OSError):  # nothing serves the port any more
        _health(port)
