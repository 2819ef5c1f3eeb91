"""Helpers for tests of AI operations: a configured account pointed at the fake OpenAI server."""

from __future__ import annotations

from typing import Any

from actors.operations.writer import GenerateContent
from models.accounts import Account
from models.billing import CreditTransaction
from models.jobs import Job
from server.keys import EVENTS
from services import jobs
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api, Caller


async def configure_ai(api: Api, owner: Caller, fake: FakeOpenAI, **overrides: Any) -> None:
    payload = {"api_key": "sk-test-key-1234", "base_url": fake.base_url, **overrides}
    await api.call("PUT", "/api/v1/system/settings/integrations/openai/", json=payload, as_=owner)


async def balance(account_id: int) -> int:
    """The account's balance, after checking the ledger invariant."""
    account = await Account.get(id=account_id)
    amounts = await CreditTransaction.filter(account_id=account_id).values_list("amount", flat=True)
    assert account.credits == sum(amounts) and account.credits >= 0
    return account.credits


async def job_ledger(job_id: int) -> list[tuple[str, int]]:
    rows = await CreditTransaction.filter(job_id=job_id).order_by("id").values_list("kind", "amount")
    return [(kind, amount) for kind, amount in rows]


TASKS = "/api/v1/writer/tasks/"


async def site_with_tasks(api: Api, fake: FakeOpenAI, count: int) -> tuple[Caller, int, list[int]]:
    """A new owner with AI set up, a site and `count` writer tasks on it: (owner, site id, task ids)."""
    owner = await api.register()
    site = (await api.site(owner))["id"]
    await configure_ai(api, owner, fake)
    tasks = [
        (await api.call("POST", TASKS, json={"site_id": site, "title": f"Task {n}"}, as_=owner, status=201))["data"]
        for n in range(count)
    ]
    return owner, site, [task["id"] for task in tasks]


async def generate_content_job(api: Api, owner: Caller, site: int, task_id: int, **spec: Any) -> Job:
    """A generate_content job made as another process's request (or the test) would make it:
    queued, unless `spec` says otherwise (`taking=`), and announced to no actor."""
    return await jobs.create(
        api.client.app[EVENTS],
        account_id=owner.account["id"],
        site_id=site,
        user_id=owner.user["id"],
        kind=GenerateContent.kind,
        params={"task_id": task_id, "regenerate": False},
        total=1,
        reserve=10,
        **spec,
    )
