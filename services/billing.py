"""Billing read models: balance with its period, usage summaries and plan limits."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from config.settings import Settings
from models.accounts import Account, Site, User
from models.billing import CreditTransaction, UsageLog
from models.jobs import Job
from services.planner import keywords_of_fullest_site
from services.security import utcnow

PERIOD = timedelta(days=30)


def current_period(account: Account, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The 30-day billing period containing `now`, counted from the account's first period."""
    now = now or utcnow()
    start = account.period_start or account.created_at
    elapsed = max(0, int((now - start) / PERIOD))
    period_start = start + elapsed * PERIOD
    return period_start, period_start + PERIOD


async def balance(account_id: int) -> dict[str, Any]:
    account = await Account.get(id=account_id)
    start, end = current_period(account)
    spent: list[int] = await CreditTransaction.filter(  # type: ignore[assignment]
        account_id=account_id, kind__in=["usage", "refund"], created_at__gte=start, created_at__lt=end
    ).values_list("amount", flat=True)
    open_jobs = await Job.filter(account_id=account_id, status__in=["queued", "running"]).values_list(
        "credits_reserved", "credits_used"
    )
    return {
        "credits": account.credits,
        "plan": account.plan,
        "period_start": start,
        "period_end": end,
        "used_this_period": -sum(spent),
        "reserved": sum(max(0, reserved - used) for reserved, used in open_jobs),
    }


async def summary(account_id: int, start: datetime | None, end: datetime | None) -> dict[str, Any]:
    if start is None or end is None:
        period_start, period_end = current_period(await Account.get(id=account_id))
        start, end = start or period_start, end or period_end
    rows = await UsageLog.filter(account_id=account_id, created_at__gte=start, created_at__lt=end).values(
        "operation", "credits", "tokens_in", "tokens_out", "created_at"
    )
    by_operation: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"credits": 0, "calls": 0, "tokens_in": 0, "tokens_out": 0}
    )
    by_day: dict[str, dict[str, int]] = defaultdict(lambda: {"credits": 0, "calls": 0})
    for row in rows:
        op = by_operation[row["operation"]]
        op["credits"] += row["credits"]
        op["calls"] += 1
        op["tokens_in"] += row["tokens_in"]
        op["tokens_out"] += row["tokens_out"]
        day = by_day[row["created_at"].date().isoformat()]
        day["credits"] += row["credits"]
        day["calls"] += 1
    return {
        "start": start,
        "end": end,
        "total_credits": sum(op["credits"] for op in by_operation.values()),
        "by_operation": [{"operation": name, **totals} for name, totals in sorted(by_operation.items())],
        "by_day": [{"date": date, **totals} for date, totals in sorted(by_day.items())],
    }


async def limits(settings: Settings, account_id: int) -> dict[str, Any]:
    account = await Account.get(id=account_id)
    plan = settings.plan
    state = await balance(account_id)
    return {
        "plan": account.plan,
        "limits": {
            "credits_per_period": plan.credits_per_period,
            "sites": plan.sites,
            "users": plan.users,
            "keywords_per_site": plan.keywords_per_site,
            "ai_requests_per_minute": settings.rate_limits["ai"],
        },
        "usage": {
            "credits_used_this_period": state["used_this_period"],
            "sites": await Site.filter(account_id=account_id).count(),
            "users": await User.filter(account_id=account_id).count(),
            "keywords_per_site": await keywords_of_fullest_site(account_id),
        },
        "costs": dict(settings.costs),
    }
