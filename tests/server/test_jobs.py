"""GET /api/v1/jobs/: filters by site, status and kind, within the account (CONTRACT §8); a
request waiting for its job (`?wait=`) answers when the job is committed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from models.jobs import Job
from server.keys import ACTORS, EVENTS
from services.events import Publication, RedisEventBus
from tests.ai_helpers import configure_ai
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api

JOBS = "/api/v1/jobs/"
TASKS = "/api/v1/writer/tasks/"


async def test_every_job_filter_keeps_its_rows_and_hides_the_others(api: Api) -> None:
    owner, stranger = await api.register(), await api.register()
    site, other = await api.site(owner), await api.site(owner)
    account = owner.account["id"]
    ideas = await Job.create(account_id=account, site_id=site["id"], kind="generate_ideas", status="succeeded")
    running = await Job.create(account_id=account, site_id=site["id"], kind="generate_content", status="running")
    failed = await Job.create(account_id=account, site_id=other["id"], kind="generate_ideas", status="failed")
    await Job.create(account_id=stranger.account["id"], kind="generate_ideas", status="failed")
    await api.assert_filters(
        JOBS,
        owner,
        [
            ({"site_id": other["id"]}, {failed.id}),
            ({"status": "running"}, {running.id}),
            ({"kind": "generate_ideas"}, {ideas.id, failed.id}),
            ({"kind": "generate_ideas", "status": "failed"}, {failed.id}),
        ],
    )
    assert await api.ids(JOBS, stranger, site_id=site["id"]) == set()
    await api.call("GET", JOBS, as_=owner, params={"status": "stuck"}, status=400)


@contextlib.asynccontextmanager
async def _a_task_to_write(api: Api) -> AsyncIterator[tuple[Any, dict[str, Any], dict[str, Any]]]:
    """An owner with AI set up against a fake model, a site and a task on it."""
    owner = await api.register()
    site = await api.site(owner)
    async with FakeOpenAI() as fake:
        await configure_ai(api, owner, fake)
        task = (await api.call("POST", TASKS, json={"site_id": site["id"], "title": "T"}, as_=owner, status=201))[
            "data"
        ]
        yield owner, site, task


async def test_a_waiting_request_answers_when_its_job_is_committed_not_when_the_events_are_out(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's end reaches the request in its process at once (`EventBus.hand_over`); the bus's
    numbered events (Redis in the PostgreSQL pass) follow for every other subscriber."""
    async with _a_task_to_write(api) as (owner, site, task):
        bus = api.client.app[EVENTS]
        publish_many = bus.publish_many

        async def slow_endings(batch: Sequence[Publication]) -> Any:
            if any(name == "job.succeeded" for _, name, _ in batch):
                await asyncio.sleep(3)  # longer than the request waits
            return await publish_many(batch)

        monkeypatch.setattr(bus, "publish_many", slow_endings)
        with bus.subscribe([f"site:{site['id']}"]) as watching:
            started = asyncio.get_running_loop().time()
            answer = await api.call("POST", f"{TASKS}{task['id']}/generate_content/?wait=2", as_=owner)
            # Not the end of the wait (which reads the job from the database): the job itself.
            assert asyncio.get_running_loop().time() - started < 1.5
            assert answer["data"]["job"]["status"] == "succeeded" and answer["data"]["content_id"]
            seen = []
            while not seen or seen[-1].event != "job.succeeded":  # the numbered event still comes
                seen.append(await asyncio.wait_for(watching.get(), 5))
            assert seen[-1].seq > 0 and seen[-1].data["id"] == answer["data"]["job"]["id"]


async def test_the_actor_runs_a_job_while_its_queued_event_is_on_its_way_and_the_events_stay_in_order(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request hands the job to its actor without waiting for `job.queued` to reach Redis;
    the job's end, published by the same process, is numbered after it all the same."""
    bus = api.client.app[EVENTS]
    if not isinstance(bus, RedisEventBus):
        pytest.skip("the memory bus publishes at once: runs in the PostgreSQL + Redis pass")
    async with _a_task_to_write(api) as (owner, site, task):
        gate = asyncio.Event()
        script = bus._script

        async def queued_held(*, keys: list[str], args: list[object]) -> Any:
            if any('"event":"job.queued"' in str(arg) for arg in args):
                await gate.wait()
            return await script(keys=keys, args=args)

        monkeypatch.setattr(bus, "_script", queued_held)

        async def no_sweep() -> None:  # the request alone hands the job to its actor
            return None

        monkeypatch.setattr(api.client.app[ACTORS], "sweep", no_sweep)
        with bus.subscribe([f"site:{site['id']}"]) as watching:
            answer = asyncio.ensure_future(api.call("POST", f"{TASKS}{task['id']}/generate_content/?wait=5", as_=owner))
            for _ in range(100):  # the job runs to its end while its job.queued is held
                if await Job.filter(kind="generate_content", status="succeeded").exists():
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the job did not run while its job.queued was on its way")
            assert not answer.done(), "the request answered before its job.queued was published"
            assert watching.get_nowait() is None, "an event overtook the held job.queued"
            gate.set()
            job = (await answer)["data"]["job"]
            assert job["status"] == "succeeded"
            seen = []
            while not seen or seen[-1].event != "job.succeeded":
                seen.append(await asyncio.wait_for(watching.get(), 5))
            assert [e.event for e in seen] == ["job.queued", "job.succeeded"]
            assert seen[0].seq < seen[1].seq and {e.data["id"] for e in seen} == {job["id"]}


async def test_a_job_whose_end_cannot_be_published_still_ends_and_its_actor_goes_on(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The bus failing at a job's end loses the event, not the job: the waiting request gets its
    answer, the row says succeeded, the log has a warning (not a crash of the actor), and the
    site's next job runs."""
    async with _a_task_to_write(api) as (owner, site, task):
        bus = api.client.app[EVENTS]
        publish_many = bus.publish_many

        async def endings_lost(batch: Sequence[Publication]) -> Any:
            if any(name == "job.succeeded" for _, name, _ in batch):
                raise ConnectionError("the bus is unreachable")
            return await publish_many(batch)

        monkeypatch.setattr(bus, "publish_many", endings_lost)
        answer = await api.call("POST", f"{TASKS}{task['id']}/generate_content/?wait=5", as_=owner)
        assert answer["data"]["job"]["status"] == "succeeded"
        assert (await Job.get(id=answer["data"]["job"]["id"])).status == "succeeded"
        other = (await api.call("POST", TASKS, json={"site_id": site["id"], "title": "U"}, as_=owner, status=201))[
            "data"
        ]
        again = await api.call("POST", f"{TASKS}{other['id']}/generate_content/?wait=5", as_=owner)
        assert again["data"]["job"]["status"] == "succeeded"
    assert not [r for r in caplog.records if r.levelname == "ERROR"], "the lost event was taken for a crash"
    assert any("job.succeeded event was not published" in r.getMessage() for r in caplog.records)
