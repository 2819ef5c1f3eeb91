"""The PostgreSQL fast path of lists and detail reads (server/crud.py `FastPath`) answers exactly
what the ORM path answers, for every filter, ordering, page and tenancy case it takes."""

from __future__ import annotations

from typing import Any

import pytest

from config.settings import Settings
from models.billing import CreditTransaction
from models.jobs import Job
from models.planner import Keyword
from schemas.planner import KeywordOut, KeywordQuery
from server import crud
from services import jobs, ledger, planner
from tests.ai_helpers import balance, configure_ai
from tests.conftest import BACKEND
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api
from tests.server.test_planner import CLUSTERS, IDEAS, KEYWORDS, _keyword, _planner_rows

IDEAS_JOB = "/api/v1/planner/clusters/generate_ideas/"

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="the fast path runs on PostgreSQL only")


def _without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "request_id"}


async def test_lists_and_details_answer_as_the_orm_does(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    owner, stranger = await api.register(), await api.register()
    r = await _planner_rows(api, owner)
    for n in range(30):  # enough for three pages of 12 under every ordering
        await _keyword(api, owner, r["site"], keyword=f"filler {n:02d}", volume=n * 37 % 11, difficulty=n % 7)
    theirs = await _keyword(api, stranger, (await api.site(stranger))["id"], keyword="not yours")
    lists = [
        (KEYWORDS, {}),
        (KEYWORDS, {"site_id": r["site"], "volume_min": 3, "ordering": "-volume", "page_size": 12}),
        (KEYWORDS, {"site_id": r["site"], "volume_min": 3, "ordering": "-volume", "page_size": 12, "page": 2}),
        (KEYWORDS, {"ordering": "volume", "page_size": 12, "page": 3}),
        (KEYWORDS, {"ordering": "keyword", "page_size": 5, "page": 99}),  # past the end: count, no rows
        (KEYWORDS, {"ordering": "-difficulty", "difficulty_max": 4, "intent": "informational"}),
        (KEYWORDS, {"ordering": "created_at", "status": "new", "volume_max": 5}),
        (KEYWORDS, {"cluster_id": r["trail"], "sector_id": r["sector"]}),
        (KEYWORDS, {"site_id": r["site"] + 100_000}),  # nothing matches
        (KEYWORDS, {"search": "filler 1", "ordering": "-volume"}),  # search: the ORM path
        (CLUSTERS, {"ordering": "-volume"}),
        (IDEAS, {"site_id": r["site"]}),
    ]
    taken: list[str] = []
    page = crud.FastPath.page

    async def counting(self: crud.FastPath, *args: Any) -> Any:
        response = await page(self, *args)
        taken.append(self.table if response is not None else "orm")
        return response

    monkeypatch.setattr(crud.FastPath, "page", counting)
    fast = [_without_request_id(await api.call("GET", path, as_=owner, params=params)) for path, params in lists]
    ids = {row["id"] for row in fast[0]["results"]}
    details = [await api.call("GET", f"{KEYWORDS}{i}/", as_=owner) for i in sorted(ids)]
    hidden = await api.call("GET", f"{KEYWORDS}{theirs['id']}/", as_=owner, status=404)
    assert taken[:9] == ['"keyword"'] * 9 and taken[9] == "orm", taken
    assert fast[4]["count"] == 33 and fast[4]["results"] == [] and fast[8]["count"] == 0

    monkeypatch.setattr(crud, "dialect_of", lambda url: "sqlite")  # the ORM path, for reference
    orm = [_without_request_id(await api.call("GET", path, as_=owner, params=params)) for path, params in lists]
    for (path, params), mine, reference in zip(lists, fast, orm, strict=True):
        assert mine == reference, f"{path} {params}"
    for i, body in zip(sorted(ids), details, strict=True):
        assert _without_request_id(body) == _without_request_id(await api.call("GET", f"{KEYWORDS}{i}/", as_=owner))
    reference_404 = await api.call("GET", f"{KEYWORDS}{theirs['id']}/", as_=owner, status=404)
    assert _without_request_id(hidden) == _without_request_id(reference_404)


def test_the_keyword_resource_compiles_its_declarations() -> None:
    keyword = crud.fast_path(
        crud.Resource(
            name="keyword",
            path=KEYWORDS,
            tag="planner",
            model=Keyword,
            out_schema=KeywordOut(),
            query_schema=KeywordQuery,
        )
    )
    assert keyword is not None
    assert keyword.filters["volume_min"] == ("volume", ">=") and keyword.filters["site_id"] == ("site_id", "=")
    assert keyword.default_order == '"created_at" DESC, "id" DESC'


async def test_a_keyword_created_in_one_statement_answers_and_is_stored_as_the_orm_creates_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await api.register()
    site = (await api.site(owner))["id"]
    made: list[bool] = []
    insert = planner._insert_keyword

    async def counting(*args: Any) -> Any:
        keyword = await insert(*args)
        made.append(keyword is not None)
        return keyword

    monkeypatch.setattr(planner, "_insert_keyword", counting)
    payloads = [
        {"keyword": "  Trail   Shoes ", "volume": 1200, "difficulty": 33, "intent": "commercial"},
        {"keyword": "road shoes", "status": "archived"},
    ]
    fast = [await _keyword(api, owner, site, **payload) for payload in payloads]
    assert made == [True, True]
    # The refusals: each answered by the checks after the statement found no room for the row.
    await api.call("POST", KEYWORDS, json={"site_id": site, "keyword": "TRAIL shoes"}, as_=owner, status=409)
    stranger = await api.register()
    await api.call("POST", KEYWORDS, json={"site_id": site, "keyword": "mine now"}, as_=stranger, status=400)
    assert made == [True, True, False, False]
    assert await Keyword.filter(site_id=site).count() == 2  # the refusals stored nothing
    assert await Keyword.filter(account_id=stranger.account["id"]).count() == 0

    monkeypatch.setattr(Settings, "is_postgres", property(lambda self: False))  # the ORM path, for reference
    other = (await api.site(owner))["id"]
    orm = [await _keyword(api, owner, other, **payload) for payload in payloads]
    assert len(made) == 4
    columns = ("keyword", "keyword_key", "volume", "difficulty", "intent", "status", "account_id", "cluster_id")
    for mine, reference in zip(fast, orm, strict=True):
        differ = {"id", "site_id", "created_at", "updated_at"}
        assert {k: v for k, v in mine.items() if k not in differ} == {
            k: v for k, v in reference.items() if k not in differ
        }
        assert mine["created_at"] == mine["updated_at"] and mine["created_at"].endswith("Z")
        assert mine == (await api.call("GET", f"{KEYWORDS}{mine['id']}/", as_=owner))["data"]
        stored = await Keyword.filter(id=mine["id"]).values(*columns)
        assert stored == await Keyword.filter(id=reference["id"]).values(*columns)


async def test_a_job_and_its_reservation_made_in_one_statement_are_stored_as_the_transaction_makes_them(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await api.register()
    account = owner.account["id"]
    site = (await api.site(owner))["id"]
    one_statement: list[int] = []
    reserve_new_job = ledger.reserve_new_job

    async def counting(*args: Any, **kwargs: Any) -> Any:
        one_statement.append(1)
        return await reserve_new_job(*args, **kwargs)

    async def start(cluster: int, status: int = 200) -> tuple[int, dict[str, Any]]:
        before = await balance(account)
        return before, await api.call("POST", IDEAS_JOB, json={"ids": [cluster]}, as_=owner, status=status)

    monkeypatch.setattr(ledger, "reserve_new_job", counting)
    async with FakeOpenAI() as fake:
        await configure_ai(api, owner, fake)
        clusters = [
            (await api.call("POST", CLUSTERS, json={"site_id": site, "name": f"C{n}"}, as_=owner, status=201))["data"]
            for n in range(2)
        ]
        fast_before, fast = await start(clusters[0]["id"])
        assert len(one_statement) == 1
        monkeypatch.setattr(jobs, "on_postgres", lambda: False)  # the transaction's path, for reference
        reference_before, reference = await start(clusters[1]["id"])
        assert len(one_statement) == 1
        monkeypatch.setattr(jobs, "on_postgres", lambda: True)
        # Short of credits: 402, and nothing stored or taken.
        await ledger.grant(account, 1 - await balance(account))
        _, short = await start(clusters[0]["id"], status=402)
        assert len(one_statement) == 2
    assert (short["required"], short["available"]) == (fast["data"]["job"]["credits_reserved"], 1)
    assert await Job.filter(account_id=account).count() == 2 and await balance(account) == 1
    jobs_made = [fast["data"]["job"], reference["data"]["job"]]
    differ = {"id", "params", "result", "created_at", "updated_at", "started_at", "finished_at"}
    assert [{k: v for k, v in job.items() if k not in differ} for job in jobs_made] == [
        {k: v for k, v in jobs_made[1].items() if k not in differ}
    ] * 2
    stored = [
        await Job.filter(id=job["id"]).values("account_id", "site_id", "user_id", "kind", "fence", "requested")
        for job in jobs_made
    ]
    assert stored[0] == stored[1]
    columns = ("account_id", "amount", "balance_after", "kind", "operation", "description")
    entries = [await CreditTransaction.filter(job_id=job["id"], kind="usage").values(*columns) for job in jobs_made]
    reserved = jobs_made[0]["credits_reserved"]
    for entry, before in zip(entries, (fast_before, reference_before), strict=True):
        assert entry == [
            {
                "account_id": account,
                "amount": -reserved,
                "balance_after": before - reserved,
                "kind": "usage",
                "operation": "generate_ideas",
                "description": f"Reserved {reserved} credits for generate_ideas",
            }
        ]
