"""Planner benchmark: the keyword list, a detail read and a small write through the whole stack
against a bare aiohttp + asyncpg handler.

    python -m tests.perf.bench_planner            # 100,000 keywords, 32 connections, 20 s per run
    python -m tests.perf.bench_planner --quick    # 10,000 keywords, 3 s per run (smoke run)

With wrk installed (`make wrk`), the default `--load wrk`: both servers run side by side, and wrk
drives the list, detail and write rows against each in alternating rounds (`--rounds`); the
report has the medians, p50/p99 (wrk's latency percentiles, read by a Lua `done` hook) and the
Inkflow/bare ratios. The write row's Lua script sends a new keyword per request (round, thread,
counter) into an empty second site, emptied before each run. `--load aiohttp` (the fallback
without wrk) is the older list-only run described below, with statement sampling and EXPLAIN.
`--workers N` (wrk only) runs Inkflow as `serve --workers N` and the bare handler as N processes
on one port (SO_REUSEPORT, as `serve --workers` does); server CPU is then the sum over them.

What it does, on PostgreSQL + Redis (both on loopback):

1. creates a fresh database and runs `python run.py seed` on it (migrations + reference data);
2. starts the real server (`python run.py serve`) with the `general` limit raised through
   INKFLOW_RATE_LIMITS (the limiter still counts, in Redis) and the plan's keywords per site through
   INKFLOW_PLAN_LIMITS (still checked on every write), registers four accounts with a site
   each through the API, and COPYs N keywords into the target site and N/4 into each of the
   three other accounts' sites, then VACUUM ANALYZE;
3. starts a bare aiohttp + asyncpg server (same pool size as Tortoise's default) answering the
   same count + page query with the same filters and a JSON envelope of the rows;
4. drives each target in turn from a separate load-generating process (aiohttp client, fixed
   number of connections, 2 s warm-up, then the measured duration; every latency recorded);
5. times `POST /planner/keywords/bulk_status/` with 1,000 ids (median of 5), and EXPLAINs the
   list query exactly as PostgreSQL saw it (the statement text is sampled from pg_stat_activity
   while the load runs);
6. prints a table with the verdicts against the targets, stops everything, drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from tests.perf.common import (
    HEALTH_PATH,
    PASSWORD,
    ROOT,
    RunContext,
    asyncpg_dsn,
    cpu_seconds,
    create_database,
    fmt,
    free_port,
    machine_busy,
    machine_info,
    percentile,
    remove_created,
    report_date,
    run_and_clean,
    run_seed,
    start_server,
    stop_process,
    stop_server,
    verdict,
    wait_http,
    wait_until_idle,
)

LIST_PATH = "/api/v1/planner/keywords/"
BULK_PATH = "/api/v1/planner/keywords/bulk_status/"
VOLUME_MIN = 1000
PAGE_SIZE = 100
WARMUP_S = 2.0
BULK_IDS = 1000
BULK_RUNS = 5
# Only the scopes the benchmark drives are raised (they still count, in Redis).
RATE_LIMITS = "ai=60,content=100000000,auth=20,general=100000000"
# The write row adds thousands of keywords a second to one site: far past the default plan's
# 10,000 per site. The limit is still checked on every write (a sum of the site's tally rows).
PLAN_LIMITS = "keywords_per_site=100000000"
# Tortoise's asyncpg pool default (tortoise/backends/base_postgres/client.py: maxsize 5); the bare
# reference gets the same so the comparison is about the layers, not the pool.
POOL_MAX = 5
# Hard bounds so nothing can run away: requests per phase, and per-request timeout.
MAX_REQUESTS_PER_PHASE = 5_000_000
REQUEST_TIMEOUT_S = 30.0
TARGET_RPS_RATIO = 0.75
TARGET_P99_RATIO = 1.2
TARGET_BULK_MS = 150.0


# --- the load generator (runs in its own process) ----------------------------------------------


async def _phase(
    session: aiohttp.ClientSession,
    url: str,
    connections: int,
    duration: float,
    max_requests: int,
    latencies: array | None,
    statuses: Counter[str],
) -> float:
    deadline = time.perf_counter() + duration
    issued = 0

    async def worker() -> None:
        nonlocal issued
        while issued < max_requests and time.perf_counter() < deadline:
            issued += 1
            started = time.perf_counter()
            try:
                async with session.get(url) as response:
                    await response.read()
                    status = str(response.status)
            except Exception as exc:  # counted, never fatal: the run is about throughput
                status = type(exc).__name__
            if latencies is not None:
                statuses[status] += 1
                if status == "200":
                    latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started


async def _drive(
    url: str,
    headers: dict[str, str],
    connections: int,
    warmup: float,
    duration: float,
    max_requests: int,
    measuring: Any,
) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    latencies: array = array("d")
    statuses: Counter[str] = Counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
        await _phase(session, url, connections, warmup, max_requests, None, Counter())
        measuring()
        cpu = time.process_time()
        elapsed = await _phase(session, url, connections, duration, max_requests, latencies, statuses)
        cpu = time.process_time() - cpu
    return {"latencies": latencies.tobytes(), "elapsed": elapsed, "statuses": dict(statuses), "cpu": cpu}


def _load_process(
    url: str,
    headers: dict[str, str],
    connections: int,
    warmup: float,
    duration: float,
    max_requests: int,
    out: Any,
) -> None:
    """The load generator's process: a warm-up, then the measured phase (announced on `out` so
    the parent can start its CPU and statement sampling exactly then), then the result."""
    try:
        result = asyncio.run(
            _drive(url, headers, connections, warmup, duration, max_requests, lambda: out.send({"phase": "measure"}))
        )
    except BaseException as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    out.send(result)
    out.close()


# --- the bare reference server (runs in its own process) --------------------------------------

BARE_COLUMNS = (
    "id",
    "site_id",
    "sector_id",
    "cluster_id",
    "seed_keyword_id",
    "keyword",
    "volume",
    "difficulty",
    "intent",
    "status",
    "created_at",
    "updated_at",
)
BARE_WHERE = 'WHERE "account_id" = $1 AND "site_id" = $2 AND "volume" >= $3'
BARE_COUNT_SQL = f'SELECT count(*) FROM "keyword" {BARE_WHERE}'
BARE_PAGE_SQL = (
    "SELECT "
    + ",".join(f'"{c}"' for c in BARE_COLUMNS)
    + f' FROM "keyword" {BARE_WHERE} ORDER BY "volume" DESC, "id" DESC LIMIT $4 OFFSET $5'
)
BARE_DETAIL_SQL = (
    "SELECT " + ",".join(f'"{c}"' for c in BARE_COLUMNS) + ' FROM "keyword" WHERE "id" = $1 AND "account_id" = $2'
)
BARE_INSERT_SQL = (
    'INSERT INTO "keyword" ("created_at","updated_at","keyword","keyword_key","volume","difficulty","intent",'
    '"status","account_id","site_id") VALUES (now(), now(), $1, $2, $3, 0, \'informational\', \'new\', $4, $5) '
    "RETURNING " + ",".join(f'"{c}"' for c in BARE_COLUMNS)
)
BARE_POOL = web.AppKey("bare_pool", asyncpg.Pool)


def _bare_row(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["created_at"] = row["created_at"].isoformat()
    out["updated_at"] = row["updated_at"].isoformat()
    return out


def _bare_app(dsn: str, account_id: int) -> web.Application:
    async def pool_ctx(app: web.Application) -> Any:
        app[BARE_POOL] = await asyncpg.create_pool(dsn, min_size=1, max_size=POOL_MAX)
        yield
        await app[BARE_POOL].close()

    async def keywords(request: web.Request) -> web.Response:
        query = request.query
        site_id = int(query["site_id"])
        volume_min = int(query.get("volume_min", "0"))
        page = int(query.get("page", "1"))
        size = int(query.get("page_size", "25"))
        pool = request.app[BARE_POOL]
        count = await pool.fetchval(BARE_COUNT_SQL, account_id, site_id, volume_min)
        offset = (page - 1) * size
        rows = await pool.fetch(BARE_PAGE_SQL, account_id, site_id, volume_min, size, offset) if offset < count else []
        next_url = str(request.url.update_query(page=page + 1, page_size=size)) if page * size < count else None
        payload = {
            "success": True,
            "count": count,
            "next": next_url,
            "previous": None,
            "results": [_bare_row(row) for row in rows],
            "request_id": uuid.uuid4().hex,
        }
        return web.Response(
            text=json.dumps(payload, separators=(",", ":"), ensure_ascii=False), content_type="application/json"
        )

    async def keyword(request: web.Request) -> web.Response:
        row = await request.app[BARE_POOL].fetchrow(BARE_DETAIL_SQL, int(request.match_info["id"]), account_id)
        if row is None:
            return _bare_json({"success": False, "error": "Not found.", "code": "not_found"}, 404)
        return _bare_json({"success": True, "data": _bare_row(row), "request_id": uuid.uuid4().hex}, 200)

    async def create(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        text = " ".join(str(body["keyword"]).split())
        row = await request.app[BARE_POOL].fetchrow(
            BARE_INSERT_SQL, text, text.lower(), int(body.get("volume", 0)), account_id, int(body["site_id"])
        )
        return _bare_json({"success": True, "data": _bare_row(row), "request_id": uuid.uuid4().hex}, 201)

    app = web.Application()
    app.cleanup_ctx.append(pool_ctx)
    app.router.add_get(LIST_PATH, keywords)
    app.router.add_post(LIST_PATH, create)
    app.router.add_get(LIST_PATH + "{id:\\d+}/", keyword)
    return app


def _bare_json(payload: dict[str, Any], status: int) -> web.Response:
    return web.Response(
        text=json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


def _bare_server_process(dsn: str, account_id: int, port: int, reuse_port: bool) -> None:
    web.run_app(
        _bare_app(dsn, account_id), host="127.0.0.1", port=port, print=None, access_log=None, reuse_port=reuse_port
    )


# --- helpers -----------------------------------------------------------------------------------


@dataclass
class Measured:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    statuses: dict[str, int]
    server_cpu_ms: float  # CPU of the server process per successful request
    db_cpu_ms: float  # CPU of the database's PostgreSQL backends per successful request
    client_cpu_ms: float  # CPU of the load generator per successful request
    seconds: float
    other_cores: float  # CPU the rest of the machine used meanwhile (other processes), in cores


@dataclass
class Context(RunContext):
    """Everything the run created, so `finally` can take it down again."""

    bare: list[Any] = field(default_factory=list)  # multiprocessing.Process, one per worker
    load: Any = None


async def _call(
    session: aiohttp.ClientSession, method: str, url: str, *, token: str | None = None, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, json=body, headers=headers) as response:
        return response.status, await response.json()


def _expect(status: int, payload: Any, wanted: int, what: str) -> Any:
    if status != wanted:
        raise RuntimeError(f"{what}: HTTP {status} {json.dumps(payload)[:500]}")
    return payload


# --- data --------------------------------------------------------------------------------------

HEADS = (
    "running shoes", "coffee grinder", "standing desk", "espresso machine", "yoga mat", "air fryer",
    "trail backpack", "noise cancelling headphones", "mechanical keyboard", "robot vacuum", "electric bike",
    "cast iron skillet", "sourdough starter", "wordpress hosting", "seo audit", "email marketing",
    "crm software", "project management tool", "home gym", "dog food", "cat litter", "baby stroller",
    "winter jacket", "hiking boots", "gaming monitor", "office chair", "water filter", "solar panels",
    "heat pump", "smart thermostat", "protein powder", "meal prep", "budget travel", "credit card",
    "life insurance", "tax return", "wedding dress", "garden hose", "kitchen knife", "language app",
)  # fmt: skip
MODIFIERS = (
    "best", "cheap", "how to choose", "how to clean", "review", "for beginners", "near me", "vs",
    "alternatives", "on sale", "for small spaces", "for women", "for men", "for kids", "top rated",
    "under 100", "professional", "eco friendly", "buying guide", "repair", "2025", "discount code",
    "comparison", "diy", "what is", "is it worth it", "lightweight", "waterproof", "quiet", "portable",
)  # fmt: skip
INTENTS = ("informational", "commercial", "transactional", "navigational")
STATUSES = ("new",) * 8 + ("mapped",) * 1 + ("archived",) * 1
COPY_COLUMNS = (
    "created_at",
    "updated_at",
    "keyword",
    "keyword_key",
    "volume",
    "difficulty",
    "intent",
    "status",
    "account_id",
    "site_id",
)


def _volume(rng: random.Random) -> int:
    # Log-normal, median ≈ 350: P(volume >= 1000) ≈ 30 %, a long tail up to 2 M.
    return min(2_000_000, int(rng.lognormvariate(5.86, 2.0)))


def _keyword_rows(rng: random.Random, account_id: int, site_id: int, n: int) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    seen: set[str] = set()
    rows = []
    for i in range(n):
        modifier, head = rng.choice(MODIFIERS), rng.choice(HEADS)
        text = f"{modifier.title()} {head}" if rng.random() < 0.5 else f"{head.title()} {modifier}"
        if text.lower() in seen:
            text = f"{text} {i}"
        key = text.lower()
        seen.add(key)
        created = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
        rows.append(
            (
                created,
                created,
                text,
                key,
                _volume(rng),
                rng.randrange(101),
                rng.choice(INTENTS),
                rng.choice(STATUSES),
                account_id,
                site_id,
            )
        )
    return rows


async def _create_tenants(base: str, tag: str) -> list[dict[str, Any]]:
    """Register four accounts through the API, each with one site; the first is the target."""
    tenants = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for i in range(4):
            email = f"bench-{tag}-{i}@example.com"
            status, payload = await _call(
                session,
                "POST",
                base + "/api/v1/auth/register/",
                body={"email": email, "password": PASSWORD, "account_name": f"Bench account {i}"},
            )
            data = _expect(status, payload, 201, "register")["data"]
            status, payload = await _call(
                session,
                "POST",
                base + "/api/v1/auth/sites/",
                token=data["access"],
                body={"name": f"Bench site {i}", "domain": f"bench-{i}.example.com"},
            )
            site = _expect(status, payload, 201, "create site")["data"]
            tenants.append({"email": email, "account_id": data["account"]["id"], "site_id": site["id"]})
    return tenants


async def _load_keywords(dsn: str, tenants: list[dict[str, Any]], n: int) -> dict[str, int]:
    rng = random.Random(20261128)
    conn = await asyncpg.connect(dsn)
    try:
        for i, tenant in enumerate(tenants):
            rows = _keyword_rows(rng, tenant["account_id"], tenant["site_id"], n if i == 0 else n // 4)
            await conn.copy_records_to_table("keyword", records=rows, columns=COPY_COLUMNS)
        await conn.execute("VACUUM (ANALYZE) keyword")
        target = tenants[0]
        total = await conn.fetchval("SELECT count(*) FROM keyword")
        matching = await conn.fetchval(
            "SELECT count(*) FROM keyword WHERE account_id = $1 AND site_id = $2 AND volume >= $3",
            target["account_id"],
            target["site_id"],
            VOLUME_MIN,
        )
    finally:
        await conn.close()
    return {"total": total, "matching": matching}


# --- running the pieces ------------------------------------------------------------------------


async def _start_inkflow(
    ctx: Context, database_url: str, redis_url: str, port: int, profile: str | None, workers: int
) -> str:
    assert ctx.tmp is not None
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INKFLOW_RATE_LIMITS": RATE_LIMITS,
        "INKFLOW_PLAN_LIMITS": PLAN_LIMITS,
        "INKFLOW_DATA_DIR": str(ctx.tmp / "data"),
        "INKFLOW_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable]
    if profile:
        command += ["-m", "cProfile", "-o", profile]
    command += [str(ROOT / "run.py"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:  # the supervisor and its workers, sharing the port (SO_REUSEPORT)
        command += ["--workers", str(workers)]
    return await start_server(ctx, command, env, port, 60)


async def _start_bare(ctx: Context, dsn: str, account_id: int, port: int, workers: int) -> str:
    """The bare handler as `workers` processes sharing the port the same way `serve --workers` does."""
    spawn = mp.get_context("spawn")
    for n in range(workers):
        process = spawn.Process(
            target=_bare_server_process, args=(dsn, account_id, port, workers > 1), name=f"bench-bare-server-{n}"
        )
        process.start()
        ctx.bare.append(process)
    base = f"http://127.0.0.1:{port}"
    await wait_http(base + LIST_PATH + "?site_id=1", 30, lambda: all(p.is_alive() for p in ctx.bare))
    return base


def _server_pids(pid: int) -> list[int]:
    """`pid` and its children: a `serve --workers N` supervisor's workers do the serving."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(int(child) for child in children)]


def _cpu_of(pids: list[int]) -> float | None:
    """User + system CPU seconds of these processes together, None if one is gone."""
    values = [cpu_seconds(pid) for pid in pids]
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


@dataclass
class Sampled:
    """What PostgreSQL showed while a target was under load."""

    seen: set[str] = field(default_factory=set)  # every statement text of the database's backends
    active: Counter[str] = field(default_factory=Counter)  # how often each was seen executing
    backend_cpu: float = 0.0  # CPU seconds the database's backends used in the measured phase


async def _sample_statements(dsn: str, db_name: str, stop: asyncio.Event) -> Sampled:
    """Poll pg_stat_activity of the benchmark database every 50 ms: the statement texts, a
    sampling profile of where database time goes, and the backends' CPU time (same host)."""
    out = Sampled()
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            done = stop.is_set()
            rows = await conn.fetch(
                "SELECT pid, state, query FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'",
                db_name,
            )
            for row in rows:
                cpu = cpu_seconds(row["pid"])
                if cpu is not None:
                    first.setdefault(row["pid"], cpu)
                    last[row["pid"]] = cpu
                text = (row["query"] or "").strip()
                if not text or done:
                    continue
                out.seen.add(text)
                if row["state"] == "active":
                    out.active[text] += 1
            if done:
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    out.backend_cpu = sum(last[pid] - first[pid] for pid in last)
    return out


async def _measure(
    ctx: Context,
    name: str,
    url: str,
    headers: dict[str, str],
    connections: int,
    duration: float,
    server_pid: int,
    database: tuple[str, str],
) -> tuple[Measured, Sampled]:
    spawn = mp.get_context("spawn")
    receiver, sender = spawn.Pipe(duplex=False)
    ctx.load = spawn.Process(
        target=_load_process,
        args=(url, headers, connections, WARMUP_S, duration, MAX_REQUESTS_PER_PHASE, sender),
        name=f"bench-load-{name}",
    )
    ctx.load.start()
    sender.close()
    stop = asyncio.Event()
    sampler = None
    server_cpu = None
    machine_start = machine_end = (float("nan"), float("nan"))
    deadline = time.monotonic() + WARMUP_S + duration + 2 * REQUEST_TIMEOUT_S + 60
    result: dict[str, Any] = {}
    try:
        while "latencies" not in result and "error" not in result:
            if receiver.poll():
                result = receiver.recv()
                if result.get("phase") == "measure":
                    server_cpu = cpu_seconds(server_pid)
                    machine_start = machine_busy()
                    sampler = asyncio.create_task(_sample_statements(*database, stop))
                continue
            if time.monotonic() > deadline:
                raise RuntimeError(f"the load generator for {name} did not finish in time")
            if not ctx.load.is_alive() and not receiver.poll():
                raise RuntimeError(f"the load generator for {name} died (exit code {ctx.load.exitcode})")
            await asyncio.sleep(0.05)
        end_cpu = cpu_seconds(server_pid)
        machine_end = machine_busy()
    finally:
        stop.set()
        sampled = await sampler if sampler is not None else Sampled()
        receiver.close()
        ctx.load.join(10)
        if ctx.load.is_alive():
            ctx.load.terminate()
            ctx.load.join(5)
        ctx.load = None
    if "error" in result:
        raise RuntimeError(f"load generator for {name}: {result['error']}")
    latencies = array("d")
    latencies.frombytes(result["latencies"])
    ordered = sorted(latencies)
    statuses = result["statuses"]
    ok = statuses.get("200", 0)
    per_request = 1000 / ok if ok else float("nan")
    server_used = end_cpu - server_cpu if server_cpu is not None and end_cpu is not None else float("nan")
    span = machine_end[1] - machine_start[1]  # CPU seconds of all cores, busy or not
    cores = int(machine_info()["nproc"])
    wall = span / cores if span > 0 else result["elapsed"]
    ours = server_used + sampled.backend_cpu + result["cpu"]
    other = ((machine_end[0] - machine_start[0]) - ours) / wall if span > 0 else float("nan")
    measured = Measured(
        name=name,
        rps=ok / result["elapsed"],
        p50_ms=percentile(ordered, 0.50) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        requests=sum(statuses.values()),
        errors=sum(count for status, count in statuses.items() if status != "200"),
        statuses=statuses,
        server_cpu_ms=server_used * per_request,
        db_cpu_ms=sampled.backend_cpu * per_request,
        client_cpu_ms=result["cpu"] * per_request,
        seconds=result["elapsed"],
        other_cores=other if math.isnan(other) else max(0.0, other),
    )
    return measured, sampled


async def _bulk_status(base: str, token: str, ids: list[int]) -> tuple[float, list[float]]:
    print(f"bulk_status with {len(ids):,} ids × {BULK_RUNS} …", flush=True)
    timings = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        # One untimed call first, like the warm-up of the list runs.
        body = {"ids": ids, "status": "new"}
        status, payload = await _call(session, "POST", base + BULK_PATH, token=token, body=body)
        _expect(status, payload, 200, "bulk_status")
        for run in range(BULK_RUNS):
            body = {"ids": ids, "status": "mapped" if run % 2 == 0 else "new"}
            started = time.perf_counter()
            status, payload = await _call(session, "POST", base + BULK_PATH, token=token, body=body)
            timings.append((time.perf_counter() - started) * 1000)
            data = _expect(status, payload, 200, "bulk_status")["data"]
            if data["updated"] != len(ids) or data["not_found"]:
                raise RuntimeError(f"bulk_status updated {data['updated']} of {len(ids)}")
    return sorted(timings)[len(timings) // 2], timings


PARAM_RE = re.compile(r'"(account_id|site_id|volume)"\s*(?:=|>=)\s*\$(\d+)')
LIMIT_RE = re.compile(r"\bLIMIT\s+\$(\d+)", re.IGNORECASE)
OFFSET_RE = re.compile(r"\bOFFSET\s+\$(\d+)", re.IGNORECASE)
INDEX_RE = re.compile(r"(Index Only Scan|Index Scan Backward|Index Scan|Bitmap Index Scan)(?: using| on) (\S+)")


def _is_page_query(text: str) -> bool:
    # (The list fast path sends count and page as one statement: that one is the page query.)
    return 'FROM "keyword"' in text and "ORDER BY" in text.upper()


def _is_count_query(text: str) -> bool:
    return 'FROM "keyword"' in text and "count(" in text.lower() and "ORDER BY" not in text.upper()


async def _explain(dsn: str, text: str, values: dict[str, int]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of `text` as a prepared statement, the way asyncpg runs it
    (after six executions, so PostgreSQL has also had its chance to switch to a generic plan)."""
    numbers: dict[int, int] = {}
    for column, number in PARAM_RE.findall(text):
        numbers[int(number)] = values[column]
    for regex, key in ((LIMIT_RE, "limit"), (OFFSET_RE, "offset")):
        if match := regex.search(text):
            numbers[int(match.group(1))] = values[key]
    placeholders = sorted(int(n) for n in re.findall(r"\$(\d+)", text))
    missing = [n for n in placeholders if n not in numbers]
    if missing:
        return f"(could not map parameters {missing} of: {text})"
    conn = await asyncpg.connect(dsn)
    try:
        if not placeholders:
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + text)
        else:
            args = ", ".join(str(numbers[n]) for n in range(1, max(placeholders) + 1))
            await conn.execute("PREPARE bench_q AS " + text)
            for _ in range(6):
                await conn.execute(f"EXECUTE bench_q({args})")
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q({args})")
    finally:
        await conn.close()
    return "\n".join(row[0] for row in rows)


def _index_verdict(plan: str) -> str:
    used = INDEX_RE.findall(plan)
    if used:
        names = ", ".join(dict.fromkeys(f"{kind} {name}" for kind, name in used))
        seq = " (plus a Seq Scan)" if "Seq Scan on keyword" in plan else ""
        return f"yes: {names}{seq}"
    return "NO (Seq Scan)" if "Seq Scan" in plan else "unknown"


# --- report ------------------------------------------------------------------------------------


def _report(
    args: argparse.Namespace,
    info: dict[str, Any],
    inkflow: Measured,
    bare: Measured,
    bulk_median: float,
    bulk_all: list[float],
    explains: dict[str, str],
    statements: dict[str, Sampled],
) -> str:
    rps_ratio = inkflow.rps / bare.rps if bare.rps else float("nan")
    p50_ratio = inkflow.p50_ms / bare.p50_ms if bare.p50_ms else float("nan")
    p99_ratio = inkflow.p99_ms / bare.p99_ms if bare.p99_ms else float("nan")
    machine = info["machine"]
    lines = [
        f"## Planner benchmark — {info['date']}",
        "",
        f"machine: {machine['nproc']} cores, {machine['cpu']}, Python {machine['python']}, "
        f"PostgreSQL {info['postgres']}, aiohttp {aiohttp.__version__}, asyncpg {asyncpg.__version__}",
        f"data: target site {args.keywords:,} keywords ({info['matching']:,} with volume >= {VOLUME_MIN:,}); "
        f"3 other accounts' sites with {args.keywords // 4:,} each; {info['total']:,} keyword rows in all",
        f"load: {args.connections} connections, {WARMUP_S:g} s warm-up then {args.duration:g} s per target, "
        "one aiohttp client process on loopback, targets run one after the other",
        f"list: GET {LIST_PATH}?site_id=…&volume_min={VOLUME_MIN}&ordering=-volume&page_size={PAGE_SIZE} "
        "(Bearer token; general limit raised to 100,000,000/min, still counted in Redis)",
        "",
        "| | req/s | p50 ms | p99 ms | requests | errors | server CPU ms/req | PostgreSQL CPU ms/req "
        "| client CPU ms/req | other processes, cores |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in (inkflow, bare):
        lines.append(
            f"| {row.name} | {fmt(row.rps)} | {fmt(row.p50_ms, 2)} | {fmt(row.p99_ms, 2)} "
            f"| {row.requests:,} | {row.errors:,} | {fmt(row.server_cpu_ms, 2)} | {fmt(row.db_cpu_ms, 2)} "
            f"| {fmt(row.client_cpu_ms, 2)} | {fmt(row.other_cores, 2)} |"
        )
    lines.append(
        f"| ratio (inkflow / bare) | {fmt(rps_ratio, 2)} | {fmt(p50_ratio, 2)} | {fmt(p99_ratio, 2)} | | "
        f"| {fmt(inkflow.server_cpu_ms / bare.server_cpu_ms, 2)} | {fmt(inkflow.db_cpu_ms / bare.db_cpu_ms, 2)} "
        f"| {fmt(inkflow.client_cpu_ms / bare.client_cpu_ms, 2)} | |"
    )
    lines.append(
        f"| bulk_status {BULK_IDS:,} ids | — | {fmt(bulk_median, 1)} (median of {BULK_RUNS}) "
        f"| {fmt(max(bulk_all), 1)} (max of {BULK_RUNS}) | {BULK_RUNS} | 0 | | | | |"
    )
    lines += [
        "",
        "CPU columns: user+system time per successful request of the server process, of the benchmark "
        "database's PostgreSQL backends and of the load generator, over the measured phase (/proc); "
        f"'other processes' is the rest of the machine's busy CPU meanwhile, out of {machine['nproc']} cores.",
    ]
    busiest = max(inkflow.other_cores, bare.other_cores)
    if busiest > 0.2:
        lines.append(
            f"WARNING: other processes used up to {busiest:.2f} cores during a measured phase; the numbers "
            "are disturbed (re-run on a quiet machine, or with --wait-idle)."
        )

    list_index = _index_verdict(explains.get("page", ""))
    lines += [
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
        f"| list req/s ≥ {TARGET_RPS_RATIO:.0%} of bare | {fmt(rps_ratio * 100, 0)} % "
        f"| {verdict(rps_ratio >= TARGET_RPS_RATIO)} |",
        f"| list p99 ≤ {TARGET_P99_RATIO}× bare p99 | {fmt(p99_ratio, 2)}× "
        f"| {verdict(p99_ratio <= TARGET_P99_RATIO)} |",
        f"| bulk_status {BULK_IDS:,} ids < {TARGET_BULK_MS:.0f} ms | {fmt(bulk_median, 1)} ms "
        f"| {verdict(bulk_median < TARGET_BULK_MS)} |",
        f"| list query uses an index | {list_index} | {verdict(list_index.startswith('yes'))} |",
        f"| no errors under load | {inkflow.errors + bare.errors} | {verdict(inkflow.errors + bare.errors == 0)} |",
    ]
    for label, key in (("list page query", "page"), ("list count query", "count")):
        if key in explains:
            lines += ["", f"EXPLAIN (ANALYZE, BUFFERS) of the {label} as the ORM sent it:", "```", explains[key], "```"]
    for name, sampled in statements.items():
        seen, active = sampled.seen, sampled.active
        total = sum(active.values())
        lines += ["", f"statements PostgreSQL showed during the {name} run ({total} active samples):"]
        for text in sorted(seen, key=lambda t: -active.get(t, 0)):
            share = active.get(text, 0) / total if total else 0.0
            lines.append(f"  {share:6.1%}  {' '.join(text.split())[:200]}")
    if any(row.statuses.keys() - {"200"} for row in (inkflow, bare)):
        lines += ["", f"statuses: inkflow {inkflow.statuses}, bare {bare.statuses}"]
    return "\n".join(lines)


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Prepared:
    """What both load generators need: the two servers, the caller and the data."""

    dsn: str
    base: str
    bare_base: str
    token: str
    query: str
    target: dict[str, Any]
    counts: dict[str, int]
    info: dict[str, Any]
    detail_id: int = 0
    write_site_id: int = 0
    bulk_ids: list[int] = field(default_factory=list)


async def _run(args: argparse.Namespace, ctx: Context) -> str:
    prepared = await _prepare(args, ctx)
    if args.load == "wrk":
        return await _run_wrk(args, ctx, prepared)
    return await _run_aiohttp(args, ctx, prepared)


async def _prepare(args: argparse.Namespace, ctx: Context) -> Prepared:
    database_url = args.database_url
    dsn = asyncpg_dsn(database_url)
    postgres_version = await create_database(ctx, database_url)
    ctx.tmp = Path(tempfile.mkdtemp(prefix="inkflow-bench-"))
    await run_seed(database_url, ctx.tmp, 300)

    print("starting the Inkflow server …", flush=True)
    base = await _start_inkflow(ctx, database_url, args.redis_url, free_port(), args.profile_server, args.workers)
    tenants = await _create_tenants(base, uuid.uuid4().hex[:6])
    target = tenants[0]
    print(f"loading {args.keywords:,} + 3 × {args.keywords // 4:,} keywords …", flush=True)
    counts = await _load_keywords(dsn, tenants, args.keywords)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        status, payload = await _call(
            session, "POST", base + "/api/v1/auth/login/", body={"email": target["email"], "password": PASSWORD}
        )
        token = _expect(status, payload, 200, "login")["data"]["access"]

    print("starting the bare asyncpg server …", flush=True)
    bare_base = await _start_bare(ctx, dsn, target["account_id"], free_port(), args.workers)

    query = f"?site_id={target['site_id']}&volume_min={VOLUME_MIN}&ordering=-volume&page_size={PAGE_SIZE}"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        status, health = await _call(session, "GET", base + HEALTH_PATH)
        if _expect(status, health, 200, "health")["data"]["status"] != "ok":
            raise RuntimeError(f"the server is not healthy (Redis?): {health['data']}")
        async with session.get(base + LIST_PATH + query, headers=headers) as response:
            mine = _expect(response.status, await response.json(), 200, "inkflow list")
            limit = response.headers.get("X-RateLimit-Limit")
            if limit != RATE_LIMITS.rsplit("=", 1)[1]:
                raise RuntimeError(f"the general limit is {limit}, not the raised one: is the limiter configured?")
        async with session.get(bare_base + LIST_PATH + query) as response:
            theirs = _expect(response.status, await response.json(), 200, "bare list")
    same_ids = [r["id"] for r in mine["results"]] == [r["id"] for r in theirs["results"]]
    if mine["count"] != counts["matching"] or theirs["count"] != counts["matching"] or not same_ids:
        raise RuntimeError(
            f"the two servers disagree: counts {mine['count']} / {theirs['count']} (expected {counts['matching']}), "
            f"same page ids: {same_ids}"
        )
    if len(mine["results"]) != min(PAGE_SIZE, counts["matching"]):
        raise RuntimeError(f"the list returned {len(mine['results'])} rows")

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        status, payload = await _call(
            session,
            "POST",
            base + "/api/v1/auth/sites/",
            token=token,
            body={"name": "Bench write site", "domain": f"bench-write-{uuid.uuid4().hex[:6]}.example.com"},
        )
        write_site_id = _expect(status, payload, 201, "create the write site")["data"]["id"]
    conn = await asyncpg.connect(dsn)
    try:
        ids = [
            row["id"]
            for row in await conn.fetch(
                "SELECT id FROM keyword WHERE site_id = $1 ORDER BY random() LIMIT $2", target["site_id"], BULK_IDS
            )
        ]
    finally:
        await conn.close()
    info = {
        "date": report_date(),
        "machine": machine_info(),
        "postgres": postgres_version,
        "total": counts["total"],
        "matching": counts["matching"],
    }
    return Prepared(
        dsn=dsn,
        base=base,
        bare_base=bare_base,
        token=token,
        query=query,
        target=target,
        counts=counts,
        info=info,
        detail_id=mine["results"][0]["id"],
        write_site_id=write_site_id,
        bulk_ids=ids,
    )


async def _run_aiohttp(args: argparse.Namespace, ctx: Context, p: Prepared) -> str:
    """The aiohttp-client load generator: one target after the other, the list only, with
    PostgreSQL's statement sampling and EXPLAIN."""
    dsn, base, bare_base, token, query, target = p.dsn, p.base, p.bare_base, p.token, p.query, p.target
    assert ctx.server is not None and ctx.bare
    headers = {"Authorization": f"Bearer {token}"}
    print(f"load: inkflow, {args.connections} connections, {args.duration:g} s …", flush=True)
    database = (dsn, ctx.db_name)
    load = (args.connections, args.duration)
    if args.wait_idle:
        await wait_until_idle(args.wait_idle)
    inkflow, inkflow_sampled = await _measure(
        ctx, "inkflow list", base + LIST_PATH + query, headers, *load, ctx.server.pid, database
    )
    print(f"load: bare asyncpg, {args.connections} connections, {args.duration:g} s …", flush=True)
    if args.wait_idle:
        await wait_until_idle(args.wait_idle)
    bare, bare_sampled = await _measure(
        ctx, "bare asyncpg list", bare_base + LIST_PATH + query, {}, *load, ctx.bare[0].pid, database
    )
    statements = {"inkflow": inkflow_sampled, "bare": bare_sampled}

    values = {
        "account_id": target["account_id"],
        "site_id": target["site_id"],
        "volume": VOLUME_MIN,
        "limit": PAGE_SIZE,
        "offset": 0,
    }
    # Before bulk_status, whose updates clear visibility-map bits: the plan of the measured phase.
    explains = {}
    orm_statements = inkflow_sampled.seen
    for key, test in (("page", _is_page_query), ("count", _is_count_query)):
        text = next((t for t in sorted(orm_statements) if test(t)), None)
        if text is None:
            ctx.notes.append(f"the ORM's {key} query was not seen in pg_stat_activity")
            continue
        explains[key] = await _explain(dsn, text, values)

    bulk_median, bulk_all = await _bulk_status(base, token, p.bulk_ids)
    report = _report(args, p.info, inkflow, bare, bulk_median, bulk_all, explains, statements)
    if ctx.notes:
        report += "\n\nnotes:\n" + "\n".join(f"- {note}" for note in ctx.notes)
    return report


# --- wrk: the load generator in C (the default when it is installed) ------------------------------

WRK_INSTALL = "apt-get install -y wrk  (Debian/Ubuntu; or `make wrk`)"
WRK_THREADS = 2
WRK_TIMEOUT = "10s"
# Every wrk script ends with this: one line of JSON the parent reads (latencies in microseconds).
WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
    .. '"p50":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""
# POST with a body; every request a keyword no other request used: the round's prefix (argument 1),
# the wrk thread's number and a counter.
WRK_WRITE = """
local counter = 0
local made = 0
local prefix = "bench"
local site = 0
setup = function(thread)
  made = made + 1
  thread:set("tid", made)
end
init = function(args)
  prefix = args[1] .. " t" .. tostring(tid)
  site = tonumber(args[2])
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
request = function()
  counter = counter + 1
  local body = string.format('{"site_id":%d,"keyword":"%s n%d","volume":%d}', site, prefix, counter, counter % 5000)
  return wrk.format(nil, nil, nil, body)
end
"""
WRK_ROWS = ("list", "detail", "write")


@dataclass
class WrkRun:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    server_cpu_ms: float  # CPU of the target's server process per request
    busy_cores: float  # the whole machine's busy CPU meanwhile, in cores


def _wrk_scripts(tmp: Path) -> dict[str, Path]:
    read, write = tmp / "wrk_read.lua", tmp / "wrk_write.lua"
    read.write_text(WRK_DONE)
    write.write_text(WRK_WRITE + WRK_DONE)
    return {"list": read, "detail": read, "write": write}


async def _wrk(
    url: str,
    script: Path,
    headers: dict[str, str],
    connections: int,
    duration: float,
    server_pids: list[int],
    script_args: list[str],
) -> WrkRun:
    """One wrk run against `url`; the server's CPU and the machine's load are read around it."""
    command = ["wrk", f"-t{min(WRK_THREADS, connections)}", f"-c{connections}", f"-d{duration:g}s"]
    command += ["--timeout", WRK_TIMEOUT, "--latency", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command += [url, "--", *script_args]
    cpu0, busy0 = _cpu_of(server_pids), machine_busy()
    proc = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), duration + 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"wrk did not finish: {' '.join(command)}") from None
    cpu1, busy1 = _cpu_of(server_pids), machine_busy()
    text = out.decode(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}): {text[-2000:]}")
    data = json.loads(line.removeprefix("WRKJSON "))
    seconds = data["duration_us"] / 1e6
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    ok = max(1, data["requests"] - data["status"])
    cores = int(machine_info()["nproc"])
    span = busy1[1] - busy0[1]
    return WrkRun(
        rps=data["requests"] / seconds if seconds else float("nan"),
        p50_ms=data["p50"] / 1000,
        p99_ms=data["p99"] / 1000,
        requests=data["requests"],
        errors=errors,
        server_cpu_ms=(cpu1 - cpu0) * 1000 / ok if cpu0 is not None and cpu1 is not None else float("nan"),
        busy_cores=(busy1[0] - busy0[0]) / span * cores if span > 0 else float("nan"),
    )


def _median(values: list[float]) -> float:
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


async def _clear_written(dsn: str, site_id: int) -> None:
    """Empty the write site between rounds, so each round starts with the same table."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM keyword WHERE site_id = $1", site_id)
    finally:
        await conn.close()


async def _run_wrk(args: argparse.Namespace, ctx: Context, prepared: Prepared) -> str:
    """Both targets, the three rows, in alternating rounds (bare first in odd rounds, Inkflow
    first in even ones), after one unmeasured warm-up run of each."""
    assert ctx.tmp is not None and ctx.server is not None and ctx.bare
    scripts = _wrk_scripts(ctx.tmp)
    p = prepared
    server = ctx.server
    targets: dict[str, tuple[str, dict[str, str], Callable[[], list[int]]]] = {
        "inkflow": (p.base, {"Authorization": f"Bearer {p.token}"}, lambda: _server_pids(server.pid)),
        "bare": (p.bare_base, {}, lambda: [process.pid for process in ctx.bare]),
    }
    paths = {"list": LIST_PATH + p.query, "detail": f"{LIST_PATH}{p.detail_id}/", "write": LIST_PATH}
    results: dict[tuple[str, str], list[WrkRun]] = {(row, t): [] for row in WRK_ROWS for t in targets}
    tag = uuid.uuid4().hex[:4]

    async def one(row: str, target: str, duration: float, label: str) -> WrkRun:
        base, headers, pids = targets[target]
        script_args = [f"bench {tag} {label} {target}", str(p.write_site_id)] if row == "write" else []
        if row == "write":
            await _clear_written(p.dsn, p.write_site_id)
        return await _wrk(base + paths[row], scripts[row], headers, args.connections, duration, pids(), script_args)

    print(f"wrk warm-up: {WARMUP_S:g} s per row and target …", flush=True)
    for row in WRK_ROWS:
        for target in targets:
            await one(row, target, WARMUP_S, "warm")
    for n in range(1, args.rounds + 1):
        order = ("bare", "inkflow") if n % 2 else ("inkflow", "bare")
        for row in WRK_ROWS:
            for target in order:
                if args.wait_idle:
                    await wait_until_idle(args.wait_idle)
                print(f"round {n}/{args.rounds}: {row} {target}, {args.duration:g} s …", flush=True)
                results[(row, target)].append(await one(row, target, args.duration, f"r{n}"))
    await _clear_written(p.dsn, p.write_site_id)
    bulk_median, bulk_all = await _bulk_status(p.base, p.token, p.bulk_ids)
    report = _report_wrk(args, p, results, bulk_median, bulk_all)
    if ctx.notes:
        report += "\n\nnotes:\n" + "\n".join(f"- {note}" for note in ctx.notes)
    return report


def _report_wrk(
    args: argparse.Namespace,
    p: Prepared,
    results: dict[tuple[str, str], list[WrkRun]],
    bulk_median: float,
    bulk_all: list[float],
) -> str:
    machine = p.info["machine"]
    lines = [
        f"## Planner benchmark (wrk) — {p.info['date']}",
        "",
        f"machine: {machine['nproc']} cores, {machine['cpu']}, Python {machine['python']}, "
        f"PostgreSQL {p.info['postgres']}, aiohttp {aiohttp.__version__}, asyncpg {asyncpg.__version__}",
        f"data: target site {args.keywords:,} keywords ({p.info['matching']:,} with volume >= {VOLUME_MIN:,}); "
        f"3 other accounts' sites with {args.keywords // 4:,} each; {p.info['total']:,} keyword rows in all",
        f"load: wrk, {args.connections} connections, {WRK_THREADS} threads, {args.duration:g} s per run, "
        f"{args.rounds} alternating rounds (bare first in odd rounds) after a {WARMUP_S:g} s warm-up; "
        "medians over the rounds; both servers run all the time, "
        + ("one process each" if args.workers == 1 else f"{args.workers} processes each (SO_REUSEPORT)"),
        f"list: GET {LIST_PATH}?site_id=…&volume_min={VOLUME_MIN}&ordering=-volume&page_size={PAGE_SIZE}; "
        f"detail: GET {LIST_PATH}{{id}}/; write: POST {LIST_PATH} (a new keyword each request, into an "
        "empty site of the same account, emptied before each run)",
        "",
        "| row | target | req/s | p50 ms | p99 ms | errors | server CPU ms/req | machine busy, cores |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    for row in WRK_ROWS:
        medians = {}
        for target in ("inkflow", "bare"):
            runs = results[(row, target)]
            m = {
                "rps": _median([r.rps for r in runs]),
                "p50": _median([r.p50_ms for r in runs]),
                "p99": _median([r.p99_ms for r in runs]),
                "cpu": _median([r.server_cpu_ms for r in runs]),
                "busy": _median([r.busy_cores for r in runs]),
                "errors": sum(r.errors for r in runs),
            }
            medians[target] = m
            lines.append(
                f"| {row} | {target} | {fmt(m['rps'])} | {fmt(m['p50'], 2)} | {fmt(m['p99'], 2)} "
                f"| {m['errors']:,} | {fmt(m['cpu'], 2)} | {fmt(m['busy'], 2)} |"
            )
        ink, bare = medians["inkflow"], medians["bare"]
        rps_ratio = ink["rps"] / bare["rps"] if bare["rps"] else float("nan")
        p50_ratio = ink["p50"] / bare["p50"] if bare["p50"] else float("nan")
        p99_ratio = ink["p99"] / bare["p99"] if bare["p99"] else float("nan")
        cpu_ratio = ink["cpu"] / bare["cpu"] if bare["cpu"] else float("nan")
        lines.append(
            f"| {row} | **ratio** | **{fmt(rps_ratio * 100, 0)} %** | {fmt(p50_ratio, 2)}× "
            f"| **{fmt(p99_ratio, 2)}×** | | {fmt(cpu_ratio, 2)}× | |"
        )
        verdicts.append((row, rps_ratio, p99_ratio, ink["errors"] + bare["errors"]))
    lines += ["", "per round, Inkflow / bare req/s:"]
    for row in WRK_ROWS:
        ratios = [
            fmt(i.rps / b.rps * 100, 0) + " %"
            for i, b in zip(results[(row, "inkflow")], results[(row, "bare")], strict=True)
            if b.rps
        ]
        lines.append(f"  {row}: {', '.join(ratios)}")
    lines += [
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
    ]
    for row, rps_ratio, p99_ratio, errors in verdicts:
        lines.append(
            f"| {row} req/s ≥ {TARGET_RPS_RATIO:.0%} of bare | {fmt(rps_ratio * 100, 0)} % "
            f"| {verdict(rps_ratio >= TARGET_RPS_RATIO)} |"
        )
        lines.append(
            f"| {row} p99 ≤ {TARGET_P99_RATIO}× bare | {fmt(p99_ratio, 2)}× "
            f"| {verdict(p99_ratio <= TARGET_P99_RATIO)} |"
        )
        lines.append(f"| {row}: no errors under load | {errors} | {verdict(errors == 0)} |")
    lines.append(
        f"| bulk_status {BULK_IDS:,} ids < {TARGET_BULK_MS:.0f} ms | {fmt(bulk_median, 1)} ms "
        f"(max {fmt(max(bulk_all), 1)}) | {verdict(bulk_median < TARGET_BULK_MS)} |"
    )
    busiest = max(r.busy_cores for runs in results.values() for r in runs)
    lines += [
        "",
        "server CPU: user+system time of the target's server process per request (/proc); machine busy: "
        f"all processes, out of {machine['nproc']} cores (wrk, both servers, PostgreSQL, Redis and anything else).",
    ]
    if busiest > float(machine["nproc"]) * 0.98:
        lines.append("note: the machine was saturated in some runs; only the ratios of alternating rounds compare.")
    return "\n".join(lines)


async def _cleanup(ctx: Context) -> None:
    if ctx.load is not None and ctx.load.is_alive():
        ctx.load.terminate()
        ctx.load.join(5)
    for process in ctx.bare:
        stop_process(process)
    await stop_server(ctx)
    await remove_created(ctx)


async def _main(args: argparse.Namespace) -> str:
    return await run_and_clean(Context(), lambda ctx: _run(args, ctx), _cleanup)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.bench_planner", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--duration", type=float, help="seconds of measured load per target (default 20; 3 quick)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--keywords", type=int, help="keywords of the target site (default 100000; 10000 quick)")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL of a database to create (it must not exist) and drop at the end "
        "(default postgres://postgres@127.0.0.1:5432/inkflow_bench_<random>)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="Redis for the rate limiter")
    parser.add_argument("--quick", action="store_true", help="3-second smoke run with 10,000 keywords")
    parser.add_argument(
        "--load",
        choices=["wrk", "aiohttp"],
        help="the load generator: wrk (list, detail and write rows, alternating rounds; the default when "
        "wrk is installed) or the aiohttp client (the list only, one target after the other)",
    )
    parser.add_argument("--rounds", type=int, help="alternating rounds with wrk (default 3; 2 quick)")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each target, wait up to SECONDS for the machine to be < 15%% busy (default 0: don't wait)",
    )
    parser.add_argument("--profile-server", metavar="FILE", help="run the Inkflow server under cProfile into FILE")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run Inkflow as `serve --workers N` and the bare handler as N processes on one port (default 1; "
        "N > 1 needs wrk)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.duration is None:
        args.duration = 3.0 if args.quick else 20.0
    if args.keywords is None:
        args.keywords = 10_000 if args.quick else 100_000
    if args.rounds is None:
        args.rounds = 2 if args.quick else 3
    if args.load is None:
        args.load = "wrk" if shutil.which("wrk") else "aiohttp"
        if args.load == "aiohttp":
            print(f"wrk is not installed, using the aiohttp client instead; to install it: {WRK_INSTALL}", flush=True)
    elif args.load == "wrk" and not shutil.which("wrk"):
        raise SystemExit(f"error: wrk is not installed; to install it: {WRK_INSTALL}")
    if args.profile_server:
        args.profile_server = str(Path(args.profile_server).resolve())
    if args.workers < 1 or (args.workers > 1 and (args.load != "wrk" or args.profile_server)):
        raise SystemExit("error: --workers must be >= 1; more than 1 needs --load wrk and no --profile-server")
    if args.database_url is None:
        args.database_url = f"postgres://postgres@127.0.0.1:5432/inkflow_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if args.duration <= 0 or args.connections < 1 or args.keywords < PAGE_SIZE or args.rounds < 1:
        raise SystemExit("error: --duration must be > 0, --connections >= 1, --keywords >= 100, --rounds >= 1")
    print(asyncio.run(_main(args)), flush=True)


if __name__ == "__main__":
    main()
