"""Machinery shared by the benchmark scripts: the run's state and its clean-up, the machine, ports,
the Inkflow server subprocess, a fresh PostgreSQL database, /proc CPU counters and table cells."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import re
import shutil
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[2]
HEALTH_PATH = "/api/v1/system/health/"
PASSWORD = "bench-password-0123"


# --- state of one run --------------------------------------------------------------------------


@dataclass
class RunContext:
    """Everything the run created, so `finally` can take it down again."""

    admin_dsn: str = ""
    db_name: str = ""
    db_created: bool = False
    tmp: Path | None = None
    server: asyncio.subprocess.Process | None = None
    server_log: Path | None = None
    notes: list[str] = field(default_factory=list)


C = TypeVar("C", bound=RunContext)


def print_server_log_tail(ctx: RunContext) -> None:
    """Print the end of the Inkflow server's log to stderr, if there is one."""
    if ctx.server_log is not None and ctx.server_log.exists():
        tail = ctx.server_log.read_text(errors="replace")[-4000:]
        if tail.strip():
            print("--- Inkflow server log (tail) ---\n" + tail, file=sys.stderr)


async def run_and_clean(ctx: C, run: Callable[[C], Awaitable[str]], cleanup: Callable[[C], Awaitable[None]]) -> str:
    """Run `run(ctx)`, show the server log's tail if it fails, and always `cleanup(ctx)`."""
    try:
        return await run(ctx)
    except BaseException:
        print_server_log_tail(ctx)
        raise
    finally:
        await cleanup(ctx)


def stop_process(proc: Any) -> None:
    """Terminate a multiprocessing.Process (kill it if it does not stop in 10 s)."""
    if proc.is_alive():
        proc.terminate()
        proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


async def stop_server(ctx: RunContext) -> None:
    """Terminate the Inkflow server subprocess if it runs (kill it if it does not stop in 30 s)."""
    if ctx.server is not None and ctx.server.returncode is None:
        ctx.server.terminate()
        try:
            await asyncio.wait_for(ctx.server.wait(), 30)
        except TimeoutError:
            ctx.server.kill()
            await asyncio.wait_for(ctx.server.wait(), 10)


async def remove_created(ctx: RunContext) -> None:
    """Drop the database the run created and remove its temp dir."""
    if ctx.db_created:
        admin = await asyncpg.connect(ctx.admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{ctx.db_name}" WITH (FORCE)')
        finally:
            await admin.close()
        print(f"dropped database {ctx.db_name}", flush=True)
    if ctx.tmp is not None:
        shutil.rmtree(ctx.tmp, ignore_errors=True)


# --- databases -----------------------------------------------------------------------------------


def with_db(url: str, name: str) -> str:
    """The URL with its database (path) replaced by `name`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def asyncpg_dsn(url: str) -> str:
    """A postgres:// (or asyncpg://) URL as asyncpg wants it (postgresql://)."""
    for prefix in ("postgres://", "asyncpg://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


async def create_database(ctx: RunContext, database_url: str) -> str:
    """Create the (new) PostgreSQL database of `database_url`, noted in `ctx`; its server version."""
    ctx.db_name = urlsplit(database_url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", ctx.db_name or ""):
        raise SystemExit(f"error: the database name must be letters, digits and _, got {ctx.db_name!r}")
    ctx.admin_dsn = with_db(asyncpg_dsn(database_url), "postgres")
    print(f"creating database {ctx.db_name} …", flush=True)
    admin = await asyncpg.connect(ctx.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{ctx.db_name}"')
        ctx.db_created = True
        return await admin.fetchval("SHOW server_version")
    finally:
        await admin.close()


async def run_seed(database_url: str, tmp: Path, timeout_s: float) -> None:
    """`python run.py seed` (migrations + reference data) on the database, within `timeout_s`."""
    print("migrating and loading reference data (run.py seed) …", flush=True)
    env = {**os.environ, "DATABASE_URL": database_url, "INKFLOW_LOG_LEVEL": "WARNING"}
    env["INKFLOW_DATA_DIR"] = str(tmp / "data")
    seed = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "run.py"), "seed", cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        code = await asyncio.wait_for(seed.wait(), timeout_s)
    except TimeoutError:
        seed.kill()
        await seed.wait()
        raise RuntimeError(f"run.py seed did not finish within {timeout_s:.0f} s") from None
    if code != 0:
        raise RuntimeError(f"run.py seed failed with exit code {code}")


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_http(url: str, within_s: float, alive: Callable[[], bool], what: str = "server process") -> None:
    """Poll `url` until it answers below 500; fail if `alive()` turns false or `within_s` passes."""
    deadline = time.monotonic() + within_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if not alive():
                raise RuntimeError(f"the {what} for {url} exited during start-up")
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {within_s:.0f} s")


async def start_server(
    ctx: RunContext, command: list[str], env: dict[str, str], port: int, within_s: float, what: str = "server process"
) -> str:
    """Start the Inkflow server `command` (logging to tmp/server.log) and wait for its health; its base URL."""
    assert ctx.tmp is not None
    ctx.server_log = ctx.tmp / "server.log"
    with ctx.server_log.open("wb") as log:
        ctx.server = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    server = ctx.server
    await wait_http(base + HEALTH_PATH, within_s, lambda: server.returncode is None, what)
    return base


# --- the machine -------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    """The machine for the report: usable cores (nproc), CPU model, Python version."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": str(cores), "cpu": cpu, "python": platform.python_version()}


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a local process so far (Linux /proc), None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (Linux /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return float("nan"), float("nan")
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


async def wait_until_idle(limit_s: float) -> float:
    """Wait (at most `limit_s`) until the machine is < 15 % busy over one second; how busy it was last, in cores."""
    cores = int(machine_info()["nproc"])
    deadline = time.monotonic() + limit_s
    while True:
        busy0, total0 = machine_busy()
        await asyncio.sleep(1.0)
        busy1, total1 = machine_busy()
        used = (busy1 - busy0) / (total1 - total0) * cores if total1 > total0 else 0.0
        if used < 0.15 * cores or time.monotonic() >= deadline:
            return used
        await asyncio.sleep(1.0)


# --- numbers and tables ------------------------------------------------------------------------


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def fmt(value: float | None, digits: int = 1) -> str:
    """A table cell: the number with thousands separators, or — when missing."""
    return "—" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def verdict(ok: bool) -> str:
    """PASS or FAIL, for the targets table."""
    return "PASS" if ok else "FAIL"


def report_date() -> str:
    """Now, in UTC, as the report's heading shows it."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def serve_fake_until_sigterm(conn: Any, make_fake: Callable[[], Any]) -> None:
    """In a benchmark's child process: start the fake `make_fake()` builds (FakeOpenAI,
    FakeWordPress) on a free loopback port, send the port on `conn`, serve until SIGTERM."""
    import signal

    async def serve() -> None:
        fake = make_fake()
        await fake.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        conn.send(fake.port)
        conn.close()
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 2.0)
                fake.calls.clear()  # the fakes record every request; keep their memory flat
        finally:
            await fake.stop()

    asyncio.run(serve())


def fake_openai_process(conn: Any) -> None:
    """Serve a FakeOpenAI until SIGTERM; send the port on `conn`."""
    from tests.fakes.openai_server import FakeOpenAI

    serve_fake_until_sigterm(conn, lambda: FakeOpenAI(access_log=False))


# The benchmarks' own Fernet key: their throw-away databases hold nothing worth protecting.
FERNET_KEY = "q2ZAqMAoZmG5LGr2rTjqjhdXhZXhAljAxF2j0F1Y3Ic="


def bench_settings(database_url: str, tmp: Path | None, secret_key: str) -> Any:
    """The Settings a benchmark uses for the set-up it does with the project's own code."""
    from config.settings import Settings

    assert tmp is not None
    return Settings(
        database_url=database_url,
        data_dir=tmp / "data",
        media_dir=tmp / "data" / "media",
        secret_key=secret_key,
        encryption_key=FERNET_KEY,
        migrate_on_start=False,
    )
