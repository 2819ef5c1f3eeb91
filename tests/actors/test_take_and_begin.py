"""Taking a job and beginning it in one statement (PostgreSQL, `jobs.claim_and_begin`): a
generate_content job taken with nothing asked of it marks its task in progress in the same
statement; a cancel or pause asked of it, a job of another kind, or a stale owner's token
begins nothing. On SQLite the statement only takes the job and the actor begins it after. The
statement's commit doesn't wait for the log, and only its own."""

from __future__ import annotations

from typing import Any

import pytest

from actors.operations.writer import GenerateContent
from actors.site import BEGINS
from models.accounts import Account, Site
from models.db import raw_query
from models.jobs import Job
from models.writer import Task
from services import jobs
from tests.conftest import BACKEND

pytestmark = pytest.mark.usefixtures("client")
ONE_STATEMENT = BACKEND == "postgres"


async def _task_and_job(**job: Any) -> tuple[Task, Job]:
    account = await Account.create(name="A")
    site = await Site.create(account_id=account.id, name="S", domain="s.example.com", slug=f"s-{account.id}")
    task = await Task.create(account_id=account.id, site_id=site.id, title="T", status="queued", error={"x": 1})
    fields = {"kind": GenerateContent.kind, "status": "queued", **job}
    made = await Job.create(
        account_id=account.id, site_id=site.id, params={"task_id": task.id}, progress_total=1, **fields
    )
    return task, made


async def test_a_generate_content_job_taken_with_nothing_asked_begins_in_the_same_statement() -> None:
    task, job = await _task_and_job()
    taken, begun = await jobs.claim_and_begin(job.id, None, BEGINS)
    assert taken is not None and (taken.id, taken.status, taken.started_at is not None) == (job.id, "running", True)
    stored = await Task.get(id=task.id)
    if ONE_STATEMENT:
        assert isinstance(begun, Task) and (begun.id, begun.title, begun.status, begun.error) == (
            task.id,
            "T",
            "in_progress",
            None,
        )
        assert (stored.status, stored.error) == ("in_progress", None)
    else:
        assert begun is None and stored.status == "queued"  # the actor's `begin` does it next


@pytest.mark.parametrize(
    "job",
    [
        {"status": "running", "requested": "cancel"},
        {"status": "running", "requested": "pause"},
        {"status": "paused"},
        {"kind": "generate_ideas"},  # names the task in its params, but isn't generate_content
    ],
    ids=["cancel asked", "pause asked", "paused", "another kind"],
)
async def test_a_job_with_a_cancel_or_pause_asked_or_of_another_kind_is_taken_without_beginning(
    job: dict[str, Any],
) -> None:
    task, made = await _task_and_job(**job)
    taken, begun = await jobs.claim_and_begin(made.id, None, BEGINS)
    assert taken is not None and taken.id == made.id and begun is None
    assert (await Task.get(id=task.id)).status == "queued"


async def test_a_stale_owner_takes_and_begins_nothing() -> None:
    task, job = await _task_and_job(status="running", requested="pause")
    assert (await jobs.claim_and_begin(job.id, 2, BEGINS))[0] is not None  # the new owner, token 2
    await Job.filter(id=job.id).update(requested=None)
    assert await jobs.claim_and_begin(job.id, 1, BEGINS) == (None, None)  # the old owner, token 1
    assert (await Task.get(id=task.id)).status == "queued"
    taken, begun = await jobs.claim_and_begin(job.id, 2, BEGINS)
    assert taken is not None and taken.fence == 2
    assert (await Task.get(id=task.id)).status == ("in_progress" if ONE_STATEMENT else "queued")
    assert (begun is not None) is ONE_STATEMENT


@pytest.mark.skipif(not ONE_STATEMENT, reason="the claim's commit setting is PostgreSQL's")
async def test_taking_a_job_leaves_the_connections_commits_durable() -> None:
    """The claim's statement turns `synchronous_commit` off for its own transaction only: every
    later commit on the pooled connection waits for the log again."""
    for _ in range(3):
        _, job = await _task_and_job()
        taken, begun = await jobs.claim_and_begin(job.id, None, BEGINS)
        assert taken is not None and taken.status == "running" and begun is not None
        settings = [(await raw_query("SHOW synchronous_commit", []))[0]["synchronous_commit"] for _ in range(5)]
        assert settings == ["on"] * 5
