"""The job control plane and the job events: cancel answers at once whatever the actor is doing,
the job ends `cancelled`, the item in flight is charged; `job.*` and `credits.changed` reach
subscribers of the event bus (across apps on Redis); actor messages carry ids, never secrets."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.runtime import ActorRef
from actors.site import Submit
from models.jobs import Job
from models.planner import ContentIdea
from server.app import create_app
from server.keys import ACTORS, EVENTS
from services.events import Event, Subscription
from tests.ai_helpers import balance, configure_ai, job_ledger
from tests.conftest import BACKEND
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api, Caller

IDEAS = "/api/v1/planner/clusters/generate_ideas/"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def _clusters(api: Api, fake: FakeOpenAI, count: int) -> tuple[Caller, dict[str, Any], list[int]]:
    owner = await api.register()
    site = await api.site(owner)
    await configure_ai(api, owner, fake)
    ids = []
    for n in range(count):
        body = await api.call(
            "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": f"C{n}"}, as_=owner, status=201
        )
        ids.append(body["data"]["id"])
    return owner, site, ids


async def _until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def _events_until(sub: Subscription, last: str, timeout: float = 15.0) -> list[Event]:
    got: list[Event] = []
    while not got or got[-1].event != last:
        got.append(await asyncio.wait_for(sub.get(), timeout))
    return got


async def test_cancel_during_a_long_model_call_answers_at_once_and_the_job_ends_cancelled(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, _, ids = await _clusters(api, fake, 2)
    fake.always("slow", seconds=2.5)
    started = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=202, params={"wait": 0})
    job_id = started["data"]["job"]["id"]
    await _until(lambda: _calls(fake, 1))  # the first item's model call is in flight

    began = time.monotonic()
    body = await api.call("POST", f"/api/v1/jobs/{job_id}/cancel/", as_=owner)
    assert time.monotonic() - began < 1.0, "cancel waited behind the item in flight"
    assert body["data"]["status"] == "running", "the item in flight finishes before the job ends"

    async def cancelled() -> bool:
        return (await Job.get(id=job_id)).status == "cancelled"

    await _until(cancelled)
    job = await Job.get(id=job_id)
    assert job.progress_done == 1 and job.credits_used == 5 and fake.count("/chat/completions") == 1
    assert await ContentIdea.all().count() == 3, "the finished item's ideas are kept"
    assert await job_ledger(job_id) == [("usage", -10), ("refund", 5)]
    assert await balance(owner.account["id"]) == 995


async def _calls(fake: FakeOpenAI, n: int) -> bool:
    return fake.count("/chat/completions") >= n


async def test_a_cancel_that_arrives_during_the_last_item_still_ends_the_job_cancelled(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, _, ids = await _clusters(api, fake, 1)
    fake.always("slow", seconds=1.0)
    started = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=202, params={"wait": 0})
    job_id = started["data"]["job"]["id"]
    await _until(lambda: _calls(fake, 1))
    await api.call("POST", f"/api/v1/jobs/{job_id}/cancel/", as_=owner)
    finished = await api.call("GET", f"/api/v1/jobs/{job_id}/", as_=owner)
    while finished["data"]["status"] == "running":
        await asyncio.sleep(0.05)
        finished = await api.call("GET", f"/api/v1/jobs/{job_id}/", as_=owner)
    assert finished["data"]["status"] == "cancelled"
    assert finished["data"]["credits_used"] == 5 and finished["data"]["result"]["ideas_created"] == 3
    assert await job_ledger(job_id) == [("usage", -5)]


async def test_a_queued_job_is_cancelled_at_once_and_never_runs(api: Api, fake: FakeOpenAI) -> None:
    owner, _, ids = await _clusters(api, fake, 2)
    fake.always("slow", seconds=1.0)
    first = await api.call("POST", IDEAS, json={"ids": ids[:1]}, as_=owner, status=202, params={"wait": 0})
    second = await api.call("POST", IDEAS, json={"ids": ids[1:]}, as_=owner, status=202, params={"wait": 0})
    assert second["data"]["job"]["status"] == "queued"  # behind the first, on the same site's actor
    body = await api.call("POST", f"/api/v1/jobs/{second['data']['job']['id']}/cancel/", as_=owner)
    assert body["data"]["status"] == "cancelled" and body["data"]["credits_used"] == 0
    assert await job_ledger(body["data"]["id"]) == [("usage", -5), ("refund", 5)]

    async def first_done() -> bool:
        return (await Job.get(id=first["data"]["job"]["id"])).status == "succeeded"

    await _until(first_done)
    await asyncio.sleep(0.2)
    assert fake.count("/chat/completions") == 1, "the cancelled job's model call was made"
    again = await api.call("POST", f"/api/v1/jobs/{body['data']['id']}/cancel/", as_=owner)
    assert again["data"]["status"] == "cancelled"  # cancelling a finished job changes nothing
    assert await balance(owner.account["id"]) == 995


async def test_job_and_credit_events_reach_subscribers_in_order_with_rising_seq(api: Api, fake: FakeOpenAI) -> None:
    owner, site, ids = await _clusters(api, fake, 2)
    bus = api.client.app[EVENTS]
    account = owner.account["id"]
    with bus.subscribe([f"site:{site['id']}"]) as site_sub, bus.subscribe([f"account:{account}"]) as account_sub:
        body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner)
        job_id = body["data"]["job"]["id"]
        on_site = await _events_until(site_sub, "job.succeeded")
        on_account = await _events_until(account_sub, "job.succeeded")
    assert [e.event for e in on_site] == ["job.queued", "job.progress", "job.succeeded"]
    assert [e.seq for e in on_site] == list(range(on_site[0].seq, on_site[0].seq + 3))
    assert all(e.data["id"] == job_id for e in on_site)
    assert on_site[1].data["progress"] == {"done": 1, "total": 2}
    assert on_site[2].data["status"] == "succeeded" and on_site[2].data["result"]["ideas_created"] == 6
    credits = [e for e in on_account if e.event == "credits.changed"]
    assert [(e.data["kind"], e.data["amount"], e.data["balance"]) for e in credits] == [("usage", -10, 990)]
    assert credits[0].data["job_id"] == job_id
    assert [e.seq for e in on_account] == list(range(on_account[0].seq, on_account[0].seq + len(on_account)))
    assert await balance(account) == 990


async def test_a_refund_publishes_credits_changed_with_the_balance_after(api: Api, fake: FakeOpenAI) -> None:
    owner, _, ids = await _clusters(api, fake, 1)
    fake.fail_next("malformed", times=2)
    account = owner.account["id"]
    with api.client.app[EVENTS].subscribe([f"account:{account}"]) as sub:
        await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=502)
        events = await _events_until(sub, "job.failed")
    credits = [(e.data["kind"], e.data["amount"], e.data["balance"]) for e in events if e.event == "credits.changed"]
    assert credits == [("usage", -5, 995), ("refund", 5, 1000)]


@pytest.mark.skipif(BACKEND != "postgres", reason="needs Redis: runs in the PostgreSQL + Redis pass")
async def test_on_redis_a_job_run_by_one_app_is_seen_by_a_subscriber_of_another(
    aiohttp_client: Any, settings: Any, fake: FakeOpenAI
) -> None:
    first = Api(await aiohttp_client(create_app(settings, docs=False)))
    second = Api(await aiohttp_client(create_app(settings, docs=False)))
    owner, site, ids = await _clusters(first, fake, 1)
    with second.client.app[EVENTS].subscribe([f"site:{site['id']}"]) as sub:
        body = await first.call("POST", IDEAS, json={"ids": ids}, as_=owner)
        events = await _events_until(sub, "job.succeeded")
    assert [e.event for e in events] == ["job.queued", "job.succeeded"]
    assert events[-1].data["id"] == body["data"]["job"]["id"]
    replayed = await second.client.app[EVENTS].replay(f"site:{site['id']}", events[0].seq - 1)
    assert replayed is not None and [e.event for e in replayed] == ["job.queued", "job.succeeded"]


async def test_actor_messages_carry_ids_and_no_secret_reaches_a_message_or_the_log(
    api: Api, fake: FakeOpenAI, monkeypatch: Any, caplog: Any
) -> None:
    told: list[Any] = []
    original = ActorRef.tell

    async def recording(self: ActorRef[Any], message: Any) -> None:
        told.append(message)
        await original(self, message)

    monkeypatch.setattr(ActorRef, "tell", recording)
    owner, _, ids = await _clusters(api, fake, 1)
    key = "sk-live-secret-key-0987654321"
    await configure_ai(api, owner, fake, api_key=key)
    fake.api_key = key
    with caplog.at_level(logging.DEBUG):
        body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner)
        job_id = body["data"]["job"]["id"]
        await api.call("POST", f"/api/v1/jobs/{job_id}/cancel/", as_=owner)
    assert told, "the job was not handed to an actor"
    for message in told:
        values = dataclasses.asdict(message)
        assert all(isinstance(v, int) for v in values.values()), message
    assert key not in caplog.text and key[-10:] not in caplog.text


async def test_jobs_announced_again_and_again_run_once_each_in_the_order_they_were_queued(
    api: Api, fake: FakeOpenAI
) -> None:
    """The sweep tells a site's actor about every unfinished job again each second: a job the
    actor already holds or runs is not queued twice, and the queue keeps its order."""
    owner, site, ids = await _clusters(api, fake, 4)
    fake.always("slow", seconds=0.3)
    started = [
        (await api.call("POST", IDEAS, json={"ids": [cluster]}, as_=owner, params={"wait": 0}, status=202))["data"][
            "job"
        ]["id"]
        for cluster in ids
    ]
    placement = api.client.app[ACTORS]
    for _ in range(3):  # what the sweep does, over and over, while the first job runs
        for job_id in reversed(started):
            await placement.tell(site["id"], Submit(job_id))
        await asyncio.sleep(0.05)

    async def all_done() -> bool:
        return await Job.filter(id__in=started, status="succeeded").count() == len(started)

    await _until(all_done)
    assert fake.count("/chat/completions") == len(started), "a job ran twice"
    jobs = await Job.filter(id__in=started).order_by("started_at")
    assert [job.id for job in jobs] == started, "the queue lost its order"
