"""Helpers for tests of AI operations: a configured account pointed at the fake OpenAI server."""

from __future__ import annotations

from typing import Any

from models.accounts import Account
from models.billing import CreditTransaction
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
