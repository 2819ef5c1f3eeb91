"""`Idempotency-Key` replays the first answer and refuses a different body (CONTRACT §1)."""

from __future__ import annotations

from models.accounts import Site
from tests.helpers import Api

SITES = "/api/v1/auth/sites/"


async def test_the_same_key_twice_creates_one_object_and_returns_the_same_body(api: Api) -> None:
    owner = await api.register()
    headers = {"Idempotency-Key": "create-site-1"}
    payload = {"name": "Once", "domain": "once.example.com"}
    first = await api.call("POST", SITES, json=payload, as_=owner, headers=headers, status=201)
    second = await api.call("POST", SITES, json=payload, as_=owner, headers=headers, status=201)
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


async def test_keys_belong_to_their_caller_and_errors_are_not_replayed(api: Api) -> None:
    first, second = await api.register(), await api.register()
    headers = {"Idempotency-Key": "shared-key"}
    await api.call("POST", SITES, json={"name": "A", "domain": "a.example.com"}, as_=first, headers=headers, status=201)
    await api.call(
        "POST", SITES, json={"name": "A", "domain": "a.example.com"}, as_=second, headers=headers, status=201
    )
    await api.call(
        "POST",
        SITES,
        json={"name": "C", "domain": "bad domain"},
        as_=first,
        headers={"Idempotency-Key": "e"},
        status=400,
    )
    await api.call(
        "POST",
        SITES,
        json={"name": "C", "domain": "bad domain"},
        as_=first,
        headers={"Idempotency-Key": "e"},
        status=400,
    )


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
