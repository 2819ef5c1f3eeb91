"""Automation pipeline benchmark: one full run of 100 new keywords through the seven stages.

    python run.py bench pipeline                 # a fresh SQLite file
    python run.py bench pipeline --postgres      # a fresh PostgreSQL database, created and dropped
    python run.py bench pipeline --keywords 50

Set-up: the Inkflow server is the real `python run.py serve`; the FakeOpenAI (instant answers)
runs in a `multiprocessing` (spawn) child of its own; this process drives the run over HTTP. The
data is made before the server starts with the project's own code: an account (`auth.register`,
credits through the ledger, its own OpenAI key with `base_url` = the fake), one site, N new
keywords in groups of five sharing a first word (the fake makes one cluster per first word, as the
estimate assumes), and an automation config whose batch sizes take the whole pipeline in one run
(N keywords → N/5 clusters → 3 ideas each → as many tasks and 1,200-word articles → 3 images each).

Measured: wall time from `POST /automation/run_now/` until the run's job has finished (polled every
50 ms through `GET /api/v1/jobs/{id}/`). Model time: the same number of chat and image calls, with
the same prompts (rendered from the account's prompt templates), made directly and one after the
other from this process with the project's AI client (`services.ai_client`) — what the run's model
calls cost on their own. The share outside model calls is 1 − model time / wall time: the
pipeline's own work (database, checkpoints, ledger, events, HTML sanitising, image files).

Target (issue 9): the run finishes in < 20 s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.perf.common import (
    FERNET_KEY,
    PASSWORD,
    ROOT,
    RunContext,
    bench_settings,
    create_database,
    fake_openai_process,
    fmt,
    free_port,
    machine_info,
    remove_created,
    report_date,
    run_and_clean,
    run_seed,
    start_server,
    stop_process,
    stop_server,
    verdict,
)

API_KEY = "sk-bench-pipeline-0123456789"
SECRET_KEY = "bench-pipeline-secret-key-long-enough-for-hs256-0123456789abcdef"
START_TIMEOUT_S = 60.0
SEED_TIMEOUT_S = 300.0
RUN_TIMEOUT_S = 300.0
TARGET_S = 20.0
TAILS = ("running shoes", "for beginners", "at home", "mistakes", "equipment")


@dataclass
class Context(RunContext):
    database_url: str = ""
    postgres: bool = False
    fake: Any = None  # multiprocessing.Process
    fake_port: int = 0
    orm: Any = None


async def _start_fake(ctx: Context) -> None:
    spawn = mp.get_context("spawn")
    receiver, sender = spawn.Pipe(duplex=False)
    ctx.fake = spawn.Process(target=fake_openai_process, args=(sender,), name="bench-fake-openai", daemon=True)
    ctx.fake.start()
    sender.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not receiver.poll():
        if not ctx.fake.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake OpenAI process did not start")
        await asyncio.sleep(0.05)
    ctx.fake_port = receiver.recv()
    receiver.close()


async def _make_world(ctx: Context, keywords: int) -> tuple[str, int, int]:
    """The account (email, id) and its site, with `keywords` new keywords and the config."""
    from models.accounts import Site
    from models.automation import AutomationConfig
    from models.db import open_database
    from models.planner import Keyword
    from services import ai_settings, auth, ledger
    from services.events import MemoryEventBus
    from services.security import Crypto

    settings = bench_settings(ctx.database_url, ctx.tmp, SECRET_KEY)
    ctx.orm = await open_database(ctx.database_url)
    tag = uuid.uuid4().hex[:6]
    email = f"bench-pipeline-{tag}@example.com"
    _user, account = await auth.register(settings, email=email, password=PASSWORD, account_name="Bench pipeline")
    await ledger.grant(account.id, keywords * 100, description="bench_pipeline")
    crypto = Crypto(settings.secret_key, settings.encryption_key, settings.access_ttl)
    await ai_settings.save_openai_settings(
        account.id,
        {"api_key": API_KEY, "base_url": f"http://127.0.0.1:{ctx.fake_port}/v1"},
        crypto,
        MemoryEventBus(),  # no server runs yet: no cache to tell
    )
    site = await Site.create(account_id=account.id, name="Bench site", domain="bench.example.com", slug=f"bench-{tag}")
    rows = []
    for n in range(keywords):
        text = f"topic{n // len(TAILS)} {TAILS[n % len(TAILS)]}"
        rows.append(Keyword(account_id=account.id, site_id=site.id, keyword=text, keyword_key=text, volume=100))
    await Keyword.bulk_create(rows, batch_size=500)
    clusters = -(-keywords // len(TAILS))
    batch = {
        "keywords": min(keywords, 200),
        "clusters": min(clusters, 100),
        "ideas": min(clusters * 3, 500),
        "tasks": min(clusters * 3, 100),
        "contents": min(clusters * 3, 100),
        "images": min(clusters * 9, 500),
    }
    await AutomationConfig.create(account_id=account.id, site_id=site.id, batch=batch)
    return email, account.id, site.id


async def _start_server(ctx: Context) -> str:
    assert ctx.tmp is not None
    env = {
        **os.environ,
        "DATABASE_URL": ctx.database_url,
        "INKFLOW_DATA_DIR": str(ctx.tmp / "data"),
        "INKFLOW_SECRET_KEY": SECRET_KEY,
        "INKFLOW_ENCRYPTION_KEY": FERNET_KEY,
        "INKFLOW_LOG_LEVEL": "WARNING",
    }
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REDIS_URL"):
        env.pop(name, None)
    port = free_port()
    command = [sys.executable, str(ROOT / "run.py"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return await start_server(ctx, command, env, port, START_TIMEOUT_S, "server")


async def _drive(base: str, email: str, site_id: int) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """Start the run over HTTP and wait for its job; (wall seconds, estimate, finished job)."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.post(f"{base}/api/v1/auth/login/", json={"email": email, "password": PASSWORD}) as r:
            token = (await r.json())["data"]["access"]
        headers = {"Authorization": f"Bearer {token}"}
        params = {"site_id": str(site_id)}
        async with session.get(f"{base}/api/v1/automation/estimate/", params=params, headers=headers) as r:
            estimate = (await r.json())["data"]
        started = time.perf_counter()
        async with session.post(f"{base}/api/v1/automation/run_now/", params=params, headers=headers) as r:
            body = await r.json()
            if r.status != 201:
                raise RuntimeError(f"run_now answered {r.status}: {body}")
        job_id = body["data"]["run"]["job_id"]
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while True:
            async with session.get(f"{base}/api/v1/jobs/{job_id}/", headers=headers) as r:
                job = (await r.json())["data"]
            if job["status"] in {"succeeded", "failed", "cancelled"}:
                return time.perf_counter() - started, estimate, job
            if time.monotonic() > deadline:
                raise RuntimeError(f"the run did not finish within {RUN_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.05)


async def _model_time(ctx: Context, account_id: int, counts: dict[str, int]) -> float:
    """The run's model calls made directly, one after the other, with the project's AI client."""
    from config.prompts import render_prompt
    from schemas.ai import ANSWERS
    from services import ai_client, ai_settings
    from services.outbound import Outbound
    from services.security import Crypto

    settings = bench_settings(ctx.database_url, ctx.tmp, SECRET_KEY)
    crypto = Crypto(settings.secret_key, settings.encryption_key, settings.access_ttl)
    config = await ai_settings.load_config(account_id, settings, crypto)
    clients = ai_client.AiClients(Outbound(allow_private=True))
    keywords = "\n".join(f"- topic{n} {tail}" for n in range(counts["clusters"]) for tail in TAILS)
    values = {
        "clustering": {"site_name": "Bench site", "keywords": keywords},
        "ideas": {"cluster_name": "Topic0 Guide", "keywords": "- topic0 at home", "count": 3},
        "content": {"title": "How to Get Started", "keyword": "topic0 at home", "word_count": 1200, "brief": ""},
        "image_prompts": {"title": "How to Get Started", "count": 3, "summary": "A guide."},
    }
    prompts = {kind: render_prompt(await ai_settings.prompt_text(account_id, kind), v) for kind, v in values.items()}
    started = time.perf_counter()
    try:
        for kind in ("clustering", "ideas", "content", "image_prompts"):
            for _ in range(counts[kind]):
                usage = ai_client.Usage()
                await ai_client.chat_json(clients, config, prompts[kind], ANSWERS[kind], usage, what=kind)
        for _ in range(counts["images"]):
            await ai_client.generate_image(clients, config, "A picture", ai_client.Usage(), what="image")
    finally:
        await clients.close()
        await clients.outbound.close()
    return time.perf_counter() - started


async def _run(args: argparse.Namespace, ctx: Context) -> str:
    ctx.tmp = Path(tempfile.mkdtemp(prefix="inkflow-bench-pipeline-"))
    ctx.postgres = args.postgres
    if args.postgres:
        ctx.database_url = f"postgres://postgres@127.0.0.1:5432/inkflow_bench_pipeline_{os.getpid()}"
        kind = f"PostgreSQL {await create_database(ctx, ctx.database_url)}"
    else:
        ctx.database_url = f"sqlite://{ctx.tmp / 'inkflow.sqlite3'}"
        kind = "SQLite (file)"
    await run_seed(ctx.database_url, ctx.tmp, SEED_TIMEOUT_S)
    await _start_fake(ctx)
    email, account_id, site_id = await _make_world(ctx, args.keywords)
    base = await _start_server(ctx)
    print(f"running the pipeline on {args.keywords} keywords …", flush=True)
    wall, estimate, job = await _drive(base, email, site_id)

    from models.automation import AutomationRun

    run = await AutomationRun.get(job_id=job["id"])
    stages = {s["stage"]: s for s in run.stages}
    counts = {
        "clusters": stages["ideas"]["processed"],
        "clustering": 1 if stages["clustering"]["processed"] else 0,
        "ideas": stages["ideas"]["processed"],
        "content": stages["content"]["processed"],
        "image_prompts": stages["image_prompts"]["processed"],
        "images": stages["images"]["processed"],
    }
    model = await _model_time(ctx, account_id, counts)
    outside = max(0.0, 1 - model / wall)
    info = machine_info()
    chats = counts["clustering"] + counts["ideas"] + counts["content"] + counts["image_prompts"]
    lines = [
        f"# Automation pipeline benchmark — {report_date()}",
        f"machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}; database: {kind}",
        "",
        "| stage | items | credits |",
        "|---|---:|---:|",
        *(f"| {s['number']} {s['stage']} | {s['processed']} | {s['credits_used']} |" for s in run.stages),
        "",
        "| keywords | run status | model calls (chat + images) | wall s | model s | outside model calls | "
        "estimate = charge | target < 20 s |",
        "|---:|---|---:|---:|---:|---:|---|---|",
        f"| {args.keywords} | {job['status']} | "
        f"{chats} + {counts['images']} | "
        f"{fmt(wall, 2)} | {fmt(model, 2)} | {fmt(outside * 100)} % | "
        f"{estimate['total']} = {job['credits_used']}: {verdict(estimate['total'] == job['credits_used'])} | "
        f"{verdict(job['status'] == 'succeeded' and wall < TARGET_S)} |",
    ]
    return "\n".join(lines)


async def _cleanup(ctx: Context) -> None:
    await stop_server(ctx)
    if ctx.fake is not None:
        stop_process(ctx.fake)
    if ctx.orm is not None:
        await ctx.orm.close_connections()
    await remove_created(ctx)


async def _main(args: argparse.Namespace) -> str:
    return await run_and_clean(Context(), lambda ctx: _run(args, ctx), _cleanup)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python run.py bench pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keywords", type=int, default=100, help="new keywords to run through (5–200, default 100)")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database on 127.0.0.1:5432")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if not 5 <= args.keywords <= 200:
        raise SystemExit("error: --keywords must be between 5 and 200")
    for name in ("httpx", "httpx2"):  # one INFO line per direct model call would bury the table
        logging.getLogger(name).setLevel(logging.WARNING)
    print(asyncio.run(_main(args)), flush=True)


if __name__ == "__main__":
    main()
