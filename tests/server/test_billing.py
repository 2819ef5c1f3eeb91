"""Billing endpoints: balance, usage log and summary, limits, transactions (CONTRACT §7)."""

from __future__ import annotations

from datetime import timedelta

from models.billing import CreditTransaction, UsageLog
from models.jobs import Job
from services import ledger
from services.security import utcnow
from tests.helpers import Api

TRANSACTIONS = "/api/v1/billing/transactions/"
USAGE = "/api/v1/billing/usage/"


async def test_balance_shows_credits_period_use_and_reservations(api: Api) -> None:
    owner = await api.register()
    account_id = owner.account["id"]
    job = await Job.create(account_id=account_id, kind="generate_content", status="running", credits_reserved=30)
    await ledger.reserve(account_id, 30, operation="generate_content", job_id=job.id)
    done = await Job.create(
        account_id=account_id, kind="optimize", status="succeeded", credits_reserved=3, credits_used=3
    )
    await ledger.reserve(account_id, 3, operation="optimize", job_id=done.id)
    body = await api.call("GET", "/api/v1/billing/balance/", as_=owner)
    data = body["data"]
    assert data["credits"] == 967 and data["plan"] == "free"
    assert data["used_this_period"] == 33 and data["reserved"] == 30
    assert data["period_start"] < data["period_end"]


async def test_transactions_are_the_ledger_with_filters_for_the_owner_only(api: Api) -> None:
    owner = await api.register()
    await ledger.reserve(owner.account["id"], 10, operation="optimize", job_id=None)
    body = await api.call("GET", "/api/v1/billing/transactions/", as_=owner)
    assert [(row["kind"], row["amount"], row["balance_after"]) for row in body["results"]] == [
        ("usage", -10, 990),
        ("grant", 1000, 1000),
    ]
    await ledger.grant(owner.account["id"], 5, kind="adjustment", description="goodwill")
    rows = {row["kind"]: row["id"] for row in (await api.call("GET", TRANSACTIONS, as_=owner))["results"]}
    await CreditTransaction.filter(id=rows["grant"]).update(created_at=utcnow() - timedelta(days=3))
    yesterday = (utcnow() - timedelta(days=1)).isoformat()
    await api.assert_filters(
        TRANSACTIONS,
        owner,
        [
            ({"kind": "grant"}, {rows["grant"]}),
            ({"kind": "usage"}, {rows["usage"]}),
            ({"start": yesterday}, {rows["usage"], rows["adjustment"]}),
            ({"end": yesterday}, {rows["grant"]}),
        ],
    )
    future = (utcnow() + timedelta(days=1)).isoformat()
    assert (await api.call("GET", "/api/v1/billing/transactions/", as_=owner, params={"start": future}))["count"] == 0
    await api.call("GET", "/api/v1/billing/transactions/", as_=owner, params={"kind": "gift"}, status=400)
    await api.call("GET", "/api/v1/billing/transactions/", as_=owner, params={"start": "yesterday"}, status=400)
    editor = await api.member(owner, "editor")
    await api.call("GET", "/api/v1/billing/transactions/", as_=editor, status=403)
    await api.call("GET", "/api/v1/billing/balance/", as_=editor)
    stranger = await api.register()
    stranger_rows = await api.call("GET", "/api/v1/billing/transactions/", as_=stranger)
    assert stranger_rows["count"] == 1


async def test_usage_log_and_summary_group_by_operation_and_day(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    account_id = owner.account["id"]
    for operation, credits in (("generate_content", 12), ("generate_content", 10), ("optimize", 3)):
        await UsageLog.create(
            account_id=account_id,
            site_id=site["id"],
            operation=operation,
            credits=credits,
            model="gpt-4o-mini",
            tokens_in=100,
            tokens_out=50,
        )
    body = await api.call("GET", "/api/v1/billing/usage/", as_=owner, params={"operation": "optimize"})
    assert [row["credits"] for row in body["results"]] == [3]
    summary = (await api.call("GET", "/api/v1/billing/usage/summary/", as_=owner))["data"]
    assert summary["total_credits"] == 25
    assert summary["by_operation"] == [
        {"operation": "generate_content", "credits": 22, "calls": 2, "tokens_in": 200, "tokens_out": 100},
        {"operation": "optimize", "credits": 3, "calls": 1, "tokens_in": 100, "tokens_out": 50},
    ]
    assert summary["by_day"] == [{"date": utcnow().date().isoformat(), "credits": 25, "calls": 3}]
    # Each filter must hide rows: another site's row, three days old.
    other = await api.site(owner)
    old = await UsageLog.create(account_id=account_id, site_id=other["id"], operation="linker", credits=1)
    await UsageLog.filter(id=old.id).update(created_at=utcnow() - timedelta(days=3))
    mine = UsageLog.filter(account_id=account_id)
    content = set(await mine.filter(operation="generate_content").values_list("id", flat=True))
    optimize = set(await mine.filter(operation="optimize").values_list("id", flat=True))
    yesterday = (utcnow() - timedelta(days=1)).isoformat()
    await api.assert_filters(
        USAGE,
        owner,
        [
            ({"site_id": site["id"]}, content | optimize),
            ({"site_id": other["id"]}, {old.id}),
            ({"operation": "generate_content"}, content),
            ({"start": yesterday}, content | optimize),
            ({"end": yesterday}, {old.id}),
        ],
    )


async def test_limits_show_plan_use_and_costs(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    await api.call(
        "POST", "/api/v1/planner/keywords/", json={"site_id": site["id"], "keyword": "k"}, as_=owner, status=201
    )
    data = (await api.call("GET", "/api/v1/billing/usage/limits/", as_=owner))["data"]
    assert data["limits"] == {
        "credits_per_period": 1000,
        "sites": 3,
        "users": 5,
        "keywords_per_site": 10000,
        "ai_requests_per_minute": 60,
    }
    assert data["usage"]["sites"] == 1 and data["usage"]["users"] == 1 and data["usage"]["keywords_per_site"] == 1
    assert data["costs"]["generate_ideas_per_cluster"] == 5
