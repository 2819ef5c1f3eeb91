"""Automation runs across restarts and processes: resume from the checkpoint, the scheduler."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from models.automation import AutomationConfig, AutomationRun
from models.jobs import Job
from models.planner import Keyword
from models.writer import Content, Image, Task
from server.app import create_app
from services.security import utcnow
from tests.ai_helpers import balance, job_ledger
from tests.automation_helpers import A, pipeline_site, run_now, wait_job, wait_until
from tests.conftest import BACKEND
from tests.fakes.openai_server import FakeOpenAI, detect_task, prompt_text
from tests.helpers import Api


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


def _chats(fake: FakeOpenAI, since: int = 0) -> list[str]:
    """The prompts of the chat calls made since call number `since`."""
    return [prompt_text(c["json"]) for c in fake.calls[since:] if c["path"].endswith("/chat/completions")]


async def test_a_run_stopped_mid_stage_resumes_from_its_checkpoint_in_a_new_app_without_repeating_or_charging_twice(
    aiohttp_client: Any, settings: Any, fake: FakeOpenAI
) -> None:
    first = Api(await aiohttp_client(create_app(settings, docs=False)))
    owner, site_id = await pipeline_site(first, fake)
    fake.always("slow", seconds=0.1)
    run = await run_now(first, owner, site_id)

    async def two_articles_written() -> bool:
        return (await AutomationRun.get(id=run["id"])).stages[3]["processed"] >= 2

    await wait_until(two_articles_written)
    job = await Job.get(id=run["job_id"])
    done = [int(key.split(":")[1]) for key in job.checkpoint["done"] if key.startswith("content:")]
    finished = [await Task.get(id=task_id) for task_id in done]  # at least these are finished
    calls_before = len(fake.calls)
    await first.client.close()  # the server stops in the middle of the content stage
    assert 2 <= len(finished) < 6 and job.status == "running", "the stage must still have had items left"
    used_before = job.credits_used

    fake.reset()
    second = Api(await aiohttp_client(create_app(settings, docs=False)))
    job = await wait_job(run["job_id"], "succeeded")

    later = _chats(fake, calls_before)
    for task in finished:  # no finished article is written again
        assert not any(f"title: {task.title}" in text for text in later if detect_task(text) == "content")
    assert not any(detect_task(text) in {"clustering", "ideas"} for text in later)
    assert Counter(detect_task(text) for text in _chats(fake))["content"] <= 6 + 1  # + the one in flight, if any
    assert job.credits_used == 164 and used_before < 164
    assert await job_ledger(job.id) == [("usage", -164)]  # charged once, as estimated
    assert await balance(owner.account["id"]) == 1000 - 164
    assert await Content.filter(site_id=site_id).count() == 6 and await Image.filter(site_id=site_id).count() == 18
    assert await Content.filter(site_id=site_id, status="review").count() == 6
    body = await second.call("GET", f"{A}/history/", params={"site_id": site_id}, as_=owner)
    assert body["results"][0]["status"] == "completed"
    assert [s["processed"] for s in body["results"][0]["stages"]] == [10, 2, 6, 6, 6, 18, 6]


async def test_a_paused_run_stays_paused_across_a_restart_and_resumes_on_request(
    aiohttp_client: Any, settings: Any, fake: FakeOpenAI
) -> None:
    first = Api(await aiohttp_client(create_app(settings, docs=False)))
    owner, site_id = await pipeline_site(first, fake)
    fake.always("slow", seconds=0.05)
    run = await run_now(first, owner, site_id)
    query = {"site_id": site_id, "run_id": run["id"]}
    await first.call("POST", f"{A}/pause/", params=query, as_=owner)
    await wait_job(run["job_id"], "paused")
    await first.client.close()
    fake.reset()
    second = Api(await aiohttp_client(create_app(settings, docs=False)))
    await asyncio.sleep(0.3)
    assert (await Job.get(id=run["job_id"])).status == "paused"  # not picked up at start
    await second.call("POST", f"{A}/resume/", params=query, as_=owner)
    job = await wait_job(run["job_id"], "succeeded")
    assert job.credits_used == 164 and await job_ledger(job.id) == [("usage", -164)]


async def test_the_scheduler_starts_one_run_per_due_time_across_processes_and_restarts(
    aiohttp_client: Any, make_settings: Any, fake: FakeOpenAI
) -> None:
    settings = make_settings(automation_interval=0.05)
    # Two processes on one database on the PostgreSQL pass (SQLite is the one-process set-up).
    apps = [
        Api(await aiohttp_client(create_app(settings, docs=False))) for _ in range(2 if BACKEND == "postgres" else 1)
    ]
    api = apps[0]
    owner, site_id = await pipeline_site(api, fake, groups=0)
    config = {"enabled": True, "schedule": {"frequency": "hourly", "time": "00:15"}}
    body = await api.call("PUT", f"{A}/update_config/", params={"site_id": site_id}, json=config, as_=owner)
    assert body["data"]["next_run_at"].endswith(":15:00Z")
    slot = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=1)
    await AutomationConfig.filter(site_id=site_id).update(next_run_at=slot)

    async def started() -> bool:
        return await AutomationRun.filter(site_id=site_id).exists()

    await wait_until(started)
    run = await AutomationRun.get(site_id=site_id)
    assert run.trigger == "scheduled" and run.scheduled_for == slot
    await wait_job(run.job_id, "succeeded")
    row = await AutomationConfig.get(site_id=site_id)
    assert row.next_run_at is not None and row.next_run_at > utcnow() and row.next_run_at.minute == 15

    # A process that died after starting the run but before moving the schedule on: the same
    # due time comes round again, and still starts nothing.
    await AutomationConfig.filter(site_id=site_id).update(next_run_at=slot)

    async def moved_on() -> bool:
        return (await AutomationConfig.get(site_id=site_id)).next_run_at != slot

    await wait_until(moved_on)
    await asyncio.sleep(0.2)  # several more looks by every process
    assert await AutomationRun.filter(site_id=site_id).count() == 1

    # A site with an active (here paused) run gets no second one when its time comes.
    for n in range(5):
        await Keyword.create(account_id=owner.account["id"], site_id=site_id, keyword=f"k {n}", keyword_key=f"k {n}")
    fake.always("slow", seconds=0.1)
    manual = await run_now(api, owner, site_id)
    await api.call("POST", f"{A}/pause/", params={"site_id": site_id, "run_id": manual["id"]}, as_=owner)
    await wait_job(manual["job_id"], "paused")
    second_slot = slot + timedelta(seconds=30)
    await AutomationConfig.filter(site_id=site_id).update(next_run_at=second_slot)

    async def skipped() -> bool:
        return (await AutomationConfig.get(site_id=site_id)).next_run_at != second_slot

    await wait_until(skipped)
    assert await AutomationRun.filter(site_id=site_id).count() == 2
    assert not await AutomationRun.filter(site_id=site_id, scheduled_for=second_slot).exists()
