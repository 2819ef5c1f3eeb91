"""A job started while its site's actor has nothing to do is made taken by the request's own
statement (`Placement.reserve`, `jobs.Taking`): stored `running` with the actor's token (begun by
that statement on PostgreSQL: a generate_content job's task in progress) and run without the
statement that takes a queued job. A busy actor's jobs queue as before; a hold the request gives
up (short credits) leaves the actor free; a held actor takes no queued job until the hold ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from actors.operations.writer import GenerateContent
from actors.site import Adopt, Release, SiteActor, Submit
from models.jobs import Job
from models.writer import Content, Task
from server.keys import ACTORS, EVENTS
from services import jobs, ledger
from tests.ai_helpers import TASKS, balance, generate_content_job, job_ledger, site_with_tasks
from tests.conftest import BACKEND
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api, Caller


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


def _generate(task_id: int) -> str:
    return f"{TASKS}{task_id}/generate_content/"


async def _started_and_idle(api: Api, owner: Caller, site: int, task_id: int) -> dict[str, Any]:
    """Run a first job of the site (it starts the site's actor), then wait for the actor to be
    idle: the request is answered as the job commits, before its actor has published its end."""
    job = (await api.call("POST", _generate(task_id), as_=owner))["data"]["job"]
    system = api.client.app[ACTORS].system
    for _ in range(100):
        if system.idle(site) is not None:
            return cast("dict[str, Any]", job)
        await asyncio.sleep(0.02)
    raise AssertionError("the site's actor did not become idle")


async def _until_succeeded(job_id: int) -> None:
    for _ in range(100):
        if (await Job.get(id=job_id)).status == "succeeded":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} is still {(await Job.get(id=job_id)).status}")


@pytest.fixture
def takes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The jobs the site actors took with the statement that takes a queued job. Only those it
    took: the sweep's announcement of a job that ended after the sweep read it makes the actor
    try once more, and the statement then finds nothing to take."""
    taken: list[int] = []
    claim_and_begin = jobs.claim_and_begin

    async def counting(job_id: int, *args: Any) -> Any:
        job, begun = await claim_and_begin(job_id, *args)
        if job is not None:
            taken.append(job_id)
        return job, begun

    monkeypatch.setattr(jobs, "claim_and_begin", counting)
    return taken


@pytest.fixture
def begins(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The generate_content jobs whose actor ran `begin` (the task marked in progress by the ORM)."""
    begun: list[int] = []
    begin = GenerateContent.begin

    async def counting(self: GenerateContent) -> None:
        begun.append(self.job.id)
        await begin(self)

    monkeypatch.setattr(GenerateContent, "begin", counting)
    return begun


async def test_a_job_for_an_idle_actor_is_made_running_and_runs_without_being_taken(
    api: Api, fake: FakeOpenAI, takes: list[int], begins: list[int]
) -> None:
    owner, site, tasks = await site_with_tasks(api, fake, 2)
    first = await _started_and_idle(api, owner, site, tasks[0])
    assert takes == [first["id"]]
    with api.client.app[EVENTS].subscribe([f"site:{site}"]) as sub:
        body = (await api.call("POST", _generate(tasks[1]), as_=owner))["data"]
        job = body["job"]
        queued = await asyncio.wait_for(sub.get(), 5)
        while queued.data["id"] != job["id"]:  # the first job's end, back from Redis
            queued = await asyncio.wait_for(sub.get(), 5)
    assert takes == [first["id"]], "the idle actor's job was taken by a statement of its own"
    assert (job["status"], job["credits_used"]) == ("succeeded", 10) and body["word_count"] > 0
    assert (queued.event, queued.data["id"], queued.data["status"]) == ("job.queued", job["id"], "running")
    assert queued.data["started_at"] is not None
    stored = await Job.get(id=job["id"])
    token = api.client.app[ACTORS].fence(site) or 0  # the site's lease token (several processes), else 0
    assert (stored.fence, stored.result["content_id"]) == (token, body["content_id"])
    assert (await Task.get(id=tasks[1])).status == "completed"
    assert await Content.filter(task_id=tasks[1]).count() == 1
    assert await job_ledger(job["id"]) == [("usage", -10)]
    # PostgreSQL: the statement that made the job also began it; SQLite: the actor began it.
    assert begins == ([] if BACKEND == "postgres" else [first["id"], job["id"]])
    assert await balance(owner.account["id"]) == 980


async def test_a_busy_actors_next_job_is_queued_and_taken_in_its_turn(
    api: Api, fake: FakeOpenAI, takes: list[int]
) -> None:
    owner, site, tasks = await site_with_tasks(api, fake, 3)
    await _started_and_idle(api, owner, site, tasks[0])
    fake.always("slow", seconds=0.5)
    busy = await api.call("POST", _generate(tasks[1]), as_=owner, status=202, params={"wait": 0})
    behind = await api.call("POST", _generate(tasks[2]), as_=owner, status=202, params={"wait": 0})
    assert (busy["data"]["job"]["status"], behind["data"]["job"]["status"]) == ("running", "queued")
    await _until_succeeded(behind["data"]["job"]["id"])
    assert behind["data"]["job"]["id"] in takes and busy["data"]["job"]["id"] not in takes


async def test_a_hold_given_up_on_short_credits_leaves_the_actor_free_for_the_next_job(
    api: Api, fake: FakeOpenAI, takes: list[int]
) -> None:
    owner, site, tasks = await site_with_tasks(api, fake, 3)
    account = owner.account["id"]
    await _started_and_idle(api, owner, site, tasks[0])
    before = await balance(account)
    await ledger.grant(account, 5 - before)
    short = await api.call("POST", _generate(tasks[1]), as_=owner, status=402)
    assert (short["required"], short["available"]) == (10, 5)
    assert await Job.filter(account_id=account).count() == 1 and await balance(account) == 5
    await ledger.grant(account, 95)
    body = await api.call("POST", _generate(tasks[2]), as_=owner, params={"wait": 5})
    assert body["data"]["job"]["status"] == "succeeded", "the actor stayed held after the 402"
    assert await balance(account) == 90


async def test_a_held_actor_takes_no_queued_job_until_the_hold_ends(api: Api, fake: FakeOpenAI) -> None:
    owner, site, tasks = await site_with_tasks(api, fake, 2)
    await _started_and_idle(api, owner, site, tasks[0])
    placement = api.client.app[ACTORS]
    hold = placement.reserve(site)
    assert hold is not None and placement.reserve(site) is None, "one hold at a time"
    # A job queued meanwhile (e.g. by another process's request): announced, not taken while held.
    job = await generate_content_job(api, owner, site, tasks[1])
    await placement.tell(site, Submit(job.id))
    await asyncio.sleep(0.3)
    assert (await Job.get(id=job.id)).status == "queued"
    await placement.release(hold)
    await _until_succeeded(job.id)


async def test_a_restarted_actor_that_found_the_adopted_job_queued_runs_it_once(
    api: Api, fake: FakeOpenAI, takes: list[int]
) -> None:
    """The actor that was held crashed and its successor read the site's unfinished jobs, the
    adopted one among them, before the `Adopt` came: the job runs once, as the adopted one."""
    owner, site, tasks = await site_with_tasks(api, fake, 1)
    placement = api.client.app[ACTORS]
    for loop in placement._loops:  # no sweep hands the job to the app's own actor meanwhile
        await loop.stop()
    made = await generate_content_job(api, owner, site, tasks[0], taking=jobs.Taking(None, None))
    actor = SiteActor(site, placement.system.factory(site).context)
    await actor.on_start()
    assert list(actor.queue) == [made.id] and not actor.held
    await actor.receive(Adopt(made, None))
    assert actor.current is not None and actor.current.job.id == made.id and not actor.queue
    while actor.current is not None:
        await actor.step()
    assert takes == [] and (await Job.get(id=made.id)).status == "succeeded"
    assert await Content.filter(task_id=tasks[0]).count() == 1 and fake.count("/chat/completions") == 1
    await actor.receive(Release())  # a late release of nothing changes nothing
    assert actor.current is None and not actor.queue and not actor.held


async def test_an_actor_with_a_job_in_hand_or_waiting_is_not_held(api: Api, fake: FakeOpenAI) -> None:
    owner, site, _ = await site_with_tasks(api, fake, 1)
    actor = SiteActor(site, api.client.app[ACTORS].system.factory(site).context)
    actor.queue[1] = None
    assert not actor.reserve(), "held with a job waiting its turn"
    actor.queue.clear()
    job = await Job.create(account_id=owner.account["id"], site_id=site, kind=GenerateContent.kind, params={})
    actor.current = GenerateContent(job, actor.context)
    assert not actor.reserve(), "held with a job in hand"
    actor.current = None
    assert actor.reserve() and actor.held and not actor.reserve(), "one hold at a time"
