"""The websocket at /api/v1/ws/ (CONTRACT §13), through aiohttp's real websocket client: the four
ways in, subscribe/unsubscribe/ping, permissions, job and credit events in order, replay from
`last_seq` without gap or duplicate, `replay_gap`, bad input, slow clients, shutdown; across two
app instances on Redis."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

from models.accounts import Site
from models.automation import AutomationRun
from models.integration import Integration
from server import ws as ws_module
from server.app import create_app
from server.keys import EVENTS, REDIS
from services.auth import create_api_key
from tests.ai_helpers import configure_ai
from tests.conftest import BACKEND
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api, Caller

WS = "/api/v1/ws/"
IDEAS = "/api/v1/planner/clusters/generate_ideas/"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


class Client:
    """A websocket client that keeps events aside while it waits for an answer."""

    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    async def next(self, timeout: float = 15.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type is WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
        value: dict[str, Any] = json.loads(msg.data)
        return value

    async def ask(self, type_: str, **fields: Any) -> dict[str, Any]:
        msg_id = next(self._ids)
        await self.ws.send_json({"id": msg_id, "type": type_, **fields})
        while True:
            answer = await self.next()
            if answer["type"] == "event":
                self.events.append(answer)
                continue
            assert answer["id"] == msg_id, answer
            return answer

    async def subscribe(self, channel: str, **fields: Any) -> dict[str, Any]:
        return await self.ask("subscribe", channel=channel, **fields)

    async def event(self, timeout: float = 15.0) -> dict[str, Any]:
        if self.events:
            return self.events.pop(0)
        message = await self.next(timeout)
        assert message["type"] == "event", message
        return message

    async def events_until(self, name: str, timeout: float = 15.0) -> list[dict[str, Any]]:
        got = [await self.event(timeout)]
        while got[-1]["event"] != name:
            got.append(await self.event(timeout))
        return got

    async def close_code(self, timeout: float = 15.0) -> int | None:
        """Read until the server closes; its close code."""
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return self.ws.close_code


async def connect(client: TestClient, caller: Caller | None = None, **kwargs: Any) -> Client:
    headers = {**(caller.headers if caller else {}), **kwargs.pop("headers", {})}
    return Client(await client.ws_connect(WS, headers=headers, **kwargs))


async def world(api: Api, fake: FakeOpenAI, clusters: int = 2) -> tuple[Caller, dict[str, Any], list[int]]:
    owner = await api.register()
    site = await api.site(owner)
    await configure_ai(api, owner, fake)
    ids = []
    for n in range(clusters):
        body = await api.call(
            "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": f"C{n}"}, as_=owner, status=201
        )
        ids.append(body["data"]["id"])
    return owner, site, ids


async def run_job(api: Api, owner: Caller, ids: list[int]) -> int:
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner)
    assert body["data"]["job"]["status"] == "succeeded"
    job_id: int = body["data"]["job"]["id"]
    return job_id


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for e in events]


def rising_by_one(events: list[dict[str, Any]]) -> bool:
    return seqs(events) == list(range(events[0]["seq"], events[0]["seq"] + len(events)))


# --- authentication ------------------------------------------------------------------------------


async def test_a_bearer_header_lets_a_client_subscribe_and_ping(api: Api) -> None:
    owner = await api.register()
    client = await connect(api.client, owner)
    assert await client.ask("ping") == {"id": 1, "type": "pong"}
    stream = await api.client.app[EVENTS].stream_id(f"account:{owner.account['id']}")
    assert await client.subscribe("account") == {"id": 2, "type": "result", "success": True, "stream": stream}
    assert await client.subscribe("account") == {"id": 3, "type": "result", "success": True, "stream": stream}, "again"
    await client.ws.close()


async def test_the_token_in_the_query_string_authenticates(api: Api) -> None:
    owner = await api.register()
    client = Client(await api.client.ws_connect(WS, params={"token": owner.access}))
    assert (await client.subscribe("account"))["success"] is True
    await client.ws.close()


async def test_the_session_cookie_authenticates(api: Api) -> None:
    owner = await api.register()
    # The test client keeps the cookies login sets, as a browser would.
    await api.login(owner.user["email"], owner.password, session=True)
    client = await connect(api.client)
    assert (await client.subscribe("account"))["success"] is True
    await client.ws.close()


async def test_a_first_auth_message_authenticates(api: Api) -> None:
    owner = await api.register()
    client = await connect(api.client)
    await client.ws.send_json({"id": 7, "type": "auth", "token": owner.access})
    assert await client.next() == {"id": 7, "type": "result", "success": True}
    assert (await client.subscribe("account"))["success"] is True
    await client.ws.close()


async def test_an_api_key_subscribes_to_its_own_site_only(api: Api) -> None:
    owner = await api.register()
    site, other_site = await api.site(owner), await api.site(owner)
    key = await create_api_key(owner.account["id"], site["id"])
    client = await connect(api.client, headers={"Authorization": f"ApiKey {key}"})
    assert (await client.subscribe(f"site:{site['id']}"))["success"] is True
    for channel in (f"site:{other_site['id']}", "account"):
        answer = await client.subscribe(channel)
        assert answer["type"] == "error" and answer["code"] == "permission_denied", answer
    await client.ws.close()


async def test_no_credentials_within_the_deadline_closes_with_4401(api: Api, monkeypatch: Any) -> None:
    monkeypatch.setattr(ws_module, "AUTH_TIMEOUT_S", 0.2)
    client = await connect(api.client)
    assert await client.close_code(timeout=5) == 4401


@pytest.mark.parametrize("way", ["bearer", "query", "auth_message", "apikey", "cookie", "other_first_message"])
async def test_a_bad_token_closes_with_4401(api: Api, way: str) -> None:
    owner = await api.register()
    if way == "bearer":
        client = await connect(api.client, headers={"Authorization": "Bearer not-a-jwt"})
    elif way == "apikey":
        client = await connect(api.client, headers={"Authorization": "ApiKey ink_wrong"})
    elif way == "query":
        client = Client(await api.client.ws_connect(WS, params={"token": owner.access + "x"}))
    elif way == "cookie":
        client = await connect(api.client, headers={"Cookie": "session=stale-session-token"})
    else:
        client = await connect(api.client)
        first = {"type": "auth", "token": "nope"} if way == "auth_message" else {"id": 1, "type": "ping"}
        await client.ws.send_json(first)
    assert await client.close_code() == 4401


async def test_a_logged_out_access_token_is_refused(api: Api) -> None:
    owner = await api.register()
    await api.call("POST", "/api/v1/auth/logout/", json={"refresh": owner.refresh}, as_=owner)
    client = await connect(api.client, owner)
    assert await client.close_code() == 4401


async def test_a_plain_get_answers_426_in_the_error_envelope(api: Api) -> None:
    body = await api.call("GET", WS, status=426)
    assert body["code"] == "upgrade_required"


# --- events --------------------------------------------------------------------------------------


async def test_a_job_s_events_arrive_in_order_with_seq_rising_by_one(api: Api, fake: FakeOpenAI) -> None:
    owner, site, ids = await world(api, fake)
    client = await connect(api.client, owner)
    await client.subscribe(f"site:{site['id']}")
    job_id = await run_job(api, owner, ids)
    events = await client.events_until("job.succeeded")
    assert [e["event"] for e in events] == ["job.queued", "job.progress", "job.succeeded"]
    assert all(e["channel"] == f"site:{site['id']}" and e["data"]["id"] == job_id for e in events)
    assert rising_by_one(events) and events[0]["seq"] == 1
    assert events[1]["data"]["progress"] == {"done": 1, "total": 2}
    assert set(events[0]) == {"type", "channel", "seq", "event", "data", "ts"}
    # The job's own channel, subscribed after the fact, replays its whole story.
    answer = await client.subscribe(f"job:{job_id}", last_seq=0)
    stream = await api.client.app[EVENTS].stream_id(f"job:{job_id}")
    assert answer == {"id": 2, "type": "result", "success": True, "stream": stream, "replayed": 3}
    replayed = [await client.event() for _ in range(3)]
    assert [(e["channel"], e["seq"]) for e in replayed] == [(f"job:{job_id}", n) for n in (1, 2, 3)]
    await client.ws.close()


async def test_credits_changed_arrives_on_the_account_channel(api: Api, fake: FakeOpenAI) -> None:
    owner, _, ids = await world(api, fake)
    client = await connect(api.client, owner)
    await client.subscribe("account")
    job_id = await run_job(api, owner, ids)
    events = await client.events_until("job.succeeded")
    assert all(e["channel"] == "account" for e in events), "the client sees `account`, not account:<id>"
    credits = [e["data"] for e in events if e["event"] == "credits.changed"]
    assert [(c["kind"], c["amount"], c["balance"], c["job_id"]) for c in credits] == [("usage", -10, 990, job_id)]
    assert rising_by_one(events)
    await client.ws.close()


async def test_a_client_that_reconnects_with_last_seq_gets_exactly_the_missed_events(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, site, ids = await world(api, fake)
    channel = f"site:{site['id']}"
    client = await connect(api.client, owner)
    stream = (await client.subscribe(channel))["stream"]
    await run_job(api, owner, ids)
    first = await client.event()
    await client.ws.close()  # mid-stream: two events of this job unread

    await run_job(api, owner, ids)  # three more while disconnected
    again = await connect(api.client, owner)
    answer = await again.subscribe(channel, last_seq=first["seq"], stream=stream)
    assert answer["success"] is True and answer["replayed"] == 5 and answer["stream"] == stream, answer
    missed = [await again.event() for _ in range(5)]
    assert seqs(missed) == [2, 3, 4, 5, 6]
    assert [e["event"] for e in missed] == [
        "job.progress",
        "job.succeeded",
        "job.queued",
        "job.progress",
        "job.succeeded",
    ]
    await run_job(api, owner, ids)  # live events continue right after the replayed ones
    live = await again.events_until("job.succeeded")
    assert seqs(live) == [7, 8, 9]
    await again.ws.close()


async def test_a_channel_whose_counter_started_again_is_a_gap_even_once_it_passes_the_client_s_last_seq(
    api: Api, settings: Any
) -> None:
    """A channel's counter can start again alone: a memory bus drops the least recently used of
    20,000 channels' counters, Redis lets one expire after a month without events. A client that
    saw seqs 1..5 of the old counter and comes back once the new one has counted 7 must be told
    of the gap, not replayed the new 6 and 7 as if they followed its 5. One from before streams
    named the counter (the bus's history alone) is answered as it was then."""
    owner = await api.register()
    channel = f"site:{(await api.site(owner))['id']}"
    bus = api.client.app[EVENTS]
    client = await connect(api.client, owner)
    stream = (await client.subscribe(channel))["stream"]
    for n in range(5):
        await bus.publish([channel], "test.tick", {"n": n})
    assert seqs([await client.event() for _ in range(5)]) == [1, 2, 3, 4, 5]
    await client.ws.close()

    if settings.redis_url:  # what a month without events does to the channel's keys
        prefix = f"{settings.redis_prefix}:ev"
        await bus._redis.delete(f"{prefix}:seq:{channel}", f"{prefix}:log:{channel}", f"{prefix}:birth:{channel}")
    else:  # what 20,000 newer channels do
        bus._channels.pop(channel)
    for n in range(7):
        await bus.publish([channel], "test.tick", {"n": f"new {n}"})

    again = await connect(api.client, owner)
    gap = await again.subscribe(channel, last_seq=5, stream=stream)
    assert gap["type"] == "error" and gap["code"] == "replay_gap" and gap["last_seq"] == 7, gap
    assert gap["stream"] != stream and gap["stream"] == await bus.stream_id(channel)
    await bus.publish([channel], "test.tick", {"n": "live"})
    assert (await again.event())["seq"] == 8
    legacy = await connect(api.client, owner)
    answer = await legacy.subscribe(channel, last_seq=6, stream=stream.split(".")[0])
    assert answer["success"] is True and answer["replayed"] == 2, answer
    await again.ws.close()
    await legacy.ws.close()


async def test_replay_from_a_seq_no_longer_kept_answers_replay_gap_and_stays_subscribed(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    channel = f"site:{site['id']}"
    bus = api.client.app[EVENTS]
    for n in range(1005):  # the buffer keeps the last 1,000: seqs 6..1005
        await bus.publish([channel], "test.tick", {"n": n})
    client = await connect(api.client, owner)
    gap = await client.subscribe(channel, last_seq=4, stream=await bus.stream_id(channel))
    assert gap["type"] == "error" and gap["code"] == "replay_gap" and gap["last_seq"] == 1005, gap
    assert gap["stream"] == await bus.stream_id(channel)
    assert "REST" in gap["message"]
    await bus.publish([channel], "test.tick", {"n": "live"})
    live = await client.event()
    assert (live["seq"], live["data"]) == (1006, {"n": "live"})

    other = await connect(api.client, owner)
    assert (await other.subscribe(channel, last_seq=5))["code"] == "replay_gap"  # 6 has gone meanwhile
    await other.ask("unsubscribe", channel=channel)
    answer = await other.subscribe(channel, last_seq=6)
    assert answer["success"] is True and answer["replayed"] == 1000
    assert seqs([await other.event() for _ in range(1000)]) == list(range(7, 1007))
    # A last_seq from another history (the counter started again) is a gap too.
    answer = await other.subscribe(f"site:{(await api.site(owner))['id']}", last_seq=50)
    assert answer["code"] == "replay_gap" and answer["last_seq"] == 0
    await client.ws.close()
    await other.ws.close()


async def test_the_replay_seam_has_no_gap_and_no_duplicate_while_events_keep_coming(api: Api, monkeypatch: Any) -> None:
    owner = await api.register()
    site = await api.site(owner)
    channel = f"site:{site['id']}"
    bus = api.client.app[EVENTS]
    for n in range(10):
        await bus.publish([channel], "test.tick", {"n": n})
    original_replay = bus.replay

    async def slow_replay(name: str, after_seq: int) -> Any:
        # Live events published while the missed ones are being read.
        for n in range(3):
            await bus.publish([channel], "test.tick", {"n": f"during {n}"})
        await asyncio.sleep(0.2)
        return await original_replay(name, after_seq)

    monkeypatch.setattr(bus, "replay", slow_replay)
    client = await connect(api.client, owner)
    answer = await client.subscribe(channel, last_seq=4)
    assert answer["success"] is True
    got = [await client.event() for _ in range(9)]
    assert seqs(got) == list(range(5, 14))
    await bus.publish([channel], "test.tick", {"n": "after"})
    assert (await client.event())["seq"] == 14
    await client.ws.close()


async def test_after_a_restart_a_last_seq_of_the_old_stream_answers_replay_gap_though_the_new_count_is_past_it(
    aiohttp_client: Any, make_settings: Any
) -> None:
    # One process with the memory bus (no Redis, on either pass): its counters die with it.
    settings = make_settings(redis_url=None)
    before = Api(await aiohttp_client(create_app(settings, docs=False)))
    owner = await before.register()
    site = await before.site(owner)
    channel = f"site:{site['id']}"
    client = await connect(before.client, owner)
    old_stream = (await client.subscribe(channel))["stream"]
    for n in range(3):
        await before.client.app[EVENTS].publish([channel], "test.tick", {"n": f"old {n}"})
    seen = [await client.event() for _ in range(3)]
    assert seqs(seen) == [1, 2, 3]
    await before.client.app.shutdown()  # the server stops: 1001, reconnect with last_seq
    assert await client.close_code() == 1001
    await before.client.close()

    # The restarted server, on the same database, numbers the channel from 1 again and gets
    # past the client's last_seq before the client is back.
    after = Api(await aiohttp_client(create_app(settings, docs=False)))
    bus = after.client.app[EVENTS]
    new_stream = await bus.stream_id(channel)
    assert new_stream != old_stream
    for n in range(5):
        await bus.publish([channel], "test.tick", {"n": f"new {n}"})
    again = await connect(after.client, owner)
    gap = await again.subscribe(channel, last_seq=3, stream=old_stream)
    assert gap["type"] == "error" and gap["code"] == "replay_gap", gap
    assert (gap["last_seq"], gap["stream"]) == (5, new_stream)
    await bus.publish([channel], "test.tick", {"n": "live"})
    live = await again.event()
    assert (live["seq"], live["data"]) == (6, {"n": "live"}), "subscribed from the current seq on"

    # The compatibility path: a client that sends no stream gets what it got before streams
    # existed. Its last_seq is within the new count, so it is replayed events of the new
    # history (4..6), which is the gap only `stream` can reveal.
    legacy = await connect(after.client, owner)
    answer = await legacy.subscribe(channel, last_seq=3)
    assert answer["success"] is True and answer["replayed"] == 3 and answer["stream"] == new_stream, answer
    assert [e["data"]["n"] for e in [await legacy.event() for _ in range(3)]] == ["new 3", "new 4", "live"]
    await again.ws.close()
    await legacy.ws.close()


async def test_unsubscribe_stops_delivery(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    bus = api.client.app[EVENTS]
    client = await connect(api.client, owner)
    await client.subscribe(f"site:{site['id']}")
    await client.subscribe("account")
    await bus.publish([f"site:{site['id']}"], "test.one", {})
    assert (await client.event())["event"] == "test.one"
    assert (await client.ask("unsubscribe", channel=f"site:{site['id']}"))["success"] is True
    await bus.publish([f"site:{site['id']}"], "test.two", {})
    await bus.publish([f"account:{owner.account['id']}"], "test.three", {})
    assert (await client.event())["event"] == "test.three", "the unsubscribed channel's event was delivered"
    again = await client.ask("unsubscribe", channel=f"site:{site['id']}")
    assert again["type"] == "error" and again["code"] == "not_found"
    await client.ws.close()


# --- permissions ---------------------------------------------------------------------------------


async def test_another_account_s_channels_answer_permission_denied(api: Api, fake: FakeOpenAI) -> None:
    owner, site, ids = await world(api, fake)
    job_id = await run_job(api, owner, ids)
    run = await AutomationRun.create(account_id=owner.account["id"], site_id=site["id"], job_id=job_id)
    integration = await Integration.create(
        account_id=owner.account["id"], site_id=site["id"], base_url="https://wp.example.com"
    )
    mine = [f"site:{site['id']}", f"job:{job_id}", f"run:{run.id}", f"integration:{integration.id}"]
    stranger = await api.register()
    client = await connect(api.client, stranger)
    for channel in [*mine, "site:999999", "job:9999999999"]:
        answer = await client.subscribe(channel)
        assert answer["type"] == "error" and answer["code"] == "permission_denied" and answer["success"] is False
        assert answer["id"] and answer["message"]
    own = await connect(api.client, owner)
    for channel in mine:
        assert (await own.subscribe(channel))["success"] is True, channel
    assert api.client.app[EVENTS].subscriber_count() == 4
    await client.ws.close()
    await own.ws.close()


# --- bad input and limits ------------------------------------------------------------------------


async def test_invalid_json_answers_an_error_and_keeps_the_connection(api: Api) -> None:
    owner = await api.register()
    client = await connect(api.client, owner)
    await client.ws.send_str("{not json")
    answer = await client.next()
    assert answer == {
        "id": None,
        "type": "error",
        "success": False,
        "code": "invalid_message",
        "message": answer["message"],
    }
    await client.ws.send_str("[1, 2]")
    assert (await client.next())["code"] == "invalid_message"
    await client.ws.send_bytes(b'{"id": 1, "type": "ping"}')
    assert (await client.next())["code"] == "invalid_message"
    bad = await client.ask("subscribe", channel="planet:3")
    assert bad["code"] == "invalid_message" and "channel" in bad["errors"]
    bad = await client.ask("subscribe", channel="account", last_seq=-1, extra=1)
    assert set(bad["errors"]) == {"last_seq", "extra"}
    for stream in (7, "", "x" * 65, "ab\x00cd", None):
        bad = await client.ask("subscribe", channel="account", last_seq=0, stream=stream)
        assert bad["code"] == "invalid_message" and set(bad["errors"]) == {"stream"}, stream
    assert api.client.app[EVENTS].subscriber_count() == 0, "no bad subscribe added a channel"
    assert not (await client.ask("unsubscribe", channel="account"))["success"]
    assert (await client.ask("ping"))["type"] == "pong"
    await client.ws.close()


async def test_an_unknown_message_type_answers_an_error_with_its_id(api: Api) -> None:
    owner = await api.register()
    client = await connect(api.client, owner)
    answer = await client.ask("fly")
    assert answer["id"] == 1 and answer["code"] == "unknown_type" and "subscribe" in answer["message"]
    await client.ws.close()


async def test_a_message_over_64_kib_closes_with_1009(api: Api) -> None:
    owner = await api.register()
    client = await connect(api.client, owner)
    await client.ws.send_str(json.dumps({"id": 1, "type": "ping", "pad": "x" * 70_000}))
    assert await client.close_code() == 1009


async def test_ten_thousand_subscribes_stop_at_the_cap_and_hold_no_more(api: Api, monkeypatch: Any) -> None:
    monkeypatch.setattr(ws_module, "MAX_SUBSCRIPTIONS", 3)
    owner = await api.register()
    site = await api.site(owner)
    second = await api.site(owner)
    client = await connect(api.client, owner)
    for channel in ("account", f"site:{site['id']}", f"site:{second['id']}"):
        assert (await client.subscribe(channel))["success"] is True
    for n in range(10_000):
        await client.ws.send_json({"id": 100 + n, "type": "subscribe", "channel": f"job:{n + 1}"})
    codes = [(await client.next())["code"] for _ in range(10_000)]
    assert set(codes) == {"too_many_subscriptions"}
    assert api.client.app[EVENTS].subscriber_count() == 3
    assert (await client.subscribe("account"))["success"] is True, "an existing channel is still fine"
    await client.ws.close()
    await asyncio.sleep(0.05)
    assert api.client.app[EVENTS].subscriber_count() == 0, "subscriptions outlived the connection"


async def test_a_slow_client_is_closed_with_1013_while_another_gets_every_event(api: Api, monkeypatch: Any) -> None:
    owner = await api.register()
    site = await api.site(owner)
    channel = f"site:{site['id']}"
    bus = api.client.app[EVENTS]
    fast = await connect(api.client, owner)
    await fast.subscribe(channel)
    monkeypatch.setattr(ws_module, "QUEUE_SIZE", 20)
    slow = await connect(api.client, owner)
    await slow.subscribe(channel)
    assert bus.subscriber_count() == 2
    received: list[int] = []

    async def read_fast() -> None:
        while True:
            received.append((await fast.event())["seq"])

    reader = asyncio.create_task(read_fast())
    payload = {"text": "x" * 4000}
    published = 0
    # The slow client reads nothing: once the socket buffers are full its queue overflows.
    while bus.subscriber_count() == 2:
        assert published < 30_000, "the slow client was never dropped"
        await bus.publish([channel], "test.bulk", payload)
        published += 1
        await asyncio.sleep(0)
    slow_closed = asyncio.create_task(slow.close_code(timeout=30))
    while len(received) < published:
        await asyncio.sleep(0.01)
        assert not reader.done(), reader
    reader.cancel()
    assert received == list(range(1, published + 1)), "the fast client missed or reordered events"
    assert await slow_closed == 1013
    await fast.ws.close()


async def test_open_websockets_are_closed_with_1001_at_shutdown_or_1012_when_other_processes_serve_on(
    api: Api,
) -> None:
    owner = await api.register()
    client = await connect(api.client, owner)
    await client.subscribe("account")
    await api.client.app.shutdown()
    # With Redis other processes may serve on: 1012 (service restart) says reconnect.
    assert await client.close_code() == (1012 if BACKEND == "postgres" else 1001)


async def test_the_protocol_is_in_the_openapi_document(aiohttp_client: Any, settings: Any) -> None:
    client = await aiohttp_client(create_app(settings))
    spec = await (await client.get("/api/docs/openapi.json")).json()
    operation = spec["paths"][WS]["get"]
    assert "4401" in operation["description"] and "last_seq" in operation["description"]
    assert "101" in operation["responses"]


# --- across processes (Redis) --------------------------------------------------------------------


@pytest.mark.skipif(BACKEND != "postgres", reason="needs Redis: runs in the PostgreSQL + Redis pass")
async def test_on_redis_an_event_of_one_app_reaches_a_websocket_of_another_and_replays_there(
    aiohttp_client: Any, settings: Any, fake: FakeOpenAI
) -> None:
    first = Api(await aiohttp_client(create_app(settings, docs=False)))
    second = Api(await aiohttp_client(create_app(settings, docs=False)))
    owner, site, ids = await world(first, fake)
    channel = f"site:{site['id']}"
    client = await connect(second.client, owner)
    await client.subscribe(channel)
    job_id = await run_job(first, owner, ids)
    events = await client.events_until("job.succeeded")
    assert [e["event"] for e in events] == ["job.queued", "job.progress", "job.succeeded"]
    assert events[-1]["data"]["id"] == job_id and rising_by_one(events)
    await client.ws.close()

    await run_job(first, owner, ids)  # missed by everyone
    again = await connect(second.client, owner)
    answer = await again.subscribe(channel, last_seq=events[-1]["seq"])
    assert answer["replayed"] == 3
    assert seqs([await again.event() for _ in range(3)]) == [4, 5, 6]
    await again.ws.close()
    assert await Site.filter(id=site["id"]).exists()


@pytest.mark.skipif(BACKEND != "postgres", reason="needs Redis: runs in the PostgreSQL + Redis pass")
async def test_on_redis_emptied_under_running_servers_a_last_seq_of_the_old_stream_answers_replay_gap(
    aiohttp_client: Any, settings: Any
) -> None:
    first = Api(await aiohttp_client(create_app(settings, docs=False)))
    second = Api(await aiohttp_client(create_app(settings, docs=False)))
    owner = await first.register()
    site = await first.site(owner)
    channel = f"site:{site['id']}"
    client = await connect(second.client, owner)
    old_stream = (await client.subscribe(channel))["stream"]
    assert await first.client.app[EVENTS].stream_id(channel) == old_stream, "every process on one Redis tells the same"
    for n in range(3):
        await first.client.app[EVENTS].publish([channel], "test.tick", {"n": f"old {n}"})
    assert seqs([await client.event() for _ in range(3)]) == [1, 2, 3]
    await client.ws.close()

    # Redis loses everything of this prefix (FLUSHALL, a restart without persistence) while
    # both servers run on; the counters start from 1 again and pass the client's last_seq.
    redis = first.client.app[REDIS]
    assert redis is not None
    keys = [key async for key in redis.scan_iter(match=f"{settings.redis_prefix}:*")]
    assert keys
    await redis.delete(*keys)
    for n in range(5):
        await first.client.app[EVENTS].publish([channel], "test.tick", {"n": f"new {n}"})
    again = await connect(second.client, owner)
    gap = await again.subscribe(channel, last_seq=3, stream=old_stream)
    assert gap["type"] == "error" and gap["code"] == "replay_gap" and gap["last_seq"] == 5, gap
    assert gap["stream"] != old_stream and gap["stream"] == await first.client.app[EVENTS].stream_id(channel)
    await again.ws.close()


# Values a client might send in place of a well-formed one (JSON can carry each of these).
ODD_VALUES: list[Any] = [
    None,
    "",
    "x" * 5000,
    "nul\x00byte",
    "lone \ud811 surrogate",
    "site:",
    "site:-1",
    "site:99999999999999999999",
    "job:1.5",
    "account:2",
    0,
    -1,
    2**53 + 1,
    2**70,
    1.5,
    True,
    [],
    {},
    [1, "two"],
]


async def test_every_field_of_every_message_with_odd_values_is_answered_and_the_connection_goes_on(
    api: Api,
) -> None:
    """Each field of each message type set in turn to each odd value, or left out: one answer
    frame (a result or an error in the envelope, carrying the message's id when it has a usable
    one), never a closed connection; nothing subscribed that shouldn't be."""
    owner = await api.register()
    client = await connect(api.client, owner)
    messages: list[dict[str, Any]] = [
        {"id": 1, "type": "subscribe", "channel": "account", "last_seq": 0, "stream": "a.b"},
        {"id": 1, "type": "unsubscribe", "channel": "account"},
        {"id": 1, "type": "ping"},
    ]
    sent = 0
    for message in messages:
        for field in message:
            variants = [{k: v for k, v in message.items() if k != field}]
            variants += [{**message, field: value} for value in ODD_VALUES]
            for variant in variants:
                await client.ws.send_str(json.dumps(variant))
                answer = await client.next()
                while answer["type"] == "event":
                    answer = await client.next()
                assert answer["type"] in ("result", "error", "pong"), (variant, answer)
                if answer["type"] == "error":
                    assert answer["success"] is False and answer["code"] != "server_error", (variant, answer)
                sent += 1
                if answer["type"] == "result" and variant.get("type") == "subscribe":
                    await client.ask("unsubscribe", channel=variant["channel"])
    assert sent > 150
    assert (await client.ask("ping"))["type"] == "pong"
    assert api.client.app[EVENTS].subscriber_count() <= 1, "odd subscribes left channels behind"
    await client.ws.close()
