"""Scale-out benchmark (issue 11): instant-model jobs per second across 20 sites with 1, 2 and 4
server processes (`run.py serve --workers N`), and the takeover time after `kill -9` of a site's
owner among three processes.

    python run.py bench scale            # 1, 2 and 4 workers x 15 s; 10 kills
    python run.py bench scale --quick    # 1 and 2 workers x 5 s; 3 kills

On PostgreSQL + Redis (loopback): a fresh database (dropped at the end), a Redis prefix of its
own per phase. The clients and the fake model run in this process, the servers in theirs.
Takeover: a 20-item job (model answering in 1 s) runs on the site's owner; one second in, the
owner is killed; the time is until another process's health lists the site (then the job is
cancelled and the killed process started again). The lease time is the default
(`INKFLOW_LEASE_TTL`, 4 s) unless set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.openai_server import FakeOpenAI
from tests.perf.common import (
    HEALTH_PATH,
    ROOT,
    RunContext,
    create_database,
    free_port,
    machine_info,
    percentile,
    remove_created,
    run_and_clean,
    run_seed,
    wait_http,
)

IDEAS = "/api/v1/planner/clusters/generate_ideas/"
SITES = 20
SECRET = "bench-scale-secret-key-long-enough-0123456789abcdef"
FERNET = "q2ZAqMAoZmG5LGr2rTjqjhdXhZXhAljAxF2j0F1Y3Ic="


class Servers:
    """Server processes started by the benchmark (stopped at the end, whatever happens)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self, args: list[str], env: dict[str, str], port: int) -> asyncio.subprocess.Process:
        with (self.tmp / f"server-{port}.log").open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "run.py"), *args, cwd=ROOT, env=env, stdout=log, stderr=log
            )
        self.procs.append(proc)
        await wait_http(f"http://127.0.0.1:{port}{HEALTH_PATH}", 90, lambda: proc.returncode is None)
        return proc

    async def stop(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    async def stop_all(self) -> None:
        for proc in self.procs:
            await self.stop(proc)


async def _call(
    session: aiohttp.ClientSession, base: str, method: str, path: str, token: str | None = None, **kw: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, base + path, headers=headers, **kw) as response:
        return response.status, await response.json()


async def _account(session: aiohttp.ClientSession, base: str, fake: FakeOpenAI, sites: int) -> tuple[str, list[int]]:
    """A new account with AI on the fake and `sites` sites of one cluster each; token, cluster ids."""
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    status, body = await _call(
        session, base, "POST", "/api/v1/auth/register/", json={"email": email, "password": "bench password 1"}
    )
    assert status == 201, body
    token = body["data"]["access"]
    settings = {"api_key": "sk-bench-1234", "base_url": fake.base_url}
    await _call(session, base, "PUT", "/api/v1/system/settings/integrations/openai/", token, json=settings)
    clusters = []
    for n in range(sites):
        site = {"name": f"S{n}", "domain": f"s{n}-{email[6:16]}.example.com"}
        status, body = await _call(session, base, "POST", "/api/v1/auth/sites/", token, json=site)
        assert status == 201, body
        status, body = await _call(
            session, base, "POST", "/api/v1/planner/clusters/", token, json={"site_id": body["data"]["id"], "name": "C"}
        )
        assert status == 201, body
        clusters.append(body["data"]["id"])
    return token, clusters


def _env(database_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "INKFLOW_REDIS_PREFIX": f"inkflow-bench-scale-{uuid.uuid4().hex[:8]}",
        "INKFLOW_SECRET_KEY": SECRET,
        "INKFLOW_ENCRYPTION_KEY": FERNET,
        "INKFLOW_DATA_DIR": str(tmp / "data"),
        "INKFLOW_RATE_LIMITS": "ai=1000000,content=1000000,auth=1000000,general=1000000",
        "INKFLOW_LOG_LEVEL": "WARNING",
        **extra,
    }


async def throughput(
    database_url: str, tmp: Path, servers: Servers, fake: FakeOpenAI, workers: int, duration: float
) -> dict[str, Any]:
    """Jobs/s of one-item instant-model jobs, one client loop per site, `?wait=` for each."""
    port = free_port()
    env = _env(database_url, tmp, INKFLOW_PORT=str(port))
    proc = await servers.start(["serve", "--workers", str(workers)], env, port)
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    errors = 0
    try:
        connector = aiohttp.TCPConnector(limit=SITES * 2, force_close=True)  # new connections: all workers serve
        async with aiohttp.ClientSession(connector=connector) as session:
            work: list[tuple[str, int]] = []
            while len(work) < SITES:  # three sites per account (the plan's limit)
                token, clusters = await _account(session, base, fake, min(3, SITES - len(work)))
                work += [(token, c) for c in clusters]
            deadline = time.monotonic() + duration

            async def client(token: str, cluster: int) -> None:
                nonlocal errors
                while time.monotonic() < deadline:
                    started = time.monotonic()
                    status, body = await _call(
                        session, base, "POST", IDEAS, token, json={"ids": [cluster]}, params={"wait": 30}
                    )
                    if status == 200 and body["data"]["job"]["status"] == "succeeded":
                        latencies.append(time.monotonic() - started)
                    else:
                        errors += 1

            began = time.monotonic()
            await asyncio.gather(*(client(t, c) for t, c in work))
            elapsed = time.monotonic() - began
    finally:
        await servers.stop(proc)
    latencies.sort()
    return {
        "workers": workers,
        "jobs": len(latencies),
        "errors": errors,
        "jobs_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.5) * 1000 if latencies else 0.0,
        "p95_ms": percentile(latencies, 0.95) * 1000 if latencies else 0.0,
    }


async def takeovers(database_url: str, tmp: Path, servers: Servers, fake: FakeOpenAI, kills: int) -> list[float]:
    ports = [free_port() for _ in range(3)]
    env = _env(database_url, tmp)
    procs = [await servers.start(["serve", "--port", str(p)], env, p) for p in ports]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    times: list[float] = []
    fake.always("slow", seconds=1.0)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            for k in range(kills):
                # A new account each round (its signup credits cover the 20 items reserved).
                token, (first,) = await _account(session, bases[0], fake, 1)
                _, body = await _call(session, bases[0], "GET", f"/api/v1/planner/clusters/{first}/", token)
                site_id = body["data"]["site_id"]
                clusters = [first]
                for n in range(19):
                    _, body = await _call(
                        session,
                        bases[0],
                        "POST",
                        "/api/v1/planner/clusters/",
                        token,
                        json={"site_id": site_id, "name": f"K{n}"},
                    )
                    clusters.append(body["data"]["id"])

                async def owners(among: list[int], site_id: int = site_id) -> list[int]:
                    found = []
                    for i in among:
                        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                            _, health = await _call(session, bases[i], "GET", HEALTH_PATH)
                            if site_id in health["data"]["checks"]["ownership"]["sites"]:
                                found.append(i)
                    return found

                _, body = await _call(
                    session, bases[0], "POST", IDEAS, token, json={"ids": clusters}, params={"wait": 0}
                )
                assert "data" in body, body
                job_id = body["data"]["job"]["id"]
                await asyncio.sleep(1.0)
                (owner,) = await owners([0, 1, 2])
                procs[owner].send_signal(signal.SIGKILL)
                killed_at = time.monotonic()
                await procs[owner].wait()
                others = [i for i in range(3) if i != owner]
                while not await owners(others):
                    if time.monotonic() - killed_at > 60:
                        raise RuntimeError("no takeover within 60 s")
                    await asyncio.sleep(0.05)
                times.append(time.monotonic() - killed_at)
                print(f"kill {k + 1}/{kills}: takeover in {times[-1]:.2f} s", flush=True)
                await _call(session, bases[others[0]], "POST", f"/api/v1/jobs/{job_id}/cancel/", token)
                procs[owner] = await servers.start(["serve", "--port", str(ports[owner])], env, ports[owner])
    finally:
        fake.reset()
        for proc in procs:
            await servers.stop(proc)
    return times


async def _main(args: argparse.Namespace) -> str:
    ctx = RunContext(tmp=Path(tempfile.mkdtemp(prefix="inkflow-bench-scale-")))
    assert ctx.tmp is not None
    tmp = ctx.tmp
    servers = Servers(tmp)

    async def run(ctx: RunContext) -> str:
        await create_database(ctx, args.database_url)
        await run_seed(args.database_url, tmp, 180)
        async with FakeOpenAI() as fake:
            rows = []
            for workers in args.workers:
                print(f"throughput with {workers} worker(s) for {args.duration:.0f} s …", flush=True)
                rows.append(await throughput(args.database_url, tmp, servers, fake, workers, args.duration))
            times = await takeovers(args.database_url, tmp, servers, fake, args.kills) if args.kills else []
        info = machine_info()
        lines = [
            f"## Scale-out ({info['nproc']} cores, {info['cpu']}; {SITES} sites; instant fake model;"
            " clients in the bench process)",
            "",
            "| workers | jobs | errors | jobs/s | p50 ms | p95 ms |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            lines.append(
                f"| {r['workers']} | {r['jobs']} | {r['errors']} | {r['jobs_per_s']:.1f}"
                f" | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} |"
            )
        if times:
            ordered = sorted(times)
            lines += [
                "",
                f"Takeover after kill -9 of the owner ({len(times)} kills, lease "
                f"{os.environ.get('INKFLOW_LEASE_TTL', '4')} s): min {ordered[0]:.2f} s, "
                f"median {percentile(ordered, 0.5):.2f} s, max {ordered[-1]:.2f} s",
            ]
        return "\n".join(lines)

    async def cleanup(ctx: RunContext) -> None:
        await servers.stop_all()
        await remove_created(ctx)

    return await run_and_clean(ctx, run, cleanup)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py bench scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 and 2 workers x 5 s, 3 kills")
    parser.add_argument("--duration", type=float, help="seconds of load per worker count (default 15; quick 5)")
    parser.add_argument("--kills", type=int, help="owner kills to time (default 10; quick 3)")
    parser.add_argument("--database-url", help="a PostgreSQL URL whose database the run creates and drops")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.duration = args.duration or (5.0 if args.quick else 15.0)
    args.kills = args.kills if args.kills is not None else (3 if args.quick else 10)
    args.workers = [1, 2] if args.quick else [1, 2, 4]
    if args.database_url is None:
        args.database_url = (
            f"postgres://postgres@127.0.0.1:5432/inkflow_bench_scale_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        )
    print(asyncio.run(_main(args)), flush=True)


if __name__ == "__main__":
    main()
