"""Websocket fan-out benchmark: one event to N subscribed clients, on loopback.

    python run.py bench ws                       # N = 100, 1,000, 5,000; in memory and on Redis
    python run.py bench ws --quick               # N = 100, 1,000; fewer events
    python run.py bench ws --clients 1000 --backends memory

Set-up: a fresh SQLite database (`run.py seed`), one account with queued jobs that belong to no
site (so no actor runs them), and a real `python run.py serve` process, without Redis (the memory
bus) or with REDIS_URL (the Redis bus). The clients run in `--procs` separate processes
(multiprocessing, spawn), each holding N / procs websockets authenticated with `?token=` and
subscribed to `account`, so the load generator is not the server's bottleneck.

An event is made by `POST /api/v1/jobs/{id}/cancel/` on one of those queued jobs: the server
publishes `job.cancelled` on `account:<id>` through its bus, like any job event. Each client
notes when each event arrives; delivery latency = arrival − the event's `ts` (stamped at publish,
millisecond precision, same clock: one machine).

- latency phase: `--events` events, one every `--gap` seconds (so fan-outs don't overlap);
  p50/p99/max over every (client, event) delivery.
- throughput phase: `--burst` events fired back to back (8 requests in flight); events/s =
  deliveries (clients × events) / (last arrival − first publish).

Every client must receive every event exactly once; missing or duplicate deliveries are reported.
Targets (issue 9): p99 < 100 ms at 1,000 clients; 5,000 clients held by one server process.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from tests.perf.common import (
    FERNET_KEY,
    PASSWORD,
    ROOT,
    RunContext,
    fmt,
    free_port,
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
)

SECRET_KEY = "bench-ws-secret-key-long-enough-for-hs256-0123456789abcdefghij"
HIGH = 100_000_000
RATE_LIMITS = f"ai={HIGH},content={HIGH},auth=1000,general={HIGH}"
START_TIMEOUT_S = 60.0
SEED_TIMEOUT_S = 300.0
CONNECT_TIMEOUT_S = 300.0
DELIVERY_TIMEOUT_S = 60.0
CONNECT_CONCURRENCY = 100  # websocket handshakes in flight per client process
BURST_IN_FLIGHT = 8
TARGET_P99_MS = 100.0
TARGET_AT = 1000


@dataclass
class Context(RunContext):
    database_url: str = ""
    clients: list[Any] = field(default_factory=list)


@dataclass
class Result:
    backend: str
    clients: int
    connect_s: float
    latencies_ms: list[float]
    deliveries_per_s: float
    missing: int
    duplicates: int


def raise_fd_limit() -> None:
    """Each websocket is a file descriptor: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _ts_epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


# --- the client processes ----------------------------------------------------------------------


def _client_process(conn: Any, url: str, count: int, latency_ids: list[int], burst_ids: list[int]) -> None:
    """Hold `count` websockets subscribed to `account`; report arrivals when told to stop."""
    raise_fd_limit()
    asyncio.run(_clients(conn, url, count, set(latency_ids), set(burst_ids)))


async def _clients(conn: Any, url: str, count: int, latency_ids: set[int], burst_ids: set[int]) -> None:
    latencies: list[float] = []
    burst_first_ts = float("inf")
    burst_last_arrival = 0.0
    seen: dict[tuple[int, int], int] = {}  # (socket, job id) → deliveries

    async def hold(session: aiohttp.ClientSession, index: int, ready: asyncio.Semaphore) -> None:
        nonlocal burst_first_ts, burst_last_arrival
        async with ready:
            ws = await session.ws_connect(url, autoping=True, max_msg_size=0)
            await ws.send_json({"id": 1, "type": "subscribe", "channel": "account"})
            answer = await ws.receive_json(timeout=60)
            if answer.get("success") is not True:
                raise RuntimeError(f"subscribe failed: {answer}")
        connected.append(index)
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            arrival = time.time()
            event = msg.json()
            if event.get("type") != "event" or event["event"] != "job.cancelled":
                continue
            job_id = event["data"]["id"]
            key = (index, job_id)
            seen[key] = seen.get(key, 0) + 1
            sent = _ts_epoch(event["ts"])
            if job_id in latency_ids:
                latencies.append((arrival - sent) * 1000)
            elif job_id in burst_ids:
                burst_first_ts = min(burst_first_ts, sent)
                burst_last_arrival = max(burst_last_arrival, arrival)

    connected: list[int] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
        ready = asyncio.Semaphore(CONNECT_CONCURRENCY)
        tasks = [asyncio.create_task(hold(session, i, ready)) for i in range(count)]
        loop = asyncio.get_running_loop()
        while len(connected) < count:
            failed = [t for t in tasks if t.done() and t.exception() is not None]
            if failed:
                conn.send(("error", repr(failed[0].exception())))
                return
            await asyncio.sleep(0.05)
        conn.send(("ready", count))
        # Wait for the parent's "report" without blocking the loop.
        await loop.run_in_executor(None, conn.recv)
        expected = len(latency_ids) + len(burst_ids)
        per_socket = Counter(i for i, _job in seen)
        missing = sum(expected - per_socket[k] for k in range(count))
        duplicates = sum(n - 1 for n in seen.values() if n > 1)
        conn.send(("report", latencies, burst_first_ts, burst_last_arrival, missing, duplicates))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- the run -----------------------------------------------------------------------------------


async def _make_world(ctx: Context, jobs: int) -> tuple[str, list[int]]:
    """One account with `jobs` queued, site-less jobs; an access token for it."""
    from config.settings import Settings
    from models.db import open_database
    from models.jobs import Job
    from services import auth
    from services.security import Crypto

    assert ctx.tmp is not None
    settings = Settings(
        database_url=ctx.database_url,
        data_dir=ctx.tmp / "data",
        secret_key=SECRET_KEY,
        encryption_key=FERNET_KEY,
        migrate_on_start=False,
        access_ttl=86_400,
    )
    orm = await open_database(ctx.database_url)
    try:
        user, account = await auth.register(settings, email="bench-ws@example.com", password=PASSWORD)
        await Job.bulk_create(
            [Job(account_id=account.id, user_id=user.id, kind="bench_ws", status="queued") for _ in range(jobs)],
            batch_size=500,
        )
        ids = list(await Job.filter(account_id=account.id).order_by("id").values_list("id", flat=True))
    finally:
        await orm.close_connections()
    token, _ = Crypto(SECRET_KEY, FERNET_KEY, 86_400).issue_access(user.id, account.id)
    return token, ids


async def _start(ctx: Context, redis_url: str | None) -> str:
    assert ctx.tmp is not None
    env = {
        **os.environ,
        "DATABASE_URL": ctx.database_url,
        "INKFLOW_DATA_DIR": str(ctx.tmp / "data"),
        "INKFLOW_SECRET_KEY": SECRET_KEY,
        "INKFLOW_ENCRYPTION_KEY": FERNET_KEY,
        "INKFLOW_RATE_LIMITS": RATE_LIMITS,
        "INKFLOW_ACCESS_TTL": "86400",
        "INKFLOW_LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    port = free_port()
    command = [sys.executable, str(ROOT / "run.py"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return await start_server(ctx, command, env, port, START_TIMEOUT_S, "server")


async def _cancel(session: aiohttp.ClientSession, base: str, token: str, job_id: int) -> None:
    async with session.post(
        f"{base}/api/v1/jobs/{job_id}/cancel/", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        body = await response.json()
        if response.status != 200 or body["data"]["status"] != "cancelled":
            raise RuntimeError(f"cancel {job_id}: HTTP {response.status} {str(body)[:300]}")


async def _recv(conn: Any, within_s: float) -> Any:
    deadline = time.monotonic() + within_s
    while not conn.poll():
        if time.monotonic() > deadline:
            raise RuntimeError("a client process did not answer in time")
        await asyncio.sleep(0.02)
    return conn.recv()


async def _one(
    ctx: Context, args: argparse.Namespace, backend: str, base: str, token: str, ids: list[int], n: int
) -> Result:
    latency_ids, burst_ids = ids[: args.events], ids[args.events : args.events + args.burst]
    del ids[: args.events + args.burst]
    procs = max(1, min(args.procs, n // 50 or 1))
    spawn = mp.get_context("spawn")
    url = base.replace("http://", "ws://") + f"/api/v1/ws/?token={token}"
    pipes = []
    ctx.clients = []
    began = time.monotonic()
    for p in range(procs):
        count = n // procs + (1 if p < n % procs else 0)
        parent, child = spawn.Pipe()
        proc = spawn.Process(
            target=_client_process, args=(child, url, count, latency_ids, burst_ids), name=f"bench-ws-{p}", daemon=True
        )
        proc.start()
        child.close()
        pipes.append(parent)
        ctx.clients.append(proc)
    for pipe in pipes:
        status = await _recv(pipe, CONNECT_TIMEOUT_S)
        if status[0] != "ready":
            raise RuntimeError(f"client process: {status}")
    connect_s = time.monotonic() - began
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.sleep(0.5)
        for job_id in latency_ids:
            await _cancel(session, base, token, job_id)
            await asyncio.sleep(args.gap)
        queue = list(burst_ids)

        async def fire() -> None:
            while queue:
                await _cancel(session, base, token, queue.pop(0))

        await asyncio.gather(*(fire() for _ in range(BURST_IN_FLIGHT)))
    await asyncio.sleep(min(DELIVERY_TIMEOUT_S, 2.0 + n / 1000))  # the last fan-out drains
    latencies: list[float] = []
    first, last, missing, duplicates = float("inf"), 0.0, 0, 0
    for pipe in pipes:
        pipe.send("report")
    for pipe in pipes:
        _tag, lat, f, la, miss, dup = await _recv(pipe, DELIVERY_TIMEOUT_S)
        latencies.extend(lat)
        first, last = min(first, f), max(last, la)
        missing += miss
        duplicates += dup
    for proc in ctx.clients:
        proc.join(10)
        stop_process(proc)
    ctx.clients = []
    rate = n * len(burst_ids) / (last - first) if last > first else float("nan")
    latencies.sort()
    return Result(backend, n, connect_s, latencies, rate, missing, duplicates)


def _report(info: dict[str, Any], results: list[Result]) -> str:
    lines = [
        f"## Websocket fan-out — {info['date']}",
        "",
        f"Machine: {info['machine']['nproc']} cores, {info['machine']['cpu']}, Python {info['machine']['python']}; "
        f"server: one `run.py serve` process (SQLite); clients in {info['procs']} processes; "
        f"{info['events']} events spaced {info['gap']} s for latency, a burst of {info['burst']} for events/s.",
        "",
        "| bus | clients | connect all (s) | p50 (ms) | p99 (ms) | max (ms) | deliveries/s | missing | duplicates |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lat = r.latencies_ms
        lines.append(
            f"| {r.backend} | {r.clients:,} | {fmt(r.connect_s)} | {fmt(percentile(lat, 0.5))} | "
            f"{fmt(percentile(lat, 0.99))} | {fmt(lat[-1] if lat else None)} | {fmt(r.deliveries_per_s, 0)} | "
            f"{r.missing} | {r.duplicates} |"
        )
    lines += ["", "| target | result |", "| --- | --- |"]
    for r in results:
        if r.clients == TARGET_AT:
            p99 = percentile(r.latencies_ms, 0.99)
            lines.append(
                f"| p99 < {TARGET_P99_MS:.0f} ms at {TARGET_AT:,} clients ({r.backend}) | "
                f"{verdict(p99 < TARGET_P99_MS)} ({fmt(p99)} ms) |"
            )
        if r.clients >= 5000:
            ok = r.missing == 0 and r.duplicates == 0
            lines.append(f"| {r.clients:,} clients held by one process ({r.backend}) | {verdict(ok)} |")
    return "\n".join(lines)


async def _run(args: argparse.Namespace, ctx: Context) -> str:
    raise_fd_limit()  # inherited by the server process
    ctx.tmp = Path(tempfile.mkdtemp(prefix="inkflow-bench-ws-"))
    ctx.database_url = f"sqlite://{ctx.tmp / 'inkflow.sqlite3'}"
    await run_seed(ctx.database_url, ctx.tmp, SEED_TIMEOUT_S)
    backends = [b for b in args.backends.split(",") if b]
    per_run = args.events + args.burst
    token, ids = await _make_world(ctx, per_run * len(args.clients) * len(backends))
    results = []
    for backend in backends:
        print(f"starting the server ({backend} bus) …", flush=True)
        base = await _start(ctx, args.redis_url if backend == "redis" else None)
        try:
            for n in args.clients:
                print(f"  {n:,} clients …", flush=True)
                results.append(await _one(ctx, args, backend, base, token, ids, n))
        finally:
            await stop_server(ctx)
    info = {
        "date": report_date(),
        "machine": machine_info(),
        "procs": args.procs,
        "events": args.events,
        "gap": args.gap,
        "burst": args.burst,
    }
    return _report(info, results)


async def _cleanup(ctx: Context) -> None:
    for proc in ctx.clients:
        stop_process(proc)
    await stop_server(ctx)
    await remove_created(ctx)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py bench ws", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clients", help="comma-separated client counts (default 100,1000,5000)")
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 clients, 10 events, a burst of 20")
    parser.add_argument("--events", type=int, help="events for the latency phase (default 20)")
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between latency events (default 0.25)")
    parser.add_argument("--burst", type=int, help="events fired back to back for events/s (default 50)")
    parser.add_argument("--procs", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--backends", default="memory,redis", help="memory, redis or both (default)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="Redis for the redis backend")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    default_clients = "100,1000" if args.quick else "100,1000,5000"
    args.clients = [int(c) for c in (args.clients or default_clients).split(",")]
    args.events = args.events or (10 if args.quick else 20)
    args.burst = args.burst or (20 if args.quick else 50)
    print(asyncio.run(run_and_clean(Context(), lambda ctx: _run(args, ctx), _cleanup)), flush=True)


if __name__ == "__main__":
    main()
