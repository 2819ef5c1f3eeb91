"""WordPress sync benchmark: a big fake site synced by a real server, then `sync_status/` polled.

    python run.py bench sync                    # 10,000 posts, 2,000 terms, 50 pollers
    python run.py bench sync --posts 2000 --terms 400 --requests 100

Set-up: a fresh SQLite database (`run.py seed`), the fake WordPress (tests/fakes/wordpress_server.py)
in its own process with `--posts` posts and `--terms` terms (half categories, half tags), and a
real `python run.py serve` process. One account, one site, one integration pointing at the fake.

- sync: `POST /integration/{id}/sync/`, then the job is polled until it ends; wall time from the
  request to the job's end; peak RSS of the server process (VmHWM). WordPress answers 100 per page.
  Then the same again with nothing changed: an incremental sync still reads the terms and every
  id (the deletions' listing).
- sync_status: `--clients` concurrent clients in a separate process (multiprocessing, spawn) each
  send `--requests` GETs of `sync_status/`, one every `--interval` seconds (default 1, as an ops
  script polls; `--interval 0` sends them back to back); p50/p99/max latency.

Targets (issue 10): sync < 60 s and < 300 MB; sync_status p99 < 20 ms with 50 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.perf.common import (
    FERNET_KEY,
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
    serve_fake_until_sigterm,
    start_server,
    stop_process,
    stop_server,
    verdict,
)

SECRET_KEY = "bench-sync-secret-key-0123456789abcdef"
RATE_LIMITS = "ai=1000000,content=1000000,auth=1000000,general=1000000"
START_TIMEOUT_S = 60.0
SYNC_TIMEOUT_S = 600.0
PASSWORD = "bench password 1"


@dataclass
class Context(RunContext):
    fake: Any = None
    database_url: str = ""


def fake_wordpress_process(conn: Any, posts: int, terms: int) -> None:
    """Serve a FakeWordPress with `posts` posts and `terms` terms until SIGTERM; send its port."""
    from tests.fakes.wordpress_server import FakeWordPress

    def make() -> FakeWordPress:
        fake = FakeWordPress()
        fake.add_many(posts=posts, categories=terms // 2, tags=terms - terms // 2)
        return fake

    serve_fake_until_sigterm(conn, make)


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def pollers_process(conn: Any, url: str, token: str, clients: int, requests: int, interval: float) -> None:
    """`clients` concurrent clients, `requests` GETs each, one every `interval` s (0: back to back),
    starting spread over the first interval; send back every latency (ms)."""

    async def poll() -> list[float]:
        latencies: list[float] = []
        headers = {"Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def one_client(n: int) -> None:
                await asyncio.sleep(interval * n / clients)
                for _ in range(requests):
                    tick = time.perf_counter()
                    started = time.perf_counter()
                    async with session.get(url) as response:
                        await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"sync_status answered {response.status}")
                    latencies.append((time.perf_counter() - started) * 1000)
                    await asyncio.sleep(max(0.0, interval - (time.perf_counter() - tick)))

            await asyncio.gather(*(one_client(n) for n in range(clients)))
        return latencies

    conn.send(asyncio.run(poll()))
    conn.close()


async def _call(session: aiohttp.ClientSession, method: str, url: str, status: int, **kw: Any) -> dict[str, Any]:
    async with session.request(method, url, **kw) as response:
        body = await response.json()
        if response.status != status:
            raise RuntimeError(f"{method} {url}: HTTP {response.status} {str(body)[:400]}")
        return body


async def _sync_once(
    session: aiohttp.ClientSession, api: str, integration: int, auth: dict[str, str]
) -> tuple[float, dict[str, Any]]:
    """One sync, from its request to its job's end (polled): wall seconds and the finished job."""
    started = time.perf_counter()
    answer = await session.post(f"{api}/integration/{integration}/sync/?wait=1", headers=auth)
    job_id = (await answer.json())["data"]["job"]["id"]
    while True:
        job = (await _call(session, "GET", f"{api}/jobs/{job_id}/", 200, headers=auth))["data"]
        if job["status"] not in ("queued", "running"):
            break
        if time.perf_counter() - started > SYNC_TIMEOUT_S:
            raise RuntimeError("the sync did not finish in time")
        await asyncio.sleep(0.25)
    wall = time.perf_counter() - started
    if job["status"] != "succeeded":
        raise RuntimeError(f"the sync ended {job['status']}: {job['error']}")
    return wall, job


async def _run(args: argparse.Namespace, ctx: Context) -> str:
    ctx.tmp = Path(tempfile.mkdtemp(prefix="inkflow-bench-sync-"))
    ctx.database_url = f"sqlite://{ctx.tmp / 'bench.sqlite3'}"
    await run_seed(ctx.database_url, ctx.tmp, 120)
    spawn = mp.get_context("spawn")
    parent, child = spawn.Pipe()
    print(f"starting the fake WordPress with {args.posts:,} posts and {args.terms:,} terms …", flush=True)
    ctx.fake = spawn.Process(target=fake_wordpress_process, args=(child, args.posts, args.terms), daemon=True)
    ctx.fake.start()
    if not parent.poll(120):
        raise RuntimeError("the fake WordPress did not start")
    wp_port = parent.recv()
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
    port = free_port()
    command = [sys.executable, str(ROOT / "run.py"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    base = await start_server(ctx, command, env, port, START_TIMEOUT_S, "server")
    assert ctx.server is not None
    api = f"{base}/api/v1"
    async with aiohttp.ClientSession() as session:
        account = {"email": "bench-sync@example.com", "password": PASSWORD}
        token = (await _call(session, "POST", f"{api}/auth/register/", 201, json=account))["data"]["access"]
        auth = {"Authorization": f"Bearer {token}"}
        site = {"name": "Bench", "domain": "bench.example.com"}
        site_id = (await _call(session, "POST", f"{api}/auth/sites/", 201, json=site, headers=auth))["data"]["id"]
        wp = {
            "site_id": site_id,
            "base_url": f"http://127.0.0.1:{wp_port}",
            "username": "admin",
            "app_password": "abcd EFGH ijkl MNOP qrst UVWX",
        }
        integration = (await _call(session, "POST", f"{api}/integration/", 201, json=wp, headers=auth))["data"]["id"]

        print("syncing …", flush=True)
        wall, job = await _sync_once(session, api, integration, auth)
        rss = peak_rss_mb(ctx.server.pid)
        result = job["result"]
        print("syncing again (nothing changed) …", flush=True)
        again, _ = await _sync_once(session, api, integration, auth)

    print(f"polling sync_status/: {args.clients} clients × {args.requests} requests …", flush=True)
    parent, child = spawn.Pipe()
    url = f"{api}/integration/{integration}/sync_status/"
    poller = spawn.Process(target=pollers_process, args=(child, url, token, args.clients, args.requests, args.interval))
    poller.start()
    try:
        if not parent.poll(600):
            raise RuntimeError("the pollers did not finish")
        latencies = sorted(parent.recv())
    finally:
        stop_process(poller)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    info = machine_info()
    load = os.getloadavg()[0]
    rows = [
        ("sync wall time (s)", fmt(wall, 1), "< 60", verdict(wall < 60)),
        ("next sync, no change (s)", fmt(again, 1), "", ""),
        ("server peak RSS (MB)", fmt(rss, 0), "< 300", verdict(rss is not None and rss < 300)),
        ("sync_status p50 (ms)", fmt(p50, 2), "", ""),
        ("sync_status p99 (ms)", fmt(p99, 2), "< 20", verdict(p99 < 20)),
        ("sync_status max (ms)", fmt(latencies[-1], 2), "", ""),
    ]
    lines = [
        f"bench sync — {report_date()} — {info['nproc']} cores, {info['cpu']}, Python {info['python']}, "
        f"load average {load:.1f} at the end",
        f"site: {args.posts:,} posts, {args.terms:,} terms, 100 per page; synced items {result['items']}, "
        f"terms {result['terms']}; {len(latencies):,} sync_status requests "
        f"({args.clients} clients, one every {args.interval:g} s each)",
        "",
        f"| {'measure':<24} | {'value':>10} | {'target':>7} | {'':4} |",
        f"|{'-' * 26}|{'-' * 12}|{'-' * 9}|{'-' * 6}|",
        *(f"| {name:<24} | {value:>10} | {target:>7} | {ok:4} |" for name, value, target, ok in rows),
    ]
    return "\n".join(lines)


async def _cleanup(ctx: Context) -> None:
    await stop_server(ctx)
    if ctx.fake is not None:
        stop_process(ctx.fake)
    await remove_created(ctx)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py bench sync", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--posts", type=int, default=10_000, help="posts on the fake site (default 10,000)")
    parser.add_argument("--terms", type=int, default=2_000, help="categories + tags (default 2,000)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent sync_status clients (default 50)")
    parser.add_argument("--requests", type=int, default=20, help="requests per client (default 20)")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between one client's polls (default 1: ops scripts)"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    print(asyncio.run(run_and_clean(Context(), lambda ctx: _run(args, ctx), _cleanup)), flush=True)


if __name__ == "__main__":
    main()
