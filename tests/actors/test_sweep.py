"""The sweep with a backlog: each second it tells each site actor of its process the tally of the
site's queued and running jobs (`Recount`), one message per site however many jobs wait, and an
actor whose own jobs tally otherwise reads them: a job whose wake-up was lost is loaded and run,
one that ended elsewhere leaves the queue. A tally that differs only because a job ended since the
sweep's read is checked again, without reading the jobs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.placement import Placement
from actors.site import Recount, SiteActor
from models.jobs import Job
from server.keys import ACTORS
from services import jobs
from tests.ai_helpers import generate_content_job, site_with_tasks
from tests.conftest import BACKEND
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api

needs_redis = pytest.mark.skipif(BACKEND != "postgres", reason="the sweep runs with Redis: the PostgreSQL + Redis pass")


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def _no_sweeps(placement: Placement) -> None:
    for loop in placement._loops:  # the test sweeps, when it wants to
        await loop.stop()


@pytest.fixture
def id_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sites whose unfinished jobs were read one by one (`jobs.unfinished_ids`)."""
    reads: list[int] = []
    unfinished_ids = jobs.unfinished_ids

    async def counting(site_id: int) -> list[int]:
        reads.append(site_id)
        return await unfinished_ids(site_id)

    monkeypatch.setattr(jobs, "unfinished_ids", counting)
    return reads


async def test_a_recount_loads_the_jobs_the_actor_never_heard_of_and_drops_those_that_ended(
    api: Api, fake: FakeOpenAI, id_reads: list[int]
) -> None:
    owner, site, tasks = await site_with_tasks(api, fake, 3)
    placement = api.client.app[ACTORS]
    await _no_sweeps(placement)
    first = await generate_content_job(api, owner, site, tasks[0])
    second = await generate_content_job(api, owner, site, tasks[1])
    actor = SiteActor(site, placement.system.factory(site).context)
    await actor.on_start()
    assert list(actor.queue) == [first.id, second.id]
    lost = await generate_content_job(api, owner, site, tasks[2])  # its wake-up never came
    await Job.filter(id=first.id).update(status="cancelled")  # cancelled elsewhere; its `Control` lost
    id_reads.clear()

    await actor.receive(Recount(await jobs.unfinished_tally(site)))

    assert list(actor.queue) == [second.id, lost.id], "the queue is the site's unfinished jobs, oldest first"
    assert id_reads == [site]
    id_reads.clear()
    await actor.receive(Recount(await jobs.unfinished_tally(site)))
    assert id_reads == [], "a tally that matches reads nothing"


async def test_a_recount_that_differs_by_a_job_ended_since_the_sweep_read_reads_no_jobs(
    api: Api, fake: FakeOpenAI, id_reads: list[int]
) -> None:
    owner, site, tasks = await site_with_tasks(api, fake, 2)
    placement = api.client.app[ACTORS]
    await _no_sweeps(placement)
    ended = await generate_content_job(api, owner, site, tasks[0])
    waiting = await generate_content_job(api, owner, site, tasks[1])
    swept = await jobs.unfinished_tally(site)  # the sweep reads both...
    await Job.filter(id=ended.id).update(status="succeeded")  # ...then one of them ends
    actor = SiteActor(site, placement.system.factory(site).context)
    actor.queue[waiting.id] = None
    id_reads.clear()

    await actor.receive(Recount(swept))

    assert id_reads == [], "the site's own tally, read again, matched: no need to read its jobs"
    assert list(actor.queue) == [waiting.id]


@needs_redis
async def test_the_sweep_tells_each_site_one_tally_however_long_its_backlog_and_a_lost_wake_up_costs_one_sweep(
    api: Api, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, site, tasks = await site_with_tasks(api, fake, 31)
    placement = api.client.app[ACTORS]
    await _no_sweeps(placement)
    told: list[Any] = []
    receive = SiteActor.receive

    async def recording(self: SiteActor, message: Any) -> None:
        told.append(message)
        await receive(self, message)

    monkeypatch.setattr(SiteActor, "receive", recording)
    backlog = [(await generate_content_job(api, owner, site, task)).id for task in tasks[:30]]

    for _ in range(3):  # the first takes the site (its actor reads the backlog as it starts)
        await placement.sweep()

    async def finished(job_ids: list[int]) -> bool:
        return await Job.filter(id__in=job_ids, status="succeeded").count() == len(job_ids)

    for _ in range(200):
        if await finished(backlog) and placement.system.idle(site) is not None:
            break
        await asyncio.sleep(0.05)
    assert await finished(backlog)
    assert told and all(isinstance(message, Recount) for message in told), told
    assert len(told) == 3, f"{len(told)} messages for three sweeps of one site"
    lost = await generate_content_job(api, owner, site, tasks[30])  # nobody tells the owner
    await asyncio.sleep(0.3)
    assert (await Job.get(id=lost.id)).status == "queued"
    await placement.sweep()
    for _ in range(100):
        if await finished([lost.id]):
            break
        await asyncio.sleep(0.05)
    assert await finished([lost.id]), "the sweep's tally didn't bring the lost job to its actor"
    assert fake.count("/chat/completions") == 31
