"""Leases and fencing (issue 11): a stale owner's late write is refused, leases are exclusive
and renewed, tokens only rise, and a process that loses Redis says `degraded`, takes nothing
over, and takes ownership again when Redis is back."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from actors.operations import OperationContext
from actors.operations.planner import GenerateIdeas
from models.billing import UsageLog
from models.jobs import Job
from server.app import create_app
from server.keys import ACTORS, AI_CLIENTS, AI_SETTINGS, CRYPTO, EVENTS, SETTINGS
from services import jobs
from services.ai_client import Usage
from services.ownership import LeaseLost, Leases
from tests.ai_helpers import balance, configure_ai, job_ledger
from tests.conftest import BACKEND, TEST_REDIS_URL
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api

needs_redis = pytest.mark.skipif(BACKEND != "postgres", reason="needs Redis: runs in the PostgreSQL + Redis pass")
IDEAS = "/api/v1/planner/clusters/generate_ideas/"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def _queued_job(api: Api, fake: FakeOpenAI) -> tuple[int, Job]:
    owner = await api.register()
    site = await api.site(owner)
    await configure_ai(api, owner, fake)
    ids = []
    for n in range(2):
        body = await api.call(
            "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": f"C{n}"}, as_=owner, status=201
        )
        ids.append(body["data"]["id"])
    job = await jobs.create(
        api.client.app[EVENTS],
        account_id=owner.account["id"],
        site_id=site["id"],
        user_id=None,
        kind=GenerateIdeas.kind,
        params={"cluster_ids": ids, "not_found": []},
        total=2,
        reserve=10,
    )
    # Paused: no actor of this app picks it up (with Redis its sweep would), the test plays both owners.
    await Job.filter(id=job.id).update(status="paused")
    job.status = "paused"
    return owner.account["id"], job


async def test_a_stale_owner_s_late_write_is_refused_by_the_fence_and_changes_nothing(
    api: Api, fake: FakeOpenAI
) -> None:
    account_id, job = await _queued_job(api, fake)
    stale = await jobs.claim(job.id, 1)  # the first owner, token 1
    assert stale is not None and stale.fence == 1
    fresh = await jobs.claim(job.id, 2)  # its lease ended; the next owner has token 2
    assert fresh is not None and fresh.fence == 2
    assert await jobs.claim(job.id, 1) is None, "an older token never takes the job back"

    # The stale owner's item commit (its writes, charge, usage row and checkpoint) is refused whole.
    app = api.client.app
    context = OperationContext(
        settings=app[SETTINGS], crypto=app[CRYPTO], events=app[EVENTS], clients=app[AI_CLIENTS], ai=app[AI_SETTINGS]
    )
    operation = GenerateIdeas(stale, context)
    with pytest.raises(LeaseLost):
        await operation.commit("1", cost=5, usage=Usage(model="m", tokens_in=3, tokens_out=4, calls=1))
    # …and so is its settlement of the job.
    with pytest.raises(LeaseLost):
        await jobs.finish(app[EVENTS], stale, "succeeded", fence=1, only_from=("paused",))

    row = await Job.get(id=job.id)
    assert (row.status, row.credits_used, row.checkpoint, row.fence) == ("paused", 0, {}, 2)
    assert await UsageLog.filter(job_id=job.id).count() == 0
    assert await job_ledger(job.id) == [("usage", -10)]  # the reservation only
    assert await balance(account_id) == 990

    # The current owner's writes go through.
    current = GenerateIdeas(fresh, context)
    await current.commit("1", cost=5, usage=Usage(model="m", tokens_in=3, tokens_out=4, calls=1))
    assert await UsageLog.filter(job_id=job.id).count() == 1
    done = await jobs.finish(app[EVENTS], fresh, "succeeded", fence=2, only_from=("paused",))
    assert (done.status, done.credits_used) == ("succeeded", 5)
    assert await job_ledger(job.id) == [("usage", -10), ("refund", 5)]
    assert await balance(account_id) == 995


@needs_redis
async def test_leases_are_exclusive_tokens_rise_and_a_lost_lease_is_reported() -> None:
    redis = Redis.from_url(str(TEST_REDIS_URL))
    prefix = f"inkflow-test-lease-{id(redis)}"
    lost: list[str] = []

    async def on_lost(name: str) -> None:
        lost.append(name)

    a = Leases(redis, prefix, ttl=1, owner="a", on_lost=on_lost)
    b = Leases(redis, prefix, ttl=1, owner="b")
    try:
        first = await a.acquire("site:1", floor=41)
        assert first == 42, "the token starts above the largest one the database holds"
        assert await a.acquire("site:1") == 42, "acquiring again what one holds keeps the token"
        assert await b.acquire("site:1") is None and await b.owner_of("site:1") == "a"
        await a.renew_all()
        assert a.holds("site:1") and not lost

        await asyncio.sleep(1.2)  # a stops renewing (paused, cut off): the lease ends
        second = await b.acquire("site:1")
        assert second is not None and second > first
        await a.renew_all()
        assert lost == ["site:1"] and not a.holds("site:1") and "lost site:1" in a.health()["problems"][-1]

        await b.release("site:1")  # a graceful stop: free at once, no waiting for the expiry
        third = await a.acquire("site:1")
        assert third is not None and third > second
    finally:
        await redis.delete(*[key async for key in redis.scan_iter(f"{prefix}:*")])
        await redis.aclose()


class _Proxy:
    """A TCP proxy in front of Redis that can be cut (connections dropped, new ones refused)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = True
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        sock: socket.socket = self.server.sockets[0]
        return int(sock.getsockname()[1])

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        self.up = False
        for writer in self.links:
            writer.close()
        self.links.clear()

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


@needs_redis
async def test_a_process_that_loses_redis_says_degraded_takes_nothing_over_and_takes_it_back_later(
    aiohttp_client: Any, make_settings: Any, fake: FakeOpenAI
) -> None:
    from urllib.parse import urlsplit

    proxy = _Proxy(urlsplit(str(TEST_REDIS_URL)).port or 6379)
    port = await proxy.start()
    try:
        settings = make_settings(redis_url=f"redis://127.0.0.1:{port}/0", lease_ttl=1)
        api = Api(await aiohttp_client(create_app(settings, docs=False)))
        owner = await api.register()
        site = await api.site(owner)
        await configure_ai(api, owner, fake)
        cluster = await api.call(
            "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": "C"}, as_=owner, status=201
        )
        await api.call("POST", IDEAS, json={"ids": [cluster["data"]["id"]]}, as_=owner)
        ownership = (await api.call("GET", "/api/v1/system/health/"))["data"]["checks"]["ownership"]
        assert ownership["sites"] == [site["id"]] and ownership["degraded"] is False

        proxy.cut()

        async def health() -> dict[str, Any]:
            return (await api.call("GET", "/api/v1/system/health/"))["data"]

        for _ in range(60):
            body = await health()
            if body["checks"]["ownership"]["degraded"] and not body["checks"]["ownership"]["sites"]:
                break
            await asyncio.sleep(0.1)
        assert body["status"] == "degraded"
        assert body["checks"]["ownership"]["sites"] == [], "past the lease time its sites are given up"
        assert any("Redis unreachable" in p for p in body["checks"]["ownership"]["problems"])
        placement = api.client.app[ACTORS]
        assert await placement.leases.acquire(f"site:{site['id']}") is None  # type: ignore[union-attr]

        proxy.up = True
        for _ in range(60):
            body = await health()
            if not body["checks"]["ownership"]["degraded"]:
                break
            await asyncio.sleep(0.1)
        assert body["checks"]["ownership"]["degraded"] is False
        # Ownership again: new work for the site is taken and run here.
        again = await api.call(
            "POST", IDEAS, json={"ids": [cluster["data"]["id"]]}, as_=owner, params={"wait": 0}, status=202
        )
        for _ in range(100):
            if (await Job.get(id=again["data"]["job"]["id"])).status == "succeeded":
                break
            await asyncio.sleep(0.1)
        assert (await Job.get(id=again["data"]["job"]["id"])).status == "succeeded"
        assert (await health())["checks"]["ownership"]["sites"] == [site["id"]]
    finally:
        await proxy.close()


@needs_redis
async def test_a_job_started_while_redis_is_unreachable_is_answered_and_runs_once_it_is_back(
    aiohttp_client: Any, make_settings: Any, fake: FakeOpenAI
) -> None:
    """The bus down loses the job's `job.queued` event, not the job: the request answers 202
    with the queued job (not a 500 for a job that then runs), and it runs when Redis is back."""
    from urllib.parse import urlsplit

    proxy = _Proxy(urlsplit(str(TEST_REDIS_URL)).port or 6379)
    port = await proxy.start()
    try:
        api = Api(await aiohttp_client(create_app(make_settings(redis_url=f"redis://127.0.0.1:{port}/0"), docs=False)))
        owner = await api.register()
        site = await api.site(owner)
        await configure_ai(api, owner, fake)
        cluster = await api.call(
            "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": "C"}, as_=owner, status=201
        )
        before = await balance(owner.account["id"])
        proxy.cut()
        body = await api.call(
            "POST", IDEAS, json={"ids": [cluster["data"]["id"]]}, as_=owner, params={"wait": 0}, status=202
        )
        job_id = body["data"]["job"]["id"]
        assert body["data"]["job"]["status"] == "queued"
        assert await balance(owner.account["id"]) < before, "reserved as any job is"
        proxy.up = True
        for _ in range(100):
            if (await Job.get(id=job_id)).status == "succeeded":
                break
            await asyncio.sleep(0.1)
        assert (await Job.get(id=job_id)).status == "succeeded"
        assert fake.count("/chat/completions") == 1
    finally:
        await proxy.close()


@needs_redis
async def test_a_wake_up_reaches_every_process_of_its_prefix_and_a_bad_one_doesnt_stop_the_reader() -> None:
    """The wake-up channel on its own (the sweep would otherwise hide a broken one behind a
    second of latency): what one process sends, every process of the same prefix handles at
    once; another prefix hears nothing; a message its handler fails on is logged and the next
    one still arrives; an unreachable Redis makes `send` say False instead of raising."""
    import uuid

    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    from services.ownership import WakeChannel

    prefix = f"inkflow-test:{uuid.uuid4().hex}"
    redis = Redis.from_url(str(TEST_REDIS_URL))
    heard: dict[str, list[dict[str, Any]]] = {"one": [], "two": [], "other": []}

    def handler(name: str) -> Any:
        async def handle(message: dict[str, Any]) -> None:
            if message.get("bad"):
                raise ValueError("a message this process can't handle")
            heard[name].append(message)

        return handle

    channels = [
        WakeChannel(redis, prefix, handler("one")),
        WakeChannel(redis, prefix, handler("two")),
        WakeChannel(redis, f"{prefix}-other", handler("other")),
    ]
    try:
        for channel in channels:
            await channel.start()
        for _ in range(100):  # `start` doesn't wait for the subscriptions
            counts = dict(await redis.pubsub_numsub(channels[0].channel, channels[2].channel))
            if list(counts.values()) == [2, 1]:
                break
            await asyncio.sleep(0.02)
        wake = {"site": 3, "message": "submit", "job_id": 12}
        assert await channels[0].send({"bad": True}) is True
        assert await channels[0].send(wake) is True
        for _ in range(100):
            if heard["one"] and heard["two"]:
                break
            await asyncio.sleep(0.01)
        assert heard == {"one": [wake], "two": [wake], "other": []}
    finally:
        for channel in channels:
            await channel.close()
        await redis.aclose()
    unreachable = Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    try:
        assert await WakeChannel(unreachable, prefix, handler("one")).send(wake) is False
    finally:
        await unreachable.aclose()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
