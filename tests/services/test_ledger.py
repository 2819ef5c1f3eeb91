"""The credit ledger: atomic deductions, settle/refund, and the invariant under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from models.accounts import Account
from models.billing import CreditTransaction
from services import ledger
from services.errors import InsufficientCredits


async def _account(credits: int) -> int:
    account = await Account.create(name="Ledger test")
    if credits:
        await ledger.grant(account.id, credits)
    return account.id


async def _invariant(account_id: int) -> int:
    account = await Account.get(id=account_id)
    amounts = await CreditTransaction.filter(account_id=account_id).values_list("amount", flat=True)
    assert account.credits == sum(amounts) and account.credits >= 0
    last = await CreditTransaction.filter(account_id=account_id).order_by("-id").first()
    assert last is None or last.balance_after == account.credits
    return account.credits


@pytest.mark.usefixtures("client")
async def test_fifty_concurrent_reservations_against_seventeen_credits_spend_exactly_seventeen() -> None:
    account_id = await _account(17)

    async def reserve(n: int) -> bool:
        try:
            await ledger.reserve(account_id, 1, operation="generate_content", job_id=n)
        except InsufficientCredits:
            return False
        return True

    outcomes = await asyncio.gather(*(reserve(n) for n in range(50)))
    assert outcomes.count(True) == 17
    assert await _invariant(account_id) == 0
    assert await CreditTransaction.filter(account_id=account_id, kind="usage").count() == 17


@pytest.mark.usefixtures("client")
async def test_a_short_balance_is_refused_with_required_and_available() -> None:
    account_id = await _account(5)
    with pytest.raises(InsufficientCredits) as refused:
        await ledger.reserve(account_id, 6, operation="optimize", job_id=1)
    assert refused.value.extra == {"required": 6, "available": 5}
    assert await _invariant(account_id) == 5


@pytest.mark.usefixtures("client")
async def test_settle_refunds_what_was_not_used_and_never_charges_past_the_reservation() -> None:
    account_id = await _account(100)
    await ledger.reserve(account_id, 30, operation="generate_content", job_id=7)
    refund = await ledger.settle(account_id, 30, 22, operation="generate_content", job_id=7)
    assert refund is not None and refund.amount == 8 and refund.kind == "refund" and refund.job_id == 7
    assert await _invariant(account_id) == 78
    await ledger.reserve(account_id, 10, operation="generate_content", job_id=8)
    assert await ledger.settle(account_id, 10, 15, operation="generate_content", job_id=8) is None
    assert await _invariant(account_id) == 68
    await ledger.reserve(account_id, 10, operation="generate_content", job_id=9)
    await ledger.settle(account_id, 10, 0, operation="generate_content", job_id=9)  # failed job: all back
    assert await _invariant(account_id) == 68


@pytest.mark.usefixtures("client")
async def test_negative_adjustments_stop_at_zero() -> None:
    account_id = await _account(40)
    row = await ledger.grant(account_id, -100, description="Chargeback")
    assert row.kind == "adjustment" and row.amount == -40
    assert await _invariant(account_id) == 0
