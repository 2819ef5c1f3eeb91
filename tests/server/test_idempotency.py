"""`Idempotency-Key` replays the first answer and refuses a different body (CONTRACT §1)."""

from __future__ import annotations

from models.accounts import Site
from models.planner import Keyword
from tests.helpers import Api

SITES = "/api/v1/auth/sites/"
KEYWORDS = "/api/v1/planner/keywords/"
REPLAYED = "Idempotent-Replayed"


async def test_the_same_key_twice_creates_one_object_and_returns_the_same_body(api: Api) -> None:
    owner = await api.register()
    headers = {"Idempotency-Key": "create-site-1"}
    payload = {"name": "Once", "domain": "once.example.com"}
    first = await api.call("POST", SITES, json=payload, as_=owner, headers=headers, status=201)
    assert REPLAYED not in api.last_headers
    second = await api.call("POST", SITES, json=payload, as_=owner, headers=headers, status=201)
    assert api.last_headers[REPLAYED] == "true"
    assert second["request_id"] != first["request_id"]
    assert {**second, "request_id": ""} == {**first, "request_id": ""}
    assert await Site.filter(account_id=owner.account["id"]).count() == 1


async def test_the_same_key_with_a_different_body_is_409(api: Api) -> None:
    owner = await api.register()
    headers = {"Idempotency-Key": "k-2"}
    await api.call("POST", SITES, json={"name": "A", "domain": "a.example.com"}, as_=owner, headers=headers, status=201)
    body = await api.call(
        "POST", SITES, json={"name": "B", "domain": "b.example.com"}, as_=owner, headers=headers, status=409
    )
    assert body["code"] == "conflict"
    assert await Site.filter(account_id=owner.account["id"]).count() == 1


async def test_a_key_belongs_to_its_caller_so_two_accounts_with_one_key_create_two_objects(api: Api) -> None:
    first, second = await api.register(), await api.register()
    headers = {"Idempotency-Key": "shared-key"}
    payload = {"name": "A", "domain": "a.example.com"}
    mine = await api.call("POST", SITES, json=payload, as_=first, headers=headers, status=201)
    assert REPLAYED not in api.last_headers
    theirs = await api.call("POST", SITES, json=payload, as_=second, headers=headers, status=201)
    assert REPLAYED not in api.last_headers
    assert mine["data"]["id"] != theirs["data"]["id"]
    assert await Site.filter(account_id=first.account["id"]).values_list("id", flat=True) == [mine["data"]["id"]]
    assert await Site.filter(account_id=second.account["id"]).values_list("id", flat=True) == [theirs["data"]["id"]]
    again = await api.call("POST", SITES, json=payload, as_=second, headers=headers, status=201)
    assert api.last_headers[REPLAYED] == "true" and again["data"]["id"] == theirs["data"]["id"]


async def test_a_failed_answer_is_not_replayed_so_the_key_works_once_the_state_is_fixed(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    payload = {"site_id": site["id"], "keyword": "trail shoes"}
    existing = await api.call("POST", KEYWORDS, json=payload, as_=owner, status=201)
    headers = {"Idempotency-Key": "retry-me"}
    duplicate = await api.call("POST", KEYWORDS, json=payload, as_=owner, headers=headers, status=409)
    assert duplicate["code"] == "duplicate" and REPLAYED not in api.last_headers
    await api.call("DELETE", f"{KEYWORDS}{existing['data']['id']}/", as_=owner, status=204)
    made = await api.call("POST", KEYWORDS, json=payload, as_=owner, headers=headers, status=201)
    assert REPLAYED not in api.last_headers
    assert await Keyword.filter(site_id=site["id"]).values_list("id", flat=True) == [made["data"]["id"]]
    replayed = await api.call("POST", KEYWORDS, json=payload, as_=owner, headers=headers, status=201)
    assert api.last_headers[REPLAYED] == "true" and replayed["data"]["id"] == made["data"]["id"]


async def test_an_over_long_key_is_400_and_creates_nothing(api: Api) -> None:
    owner = await api.register()
    body = await api.call(
        "POST",
        SITES,
        json={"name": "A", "domain": "a.example.com"},
        as_=owner,
        headers={"Idempotency-Key": "k" * 256},
        status=400,
    )
    assert body["code"] == "validation_error"
    assert await Site.filter(account_id=owner.account["id"]).count() == 0
