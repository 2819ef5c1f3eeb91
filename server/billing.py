"""/api/v1/billing/: balance, usage log and summary, plan limits, the ledger."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, response_schema

from models.billing import CreditTransaction, UsageLog
from schemas import billing as s
from schemas.common import envelope as envelope_schema
from server import envelope
from server.access import endpoint, principal
from server.crud import Resource, add_crud
from server.keys import SETTINGS
from services import billing

routes = web.RouteTableDef()
TAG = "billing"
BASE = "/api/v1/billing"


@routes.get(f"{BASE}/balance/")
@endpoint()
@docs(tags=[TAG], summary="Credits, plan, this period's use and what running jobs hold")
@response_schema(envelope_schema(s.BalanceOut, "BalanceEnvelope"), 200)
async def balance(request: web.Request) -> web.Response:
    return envelope.ok(request, await billing.balance(principal(request).account_id))


@routes.get(f"{BASE}/usage/summary/")
@endpoint(role="owner")
@docs(tags=[TAG], summary="Usage totals per operation and per day for start..end (default: this period)")
@querystring_schema(s.SummaryQuery)
@response_schema(envelope_schema(s.SummaryOut, "UsageSummaryEnvelope"), 200)
async def usage_summary(request: web.Request) -> web.Response:
    query = request["querystring"]
    result = await billing.summary(principal(request).account_id, query.get("start"), query.get("end"))
    return envelope.ok(request, result)


@routes.get(f"{BASE}/usage/limits/")
@endpoint()
@docs(tags=[TAG], summary="Plan limits, current use of each, and the cost table")
@response_schema(envelope_schema(s.LimitsOut, "LimitsEnvelope"), 200)
async def usage_limits(request: web.Request) -> web.Response:
    return envelope.ok(request, await billing.limits(request.app[SETTINGS], principal(request).account_id))


add_crud(
    routes,
    Resource(
        name="usage record",
        path=f"{BASE}/usage/",
        tag=TAG,
        model=UsageLog,
        out_schema=s.UsageOut(),
        query_schema=s.UsageQuery,
        actions=("list",),
        read_role="owner",
        site_owned=False,
    ),
)
add_crud(
    routes,
    Resource(
        name="transaction",
        path=f"{BASE}/transactions/",
        tag=TAG,
        model=CreditTransaction,
        out_schema=s.TransactionOut(),
        query_schema=s.TransactionQuery,
        actions=("list",),
        read_role="owner",
        site_owned=False,
    ),
)
