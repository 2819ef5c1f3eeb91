"""Three real server processes on one PostgreSQL database and one Redis (issue 11): one owner per
site, hand-over of work and control, `?wait=` and websockets across processes, failover after
`kill -9` and SIGTERM, and one scheduler.

Each process is `python run.py serve --port P` (the same command `serve --workers N` runs per
worker), started once for the module; the fake model runs in the test's own loop and is reached
through the account's AI settings. The database is read with plain SQL, as a user's ops script
would.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.conftest import BACKEND
from tests.fakes.openai_server import FakeOpenAI
from tests.scaleout.conftest import HEALTH, LEASE_TTL, Cluster

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres",
    reason="several server processes need PostgreSQL and Redis: runs in the PostgreSQL + Redis pass",
)

IDEAS = "/api/v1/planner/clusters/generate_ideas/"
IDEA_COST = 5  # credits per cluster (config/costs.py: generate_ideas)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


class Remote:
    """Calls to the processes of the cluster, by index, and SQL on their database."""

    def __init__(self, cluster: Cluster, session: aiohttp.ClientSession, db: asyncpg.Connection) -> None:
        self.cluster = cluster
        self.session = session
        self.db = db

    async def call(
        self, i: int, method: str, path: str, *, token: str | None = None, status: int = 200, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(method, self.cluster.url(i) + path, headers=headers, **kwargs) as response:
            text = await response.text()
            assert response.status == status, f"{method} {path} on {i}: {response.status} {text[:500]}"
            body: dict[str, Any] = json.loads(text)
            return body

    async def owners(self, site_id: int) -> list[int]:
        """The processes whose health lists the site among the ones they own."""
        found = []
        for i, proc in enumerate(self.cluster.procs):
            if proc is None or proc.poll() is not None:
                continue
            body = await self.call(i, "GET", HEALTH)
            if site_id in body["data"]["checks"]["ownership"]["sites"]:
                found.append(i)
        return found

    async def world(self, i: int, fake: FakeOpenAI, clusters: int) -> tuple[str, int, int, list[int]]:
        """A new account (token, account id), its site and `clusters` clusters, AI on the fake."""
        email = f"scale-{uuid.uuid4().hex[:10]}@example.com"
        data = (
            await self.call(
                i, "POST", "/api/v1/auth/register/", json={"email": email, "password": "correct horse 1"}, status=201
            )
        )["data"]
        token, account_id = data["access"], data["account"]["id"]
        site = (
            await self.call(
                i,
                "POST",
                "/api/v1/auth/sites/",
                token=token,
                json={"name": "S", "domain": f"{email[6:16]}.example.com"},
                status=201,
            )
        )["data"]
        settings = {"api_key": "sk-test-key-1234", "base_url": fake.base_url}
        await self.call(i, "PUT", "/api/v1/system/settings/integrations/openai/", token=token, json=settings)
        ids = []
        for n in range(clusters):
            body = await self.call(
                i,
                "POST",
                "/api/v1/planner/clusters/",
                token=token,
                json={"site_id": site["id"], "name": f"C{n}"},
                status=201,
            )
            ids.append(body["data"]["id"])
        return token, account_id, site["id"], ids

    async def job(self, job_id: int) -> asyncpg.Record:
        row = await self.db.fetchrow("SELECT * FROM job WHERE id = $1", job_id)
        assert row is not None
        return row

    async def ledger(self, job_id: int) -> list[tuple[str, int]]:
        rows = await self.db.fetch("SELECT kind, amount FROM credit_transaction WHERE job_id = $1 ORDER BY id", job_id)
        return [(r["kind"], r["amount"]) for r in rows]

    async def balance(self, account_id: int) -> int:
        """The account's balance, after checking it equals the sum of its ledger."""
        credits = await self.db.fetchval("SELECT credits FROM account WHERE id = $1", account_id)
        total = await self.db.fetchval(
            "SELECT COALESCE(SUM(amount), 0) FROM credit_transaction WHERE account_id = $1", account_id
        )
        assert credits == total and credits >= 0, (credits, total)
        return int(credits)

    async def ideas(self, cluster_ids: list[int]) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM content_idea WHERE cluster_id = ANY($1)", cluster_ids))


@pytest.fixture
async def remote(cluster: Cluster) -> AsyncIterator[Remote]:
    db = await asyncpg.connect(cluster.database_url.replace("postgres://", "postgresql://", 1))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
        yield Remote(cluster, session, db)
    await db.close()


async def until(predicate: Callable[[], Awaitable[Any]], timeout: float, what: str) -> float:
    """Poll until `predicate()` is truthy; the seconds it took. (Never block the loop while
    waiting: the fake model answering the servers runs in it.)"""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


async def test_work_sent_to_a_process_that_does_not_own_the_site_runs_once_on_the_owner_and_wait_answers(
    remote: Remote, fake: FakeOpenAI
) -> None:
    token, account_id, site_id, ids = await remote.world(0, fake, clusters=3)
    first = await remote.call(1, "POST", IDEAS, token=token, json={"ids": ids[:1]}, params={"wait": 30})
    assert first["data"]["job"]["status"] == "succeeded"
    assert await remote.owners(site_id) == [1]  # the site had no owner: process 1 took it

    # Sent to process 0, which does not own the site: it runs on process 1, and process 0's
    # `?wait=` is answered by the event bus with the finished job.
    body = await remote.call(0, "POST", IDEAS, token=token, json={"ids": ids[1:]}, params={"wait": 30})
    assert body["data"]["job"]["status"] == "succeeded" and body["data"]["ideas_created"] == 6
    assert await remote.owners(site_id) == [1]
    assert fake.count("/chat/completions") == 3  # one call per cluster, none twice
    assert await remote.ideas(ids) == 9
    assert await remote.ledger(body["data"]["job"]["id"]) == [("usage", -2 * IDEA_COST)]
    assert await remote.balance(account_id) == 1000 - 3 * IDEA_COST

    # Control reaches the owner the same way: a cancel sent to process 2 stops the job on 1.
    fake.always("slow", seconds=1.0)
    more = [
        (
            await remote.call(
                2,
                "POST",
                "/api/v1/planner/clusters/",
                token=token,
                json={"site_id": site_id, "name": f"X{n}"},
                status=201,
            )
        )["data"]["id"]
        for n in range(4)
    ]
    started = await remote.call(2, "POST", IDEAS, token=token, json={"ids": more}, params={"wait": 0}, status=202)
    job_id = started["data"]["job"]["id"]
    await until(lambda: remote.db.fetchval("SELECT status = 'running' FROM job WHERE id = $1", job_id), 15, "running")
    await remote.call(2, "POST", f"/api/v1/jobs/{job_id}/cancel/", token=token)
    await until(
        lambda: remote.db.fetchval("SELECT status = 'cancelled' FROM job WHERE id = $1", job_id), 15, "cancelled"
    )
    job = await remote.job(job_id)
    assert job["progress_done"] < 4, "the cancel must stop the job before its last item"
    done = job["progress_done"]
    # Reserved up front, the items not run refunded: the ledger says what was used.
    assert await remote.ledger(job_id) == [("usage", -4 * IDEA_COST), ("refund", (4 - done) * IDEA_COST)]
    assert await remote.balance(account_id) == 1000 - (3 + done) * IDEA_COST


async def test_events_of_a_job_run_by_one_process_reach_a_websocket_on_another(
    remote: Remote, fake: FakeOpenAI
) -> None:
    token, _, site_id, ids = await remote.world(0, fake, clusters=2)
    await remote.call(1, "POST", IDEAS, token=token, json={"ids": ids[:1]}, params={"wait": 30})
    assert await remote.owners(site_id) == [1]
    async with remote.session.ws_connect(remote.cluster.url(2) + "/api/v1/ws/", params={"token": token}) as ws:
        await ws.send_json({"id": 1, "type": "subscribe", "channel": f"site:{site_id}"})
        answer = await ws.receive_json(timeout=10)
        assert answer["id"] == 1 and answer["type"] != "error", answer
        body = await remote.call(0, "POST", IDEAS, token=token, json={"ids": ids[1:]}, params={"wait": 30})
        job_id = body["data"]["job"]["id"]
        seen = []
        while not seen or seen[-1] != "job.succeeded":
            message = await ws.receive_json(timeout=15)
            if message.get("type") == "event" and message["data"].get("id") == job_id:
                seen.append(message["event"])
    assert seen[0] == "job.queued" and seen[-1] == "job.succeeded"


async def test_kill_9_of_the_owner_mid_job_another_process_takes_over_and_nothing_runs_or_is_charged_twice(
    remote: Remote, cluster: Cluster, fake: FakeOpenAI
) -> None:
    items = 6
    token, account_id, site_id, ids = await remote.world(0, fake, clusters=items)
    fake.always("slow", seconds=0.6)
    started = await remote.call(0, "POST", IDEAS, token=token, json={"ids": ids}, params={"wait": 0}, status=202)
    job_id = started["data"]["job"]["id"]
    await until(lambda: remote.db.fetchval("SELECT progress_done >= 2 FROM job WHERE id = $1", job_id), 30, "2 items")
    (owner,) = await remote.owners(site_id)
    fence_before = (await remote.job(job_id))["fence"]
    killed = cluster.signal(owner, signal.SIGKILL)
    await until(lambda: asyncio.sleep(0, killed.poll() is not None), 10, "the process dies")
    try:
        took = await until(lambda: remote.owners(site_id), LEASE_TTL + 5, "takeover")
        assert took < 15, f"takeover took {took:.1f} s"
        await until(
            lambda: remote.db.fetchval("SELECT status = 'succeeded' FROM job WHERE id = $1", job_id), 60, "the job ends"
        )
    finally:
        cluster.start(owner)  # the module's other tests expect three processes
    job = await remote.job(job_id)
    assert job["progress_done"] == items and job["credits_used"] == items * IDEA_COST
    assert job["fence"] > fence_before, "the new owner claims the job with a newer token"
    assert await remote.ideas(ids) == 3 * items  # each cluster's ideas made once
    assert await remote.ledger(job_id) == [("usage", -items * IDEA_COST)]
    assert await remote.balance(account_id) == 1000 - items * IDEA_COST
    # The item in flight at the kill may have reached the model once more; nothing else did.
    assert items <= fake.count("/chat/completions") <= items + 1


async def test_sigterm_finishes_the_item_in_flight_closes_websockets_with_1012_and_hands_over_at_once(
    remote: Remote, cluster: Cluster, fake: FakeOpenAI
) -> None:
    items = 4
    token, account_id, site_id, ids = await remote.world(1, fake, clusters=items)
    fake.always("slow", seconds=1.0)
    started = await remote.call(1, "POST", IDEAS, token=token, json={"ids": ids}, params={"wait": 0}, status=202)
    job_id = started["data"]["job"]["id"]
    await until(lambda: remote.db.fetchval("SELECT progress_done >= 1 FROM job WHERE id = $1", job_id), 30, "1 item")
    (owner,) = await remote.owners(site_id)
    ws = await remote.session.ws_connect(remote.cluster.url(owner) + "/api/v1/ws/", params={"token": token})
    try:
        await ws.send_json({"id": 1, "type": "subscribe", "channel": f"site:{site_id}"})
        await ws.receive_json(timeout=10)
        stopped = time.monotonic()
        proc = cluster.signal(owner, signal.SIGTERM)
        while not ws.closed:
            await ws.receive(timeout=15)
        assert ws.close_code == 1012
        await until(lambda: asyncio.sleep(0, proc.poll() is not None), 30, "the process exits")
        assert proc.returncode == 0
        await until(lambda: remote.owners(site_id), LEASE_TTL, "takeover")
        took = time.monotonic() - stopped
        # Well under the lease time: the stopping process gave the lease up, it did not expire.
        assert took < LEASE_TTL / 2, f"takeover after SIGTERM took {took:.1f} s\n{cluster.log(owner)}"
        await until(
            lambda: remote.db.fetchval("SELECT status = 'succeeded' FROM job WHERE id = $1", job_id), 60, "the job ends"
        )
    finally:
        await ws.close()
        cluster.start(owner)
    assert fake.count("/chat/completions") == items  # the item in flight was finished, not redone
    assert await remote.ideas(ids) == 3 * items
    assert await remote.ledger(job_id) == [("usage", -items * IDEA_COST)]
    assert await remote.balance(account_id) == 1000 - items * IDEA_COST


async def test_with_three_processes_the_scheduler_runs_in_one_and_starts_one_run_per_due_time(
    remote: Remote, fake: FakeOpenAI
) -> None:
    token, _, site_id, _ = await remote.world(2, fake, clusters=0)
    config = {"enabled": True, "schedule": {"frequency": "daily", "time": "06:30"}}
    await remote.call(
        2, "PUT", "/api/v1/automation/update_config/", token=token, params={"site_id": site_id}, json=config
    )
    holders = []
    for i in range(3):
        ownership = (await remote.call(i, "GET", HEALTH))["data"]["checks"]["ownership"]
        holders += [i] if ownership["scheduler"] else []
    assert len(holders) == 1, f"scheduler lease held by {holders}"
    due = await remote.db.fetchval(
        "UPDATE automation_config SET next_run_at = now() - interval '1 second' WHERE site_id = $1"
        " RETURNING next_run_at",
        site_id,
    )
    await until(
        lambda: remote.db.fetchval("SELECT COUNT(*) > 0 FROM automation_run WHERE site_id = $1", site_id), 15, "a run"
    )
    await asyncio.sleep(3)  # three more looks by each process, had they all been looking
    runs = await remote.db.fetch("SELECT trigger, scheduled_for FROM automation_run WHERE site_id = $1", site_id)
    assert [(r["trigger"], r["scheduled_for"]) for r in runs] == [("scheduled", due)]
    assert await remote.db.fetchval("SELECT next_run_at > now() FROM automation_config WHERE site_id = $1", site_id)


TAILS = ("running shoes", "for beginners", "at home", "mistakes", "equipment")


async def _pipeline_site(remote: Remote, i: int, fake: FakeOpenAI) -> tuple[str, int, int]:
    """A site with ten new keywords in two groups (two clusters by the fake model)."""
    token, account_id, site_id, _ = await remote.world(i, fake, clusters=0)
    for word in ("trail", "yoga"):
        for n, tail in enumerate(TAILS):
            keyword = {"site_id": site_id, "keyword": f"{word} {tail}", "volume": 100 - n}
            await remote.call(i, "POST", "/api/v1/planner/keywords/", token=token, json=keyword, status=201)
    return token, account_id, site_id


async def _site_rows(remote: Remote, site_id: int) -> dict[str, int]:
    counts = {}
    for table in ("cluster", "content_idea", "task", "content", "image"):
        counts[table] = int(await remote.db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE site_id = $1", site_id))
    return counts


async def test_kill_9_of_the_owner_mid_automation_run_resumes_elsewhere_and_ends_as_an_undisturbed_run_would(
    remote: Remote, cluster: Cluster, fake: FakeOpenAI
) -> None:
    # The undisturbed run, for reference: what a run of such a site makes, uses and calls.
    token, _, reference_site = await _pipeline_site(remote, 2, fake)
    run = (
        await remote.call(
            2, "POST", "/api/v1/automation/run_now/", token=token, params={"site_id": reference_site}, status=201
        )
    )["data"]["run"]
    await until(
        lambda: remote.db.fetchval("SELECT status = 'succeeded' FROM job WHERE id = $1", run["job_id"]),
        90,
        "reference run",
    )
    reference = await remote.job(run["job_id"])
    reference_rows = await _site_rows(remote, reference_site)
    reference_calls = fake.count("/chat/completions") + fake.count("/images/generations")
    assert reference["progress_done"] >= 6, "the run has enough items to be killed in the middle"

    fake.calls.clear()
    fake.always("slow", seconds=0.4)
    token, account_id, site_id = await _pipeline_site(remote, 0, fake)
    run = (
        await remote.call(
            0, "POST", "/api/v1/automation/run_now/", token=token, params={"site_id": site_id}, status=201
        )
    )["data"]["run"]
    job_id = run["job_id"]
    await until(lambda: remote.db.fetchval("SELECT progress_done >= 3 FROM job WHERE id = $1", job_id), 60, "3 items")
    (owner,) = await remote.owners(site_id)
    watcher = next(i for i in range(3) if i != owner)
    killed = cluster.signal(owner, signal.SIGKILL)
    await until(lambda: asyncio.sleep(0, killed.poll() is not None), 10, "the process dies")
    try:
        took = await until(lambda: remote.owners(site_id), LEASE_TTL + 5, "takeover")
        assert took < 15, f"takeover took {took:.1f} s"
        # Watched from another process over a websocket: the whole run, replayed from its start.
        async with remote.session.ws_connect(cluster.url(watcher) + "/api/v1/ws/", params={"token": token}) as ws:
            await ws.send_json({"id": 1, "type": "subscribe", "channel": f"run:{run['id']}", "last_seq": 0})
            events = []
            while not events or events[-1]["event"] not in ("automation.completed", "automation.failed"):
                message = await ws.receive_json(timeout=90)
                if message.get("type") == "event":
                    events.append(message)
    finally:
        cluster.start(owner)
    job = await remote.job(job_id)
    assert job["status"] == "succeeded" and events[-1]["event"] == "automation.completed"
    names = [e["event"] for e in events]
    assert names.count("automation.run_started") == 1, "resumed, not started again"
    processed = [
        (e["data"]["stage"], e["data"]["item"]["id"]) for e in events if e["event"] == "automation.item_processed"
    ]
    assert len(processed) == len(set(processed)), "no item processed twice"
    twice = await remote.db.fetch(
        "SELECT stage, item_id FROM automation_log WHERE run_id = $1 AND item_id IS NOT NULL"
        " GROUP BY stage, item_id HAVING COUNT(*) > 1",
        run["id"],
    )
    assert twice == []
    # Ends as the undisturbed run did: the same rows, the same credits, charged once.
    assert await _site_rows(remote, site_id) == reference_rows
    assert (job["progress_done"], job["credits_used"]) == (reference["progress_done"], reference["credits_used"])
    reserved, used = job["credits_reserved"], job["credits_used"]
    refund = [("refund", reserved - used)] if reserved > used else []
    assert await remote.ledger(job_id) == [("usage", -reserved), *refund]
    await remote.balance(account_id)
    calls = fake.count("/chat/completions") + fake.count("/images/generations")
    assert reference_calls <= calls <= reference_calls + 1  # at most the item in flight at the kill, again
