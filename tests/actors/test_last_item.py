"""A generate_content job's last item: the article, its usage row, the settlement and the job's
end are written together (on PostgreSQL in one statement, `jobs.close_with_item`), whatever
happens around them: a refund, a cancel asked for during the model call, another process taking
the site over, slugs already taken. Each test checks what is stored, on both backends where the
path exists on both."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from actors.operations.writer import GenerateContent
from actors.site import BEGINS
from models.accounts import Account, Site
from models.billing import UsageLog
from models.jobs import Job
from models.writer import Content, Task
from server.keys import EVENTS
from services import jobs, ledger
from services.slugs import slug_candidates
from services.writer import first_content_steps
from tests.ai_helpers import balance, configure_ai, job_ledger
from tests.conftest import BACKEND
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api, Caller

TASKS = "/api/v1/writer/tasks/"
TITLE = "Trail running for beginners"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


def _article(fake: FakeOpenAI, words: int) -> None:
    html = "<h2>Start</h2><p>" + "stride " * (words - 1) + "</p>"
    fake.responders["content"] = lambda body: {"title": TITLE, "html": html}


async def _task(api: Api, fake: FakeOpenAI, **fields: Any) -> tuple[Caller, dict[str, Any], dict[str, Any]]:
    owner = await api.register()
    site = await api.site(owner)
    await configure_ai(api, owner, fake)
    payload = {"site_id": site["id"], "title": TITLE, "keywords": ["trail running"], **fields}
    task = (await api.call("POST", TASKS, json=payload, as_=owner, status=201))["data"]
    return owner, site, task


def _generate(task: dict[str, Any]) -> str:
    return f"{TASKS}{task['id']}/generate_content/"


async def _until_finished(job_id: int, timeout: float = 15.0) -> Job:
    deadline = time.monotonic() + timeout
    while (job := await Job.get(id=job_id)).status not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"job {job_id} still {job.status}"
        await asyncio.sleep(0.02)
    return job


async def test_an_article_shorter_than_reserved_is_charged_for_its_words_and_the_rest_refunded(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, _, task = await _task(api, fake, word_count=1500)  # reserves 10 + 5 for 500 words over
    _article(fake, 1000)  # costs 10
    account = owner.account["id"]
    before = await balance(account)
    with api.client.app[EVENTS].subscribe([f"account:{account}"]) as sub:
        data = (await api.call("POST", _generate(task), as_=owner))["data"]
        events = [await asyncio.wait_for(sub.get(), 5) for _ in range(3)]
    job = data["job"]
    assert (job["status"], job["credits_reserved"], job["credits_used"]) == ("succeeded", 15, 10)
    assert await job_ledger(job["id"]) == [("usage", -15), ("refund", 5)]
    assert await balance(account) == before - 10
    refund = [e.data for e in events if e.event == "credits.changed" and e.data["kind"] == "refund"]
    assert [(r["amount"], r["balance"], r["job_id"]) for r in refund] == [(5, before - 10, job["id"])]

    content = await Content.get(task_id=task["id"])
    assert data["content_id"] == content.id and data["word_count"] == content.word_count == 1000
    stored = await Job.get(id=job["id"])
    assert stored.result == {"content_id": content.id, "word_count": 1000} == job["result"]
    assert stored.checkpoint == {"done": [str(task["id"])], "results": stored.result}
    assert (stored.progress_done, stored.progress_total, stored.requested) == (1, 1, None)
    usage = await UsageLog.get(job_id=job["id"])
    assert (usage.credits, usage.operation, usage.site_id) == (10, "generate_content", task["site_id"])
    stored_task = await Task.get(id=task["id"])
    assert (stored_task.status, stored_task.content_id) == ("completed", content.id)


async def test_a_cancel_asked_for_during_the_model_call_ends_the_job_cancelled_with_the_article_kept(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, _, task = await _task(api, fake)
    _article(fake, 1000)
    fake.always("slow", seconds=1.0)
    started = await api.call("POST", _generate(task), as_=owner, status=202, params={"wait": 0})
    job_id = started["data"]["job"]["id"]
    deadline = time.monotonic() + 10
    while fake.count("/chat/completions") < 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    await api.call("POST", f"/api/v1/jobs/{job_id}/cancel/", as_=owner)

    job = await _until_finished(job_id)
    content = await Content.get(task_id=task["id"])
    assert (job.status, job.error, job.credits_used) == ("cancelled", None, 10)
    assert job.result == {"content_id": content.id, "word_count": 1000}
    assert await job_ledger(job_id) == [("usage", -10)]
    assert await UsageLog.filter(job_id=job_id).count() == 1
    assert (await Task.get(id=task["id"])).content_id == content.id


async def test_an_article_whose_first_ten_slugs_are_taken_gets_the_next_free_one(api: Api, fake: FakeOpenAI) -> None:
    owner, site, task = await _task(api, fake)
    _article(fake, 1000)
    taken = slug_candidates(TITLE, max_length=200, fallback="article")
    assert len(taken) == 10
    for slug in taken:
        await Content.create(account_id=owner.account["id"], site_id=site["id"], title=slug, slug=slug)

    data = (await api.call("POST", _generate(task), as_=owner))["data"]
    content = await Content.get(id=data["content_id"])
    assert content.slug == f"{taken[0]}-11" and content.task_id == task["id"]
    assert data["job"]["result"] == {"content_id": content.id, "word_count": 1000}
    assert await job_ledger(data["job"]["id"]) == [("usage", -10)]


class _Statements:
    """SQL sent by asyncpg while `recording`, both protocols (`execute` sends BEGIN/COMMIT)."""

    def __init__(self) -> None:
        self.recording = False
        self.sent: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        execute, extended = asyncpg.connection.Connection.execute, asyncpg.connection.Connection._execute

        async def execute_recorded(connection: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if self.recording and not args:
                self.sent.append(query)
            return await execute(connection, query, *args, **kwargs)

        async def extended_recorded(connection: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if self.recording:
                self.sent.append(query)
            return await extended(connection, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.connection.Connection, "execute", execute_recorded)
        monkeypatch.setattr(asyncpg.connection.Connection, "_execute", extended_recorded)


@pytest.mark.skipif(BACKEND != "postgres", reason="the one-statement end is PostgreSQL's")
async def test_on_postgresql_the_item_and_the_jobs_end_are_one_statement_after_the_model_answers(
    api: Api, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, _, task = await _task(api, fake, word_count=1500)  # with a refund in it
    _article(fake, 1000)
    statements = _Statements()
    chat = GenerateContent.chat

    async def chat_then_record(self: GenerateContent, *args: Any, **kwargs: Any) -> Any:
        answer = await chat(self, *args, **kwargs)
        statements.recording = True
        return answer

    monkeypatch.setattr(GenerateContent, "chat", chat_then_record)
    statements.install(monkeypatch)
    data = (await api.call("POST", _generate(task), as_=owner))["data"]
    statements.recording = False
    assert len(statements.sent) == 1, statements.sent
    assert data["job"]["status"] == "succeeded"
    assert await job_ledger(data["job"]["id"]) == [("usage", -15), ("refund", 5)]


@pytest.mark.skipif(BACKEND != "postgres", reason="the one-statement end is PostgreSQL's")
@pytest.mark.usefixtures("client")
async def test_the_statement_writes_nothing_once_the_jobs_row_holds_another_owners_token() -> None:
    account = await Account.create(name="A")
    await ledger.grant(account.id, 100)
    site = await Site.create(account_id=account.id, name="S", domain="s.example.com", slug=f"s-{account.id}")
    task = await Task.create(account_id=account.id, site_id=site.id, title=TITLE)
    queued = Job(
        account_id=account.id,
        site_id=site.id,
        kind="generate_content",
        params={"task_id": task.id},
        credits_reserved=15,
    )
    job, _, _ = await ledger.reserve_new_job(queued, 15)
    job, _ = await jobs.claim_and_begin(job.id, 1, BEGINS)
    assert job is not None and job.fence == 1
    await Job.filter(id=job.id).update(fence=2)  # another process took the site over

    article = Content(account_id=account.id, site_id=site.id, task_id=task.id, title=TITLE, slug="", html="<p>x</p>")
    item = jobs.ItemRow(
        steps=lambda gate, first: first_content_steps(article, first=first, gate=gate),
        results={"word_count": 1},
        ids={"content_id": "id"},
    )
    usage = UsageLog(account_id=account.id, site_id=site.id, operation="generate_content", credits=10, job_id=job.id)
    fields = {"credits_used": 10, "checkpoint": {"done": [str(task.id)], "results": {"word_count": 1}}}
    fields |= {"progress_done": 1, "progress_total": 1}

    assert await jobs.close_with_item(job, fields, item=item, usage=usage) is None
    stored = await Job.get(id=job.id)
    assert (stored.status, stored.fence, stored.credits_used, stored.checkpoint) == ("running", 2, 0, {})
    assert not await Content.filter(task_id=task.id).exists() and not await UsageLog.exists()
    assert await job_ledger(job.id) == [("usage", -15)] and await balance(account.id) == 85
    assert (await Task.get(id=task.id)).content_id is None

    job.fence = 2  # as the new owner
    closed = await jobs.close_with_item(job, fields, item=item, usage=usage)
    assert closed is not None
    content = await Content.get(task_id=task.id)
    assert closed[0] == {"content_id": content.id} and job.result == {"word_count": 1, "content_id": content.id}
    assert (await Job.get(id=job.id)).result == job.result and job.status == "succeeded"
    assert await job_ledger(job.id) == [("usage", -15), ("refund", 5)] and await balance(account.id) == 90
