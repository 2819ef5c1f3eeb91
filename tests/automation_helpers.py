"""Helpers for automation tests: a site with new keywords, an AI key on the fake model, and
waiting for a run through the event bus or the database."""

from __future__ import annotations

import asyncio
from typing import Any

from models.jobs import Job
from models.planner import Keyword
from services.events import Event, Subscription
from tests.ai_helpers import configure_ai
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api, Caller

A = "/api/v1/automation"
# Two first words: the fake model makes one cluster per first word (5 keywords each), which is
# what the estimate assumes (one cluster per 5 new keywords).
WORDS = ("trail", "yoga")
TAILS = ("running shoes", "for beginners", "at home", "mistakes", "equipment")


async def pipeline_site(api: Api, fake: FakeOpenAI, groups: int = 2, owner: Caller | None = None) -> tuple[Caller, int]:
    """An owner with AI configured and a site with `5 * groups` new keywords."""
    if owner is None:
        owner = await api.register()
        await configure_ai(api, owner, fake)
    site = await api.site(owner)
    words = WORDS[:groups] if groups <= len(WORDS) else tuple(f"topic{n}" for n in range(groups))
    for word in words:
        for n, tail in enumerate(TAILS):
            text = f"{word} {tail}"
            await Keyword.create(
                account_id=owner.account["id"],
                site_id=site["id"],
                keyword=text,
                keyword_key=text.lower(),
                volume=100 - n,
            )
    return owner, site["id"]


async def run_now(api: Api, owner: Caller, site_id: int, status: int = 201, **kwargs: Any) -> dict[str, Any]:
    body = await api.call("POST", f"{A}/run_now/", params={"site_id": site_id}, as_=owner, status=status, **kwargs)
    return body["data"]["run"] if status == 201 else body


async def events_until(subscription: Subscription, last: str, timeout: float = 60.0) -> list[Event]:
    """Every event until (and with) the first named `last`."""
    seen: list[Event] = []
    async with asyncio.timeout(timeout):
        while True:
            event = await subscription.get()
            seen.append(event)
            if event.event == last:
                return seen


async def wait_job(job_id: int, *statuses: str, timeout: float = 60.0) -> Job:
    async with asyncio.timeout(timeout):
        while True:
            job = await Job.get(id=job_id)
            if job.status in statuses:
                return job
            await asyncio.sleep(0.02)


async def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():  # noqa: ASYNC110 - polling the database, which has no event to wait on
            await asyncio.sleep(0.02)
