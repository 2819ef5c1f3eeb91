"""What a dashboard author relies on: an automation run watched over the real websocket — events in
order with `seq` rising by one until `automation.completed`, `current_processing/` agreeing with
the last `item_processed`, a reconnect with `last_seq` that gets exactly what was missed, and
another account kept out of the run's channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.keys import EVENTS
from tests.automation_helpers import A, pipeline_site, run_now
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api
from tests.server.test_ws import connect, rising_by_one, seqs

STAGE_ORDER = ("clustering", "ideas", "tasks", "content", "image_prompts", "images", "publish")


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def test_a_run_watched_over_the_websocket_arrives_in_order_and_matches_current_processing(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, site_id = await pipeline_site(api, fake)
    fake.always("slow", seconds=0.05)
    client = await connect(api.client, owner)
    run = await run_now(api, owner, site_id)
    # Subscribing a moment after run_now loses nothing: last_seq 0 replays the run's channel.
    answer = await client.subscribe(f"run:{run['id']}", last_seq=0)
    assert answer["success"] is True, answer
    events: list[dict[str, Any]] = []
    checked_live = False
    while not events or events[-1]["event"] != "automation.completed":
        event = await client.event(timeout=60)
        events.append(event)
        if event["event"] == "automation.item_processed" and event["data"]["stage"] == "content" and not checked_live:
            # Mid-run, the REST view agrees with the event just received (or has moved past it).
            current = (await api.call("GET", f"{A}/current_processing/", params={"site_id": site_id}, as_=owner))[
                "data"
            ]
            assert current is not None and STAGE_ORDER.index(current["stage"]) >= STAGE_ORDER.index("content")
            checked_live = True
    assert checked_live
    assert events[0]["event"] == "automation.run_started" and events[0]["seq"] == 1
    assert rising_by_one(events), seqs(events)
    assert all(e["channel"] == f"run:{run['id']}" for e in events)
    processed = [e["data"] for e in events if e["event"] == "automation.item_processed"]
    stages = [STAGE_ORDER.index(p["stage"]) for p in processed]
    assert stages == sorted(stages), "items arrived out of stage order"
    assert [p["processed"] for p in processed if p["stage"] == "content"] == [1, 2, 3, 4, 5, 6]
    started = [e["data"]["stage"] for e in events if e["event"] == "automation.stage_started"]
    assert started == list(STAGE_ORDER)
    await client.ws.close()


async def test_a_dashboard_that_reconnects_with_last_seq_gets_exactly_the_missed_events(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, site_id = await pipeline_site(api, fake)
    fake.always("slow", seconds=0.1)
    run = await run_now(api, owner, site_id)
    channel = f"run:{run['id']}"
    with api.client.app[EVENTS].subscribe([channel]) as watch:
        first = await connect(api.client, owner)
        await first.subscribe(channel, last_seq=0)
        before = [await first.event(timeout=60) for _ in range(4)]
        await first.ws.close()  # the dashboard's tab goes to sleep mid-run
        async with asyncio.timeout(60):
            while (await watch.get()).event != "automation.completed":
                pass
    every = await api.client.app[EVENTS].replay(channel, 0)
    assert every is not None and every[-1].event == "automation.completed"

    second = await connect(api.client, owner)
    answer = await second.subscribe(channel, last_seq=before[-1]["seq"])
    assert answer["success"] is True, answer
    missed = await second.events_until("automation.completed", timeout=30)
    assert seqs(before) + seqs(missed) == [e.seq for e in every], "a gap or a duplicate at the reconnect"
    assert [e["event"] for e in missed] == [e.event for e in every[len(before) :]]
    await second.ws.close()


async def test_another_account_cannot_watch_the_run(api: Api, fake: FakeOpenAI) -> None:
    owner, site_id = await pipeline_site(api, fake, groups=0)
    run = await run_now(api, owner, site_id)
    stranger = await api.register()
    client = await connect(api.client, stranger)
    for channel in (f"run:{run['id']}", f"site:{site_id}"):
        answer = await client.subscribe(channel, last_seq=0)
        assert answer["type"] == "error" and answer["code"] == "permission_denied", answer
    await client.ws.close()
