"""Inkflow command line: serve (the default), migrate, seed, createuser, credits grant,
makemigrations and bench. Configuration comes from environment variables (see README)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import getpass
import logging
import os
import socket
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from config.settings import Settings, SettingsError, load_settings


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if settings.log_level != "DEBUG":
        # Tortoise logs its life cycle at INFO; the migration step's own connection closing
        # ("Tortoise-ORM shutdown", just before "listening") reads as if the server stopped.
        logging.getLogger("tortoise").setLevel(logging.WARNING)


# The collector's thresholds for a serving process. One process holds thousands of websockets for
# hours, with a few hundred objects each. At CPython's defaults (700, 10, 10) the objects of each
# event's fan-out (one message per subscriber) are still alive at the young collections during it,
# so they are promoted to the oldest generation, which then fills up and is collected every few
# seconds: a pass over every connection's objects that stops the process 80-100 ms at 1,000
# subscribers and 250-300 ms at 5,000, delaying every delivery in flight. Young collections every
# 10,000 allocations let a fan-out's objects die young; the oldest generation is then collected
# when connections come and go in numbers (bench ws, README).
GC_THRESHOLDS = (10_000, 10, 10)


def serve(settings: Settings, args: argparse.Namespace) -> None:
    from aiohttp import web

    from server.app import create_app

    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    if args.workers > 1:
        supervise(settings, host, port, args.workers)
        return
    if args.worker:  # one of `--workers N`: the supervisor migrated; the port is shared
        settings = settings.with_overrides(migrate_on_start=False)
    app = create_app(settings)

    def announce(_: str) -> None:
        # run_app calls this once the port is bound, so a port in use never prints "listening".
        print(f"Inkflow listening on http://{host}:{port}/  docs: http://{host}:{port}/api/docs/", flush=True)

    access_log = logging.getLogger("aiohttp.access") if settings.access_log else None
    gc.set_threshold(*GC_THRESHOLDS)
    web.run_app(
        app,
        host=host,
        port=port,
        print=announce,
        access_log=access_log,
        reuse_port=True if args.worker else None,
        loop=_event_loop(),
    )


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when it is installed (it is in requirements.txt): the same server
    answers ~10-20 % more requests per second on it."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


# How many times the supervisor's workers may die within a window before it gives up, stops the
# rest and exits 1: a crash loop (a worker dying on every request, or soon after each start)
# then reaches whoever runs the supervisor (systemd, a container runtime) instead of going on
# unseen, a restart a second.
RESTARTS_ALLOWED = 5
RESTART_WINDOW_S = 60.0


def supervise(settings: Settings, host: str, port: int, workers: int) -> None:
    """`serve --workers N`: migrate once, then run N `serve` processes sharing the port through
    SO_REUSEPORT (the kernel spreads connections over them), restart any that dies, and pass a
    SIGTERM or Ctrl-C on to them as one SIGTERM each (each finishes its items in flight and
    gives its sites up). A worker failing at start-up (exit 2: port in use, bad configuration)
    stops them all with its message, rather than restarting in a loop; so do more than
    RESTARTS_ALLOWED deaths within RESTART_WINDOW_S (exit 1)."""
    import signal
    import subprocess
    import time
    from collections import deque
    from pathlib import Path

    asyncio.run(_with_database(settings, _nothing))
    command = [sys.executable, str(Path(__file__).resolve()), "serve", "--worker", "--host", host, "--port", str(port)]
    log = logging.getLogger("inkflow.supervisor")
    # Each worker in its own session, so a Ctrl-C reaches the supervisor only and each worker
    # gets exactly one SIGTERM from it.
    spawn = lambda: (subprocess.Popen(command, start_new_session=True), time.monotonic())  # noqa: E731
    children = [spawn() for _ in range(workers)]
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            for child, _ in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"Inkflow: {workers} workers on http://{host}:{port}/ (supervisor pid {os.getpid()})", flush=True)
    failed = 0
    deaths: deque[float] = deque()  # when workers died, within the last RESTART_WINDOW_S
    while True:
        time.sleep(0.2)
        for slot, (child, started) in enumerate(children):
            code = child.poll()
            if code is None or stopping:
                continue
            if code == 2:
                log.error("worker %s could not start (exit 2); stopping", child.pid)
                failed = 2
                stop(signal.SIGTERM, None)
                break
            now = time.monotonic()
            deaths.append(now)
            while deaths[0] < now - RESTART_WINDOW_S:
                deaths.popleft()
            if len(deaths) > RESTARTS_ALLOWED:
                log.error(
                    "worker %s exited (code %s): %s workers died within %.0f s; stopping",
                    child.pid,
                    code,
                    len(deaths),
                    RESTART_WINDOW_S,
                )
                failed = 1
                stop(signal.SIGTERM, None)
                break
            log.warning("worker %s exited (code %s); starting another", child.pid, code)
            if time.monotonic() - started < 5:
                time.sleep(1)  # dying at once again and again: do not spin
            children[slot] = spawn()
        if stopping and all(child.poll() is not None for child, _ in children):
            break
    if failed:
        raise SystemExit(failed)


async def _nothing() -> None:
    """`_with_database` migrates and loads reference data; nothing more to do."""


async def _with_database(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    from models.db import load_reference_data, migrate, open_database

    await migrate(settings.database_url)
    orm = await open_database(settings.database_url)
    try:
        await load_reference_data()
        return await work()
    finally:
        await orm.close_connections()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from models.db import migrate

    applied = asyncio.run(migrate(settings.database_url))
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    from models.reference import Industry, SeedKeyword

    async def count() -> tuple[int, int]:
        return await Industry.all().count(), await SeedKeyword.all().count()

    industries, keywords = asyncio.run(_with_database(settings, count))
    print(f"reference data: {industries} industries, {keywords} seed keywords")


def cmd_createuser(settings: Settings, args: argparse.Namespace) -> None:
    from services import auth

    password = args.password or getpass.getpass("Password: ")

    async def create() -> str:
        user, account = await auth.register(
            settings, email=args.email, password=password, account_name=args.account_name
        )
        return f"created user {user.email} (id {user.id}), owner of account {account.id}"

    print(asyncio.run(_with_database(settings, create)))


async def _publish_credits(settings: Settings, row: Any) -> None:
    from redis.asyncio import Redis

    from services.events import RedisEventBus
    from services.jobs import credits_events

    assert settings.redis_url
    redis = Redis.from_url(settings.redis_url)
    try:
        await RedisEventBus(redis, settings.redis_prefix).publish_many(credits_events(row))
    finally:
        await redis.aclose()


def cmd_credits_grant(settings: Settings, args: argparse.Namespace) -> None:
    from models.accounts import User
    from services import ledger

    async def grant() -> str:
        user = await User.get_or_none(email=args.email.strip().lower())
        if user is None:
            raise SystemExit(f"error: no user with email {args.email}")
        kind = "adjustment" if args.amount < 0 else args.kind
        row = await ledger.grant(
            user.account_id, args.amount, kind=kind, description=args.reason or "Granted from the CLI"
        )
        if settings.redis_url:  # tell the dashboards of every server process
            await _publish_credits(settings, row)
        return f"{row.kind} {row.amount:+d}: account {user.account_id} balance {row.balance_after}"

    print(asyncio.run(_with_database(settings, grant)))


def cmd_makemigrations(settings: Settings, args: argparse.Namespace) -> None:
    """One migration per dialect, each made in a process of its own (Tortoise binds its models
    to one SQL dialect per process) against a throw-away database of that kind."""
    import subprocess
    import tempfile
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    if args.dialect_url:
        from models.db import make_migration

        made = asyncio.run(make_migration(args.dialect_url, args.name))
        print(f"{args.dialect_url.split(':', 1)[0]}: {made or 'no changes'}")
        return
    import asyncpg

    admin = urlsplit(args.postgres_url.replace("postgresql://", "postgres://", 1))
    name = f"inkflow_makemigrations_{uuid.uuid4().hex[:8]}"
    admin_dsn = urlunsplit(("postgresql", admin.netloc, "/postgres", "", ""))

    async def database(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(database(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            urls = [f"sqlite://{tmp}/inkflow.sqlite3", urlunsplit(("postgres", admin.netloc, "/" + name, "", ""))]
            for url in urls:
                command = [sys.executable, __file__, "makemigrations", "--name", args.name, "--dialect-url", url]
                subprocess.run(command, check=True)
    finally:
        asyncio.run(database(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _positive(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {raw!r}")
    return int(raw)


def workers_problem(settings: Settings, workers: int) -> str | None:
    """Several processes share the database and their sites' leases: SQLite and no Redis can't."""
    if workers > 1 and not (settings.is_postgres and settings.redis_url):
        return (
            f"--workers {workers} needs PostgreSQL and Redis: set DATABASE_URL=postgres://… and REDIS_URL=redis://…"
            " (or run one process)"
        )
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    p_serve = sub.add_parser("serve", help="run the HTTP server (the default)")
    p_serve.add_argument("--host", help="address to listen on (default: INKFLOW_HOST, else 127.0.0.1)")
    p_serve.add_argument("--port", type=int, help="port to listen on (default: INKFLOW_PORT, else 8000)")
    p_serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="server processes sharing the port (default 1); more than 1 needs PostgreSQL and Redis",
    )
    p_serve.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p_serve.set_defaults(func=serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="load industries, sectors and seed keywords").set_defaults(func=cmd_seed)
    p_user = sub.add_parser("createuser", help="create an account and its owner")
    p_user.add_argument("--email", required=True, help="the owner's email, used to log in")
    p_user.add_argument("--password", help="prompted for when left out")
    p_user.add_argument("--account-name", help="the account's name (default: from the email)")
    p_user.set_defaults(func=cmd_createuser)
    p_credits = sub.add_parser("credits", help="credit operations")
    credits_sub = p_credits.add_subparsers(dest="credits_command", required=True)
    p_grant = credits_sub.add_parser("grant", help="grant (or, negative, take away) credits")
    p_grant.add_argument("--email", required=True, help="a user of the account to credit")
    p_grant.add_argument(
        "--amount", type=int, required=True, help="credits to add; negative takes away (recorded as an adjustment)"
    )
    p_grant.add_argument("--reason", help="the ledger row's description (default: Granted from the CLI)")
    p_grant.add_argument(
        "--kind", choices=["grant", "purchase"], default="grant", help="the ledger kind of a positive amount"
    )
    p_grant.set_defaults(func=cmd_credits_grant)
    p_make = sub.add_parser("makemigrations", help="write the migrations a model change needs, for both dialects")
    p_make.add_argument("--name", required=True, help="a short name, e.g. add_keyword_notes")
    p_make.add_argument(
        "--postgres-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server where a throw-away database may be created",
    )
    p_make.add_argument("--dialect-url", help=argparse.SUPPRESS)
    p_make.set_defaults(func=cmd_makemigrations)
    p_bench = sub.add_parser("bench", help="benchmarks that print tables (see README); options after NAME pass through")
    p_bench.add_argument("name", choices=sorted(BENCHMARKS))
    p_bench.add_argument("options", nargs=argparse.REMAINDER)
    p_bench.set_defaults(func=cmd_bench)
    return parser


BENCHMARKS = {
    "planner": "tests.perf.bench_planner",
    "ai": "tests.perf.bench_ai",
    "ws": "tests.perf.bench_ws",
    "pipeline": "tests.perf.bench_pipeline",
    "scale": "tests.perf.bench_scale",
    "sync": "tests.perf.bench_sync",
}


def cmd_bench(settings: Settings, args: argparse.Namespace) -> None:
    import importlib

    importlib.import_module(BENCHMARKS[args.name]).main(args.options)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what caused it, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _where(database_url: str) -> str:
    """The database's host, port and name, without the credentials the URL may carry."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        return database_url.removeprefix("sqlite://")
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}/{parts.path.lstrip('/')}"


def startup_problem(exc: BaseException, settings: Settings, host: str, port: int) -> str | None:
    """One line naming what went wrong and the variable to fix, for the failures a user can
    fix; None for anything else (a bug, whose traceback is wanted)."""
    import asyncpg

    database = _where(settings.database_url)
    for cause in _causes(exc):
        if isinstance(cause, asyncpg.InvalidCatalogNameError):
            return f"the database {database} does not exist: create it or fix DATABASE_URL"
        if isinstance(cause, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InvalidPasswordError):
            return f"the database {database} refused the login ({cause}): fix the user or password in DATABASE_URL"
        if isinstance(cause, socket.gaierror):
            return f"the database host of {database} is unknown ({cause.strerror}): fix DATABASE_URL"
        if isinstance(cause, sqlite3.OperationalError):
            return f"cannot open the SQLite database {database} ({cause}): fix DATABASE_URL or INKFLOW_DATA_DIR"
        if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
            return f"cannot listen on {host}:{port}: the port is in use; set INKFLOW_PORT (or --port) to a free one"
        if isinstance(cause, OSError) and cause.errno == errno.EADDRNOTAVAIL:
            return f"cannot listen on {host}:{port}: no such local address; fix INKFLOW_HOST (or --host)"
        if isinstance(cause, ConnectionRefusedError | TimeoutError):
            reason = "connection refused" if isinstance(cause, ConnectionRefusedError) else "timed out"
            return f"cannot reach the database at {database} ({reason}): is it running? Else fix DATABASE_URL"
    return None


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    _configure_logging(settings)
    func = getattr(args, "func", serve)
    if func is serve and not hasattr(args, "host"):
        args.host, args.port, args.workers, args.worker = None, None, 1, False
    problem = workers_problem(settings, args.workers) if func is serve else None
    if problem is not None:
        print(f"configuration error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    try:
        func(settings, args)
    except Exception as exc:
        host = getattr(args, "host", None) or settings.host
        port = getattr(args, "port", None) or settings.port
        # (makemigrations and bench use their own servers, named by their options.)
        problem = None if func in (cmd_makemigrations, cmd_bench) else startup_problem(exc, settings, host, port)
        if problem is None:
            raise
        logging.getLogger("inkflow").debug("start-up failed", exc_info=exc)
        print(f"start-up error: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
