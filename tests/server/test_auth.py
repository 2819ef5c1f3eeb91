"""Registration, login, tokens, logout and passwords (CONTRACT §3)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher, profiles

from models.billing import CreditTransaction
from services import security
from tests.conftest import TEST_SECRET
from tests.helpers import Api


async def test_register_creates_owner_account_with_signup_credits(api: Api) -> None:
    caller = await api.register(first_name="Ada", account_name="Ada's agency")
    assert caller.user["role"] == "owner"
    assert caller.account["name"] == "Ada's agency"
    assert caller.account["credits"] == 1000
    rows = await CreditTransaction.filter(account_id=caller.account["id"]).values("amount", "kind", "balance_after")
    assert rows == [{"amount": 1000, "kind": "grant", "balance_after": 1000}]
    me = await api.call("GET", "/api/v1/auth/account/", as_=caller)
    assert me["data"]["credits"] == 1000


async def test_register_email_is_unique_case_insensitively(api: Api) -> None:
    await api.register(email="Dup@Example.com")
    body = await api.call(
        "POST",
        "/api/v1/auth/register/",
        json={"email": "dup@example.COM", "password": "another pass 9"},
        status=409,
    )
    assert body["code"] == "duplicate"


async def test_the_same_email_registered_at_once_makes_one_account_and_409s(api: Api) -> None:
    """All passed the email check before any was stored; the losers of the insert answered 500."""
    body = {"email": "same@example.com", "password": "long enough 1"}
    answers = await asyncio.gather(*(api.client.post("/api/v1/auth/register/", json=body) for _ in range(4)))
    assert sorted(answer.status for answer in answers) == [201, 409, 409, 409]
    assert await CreditTransaction.filter(kind="grant").count() == 1  # one account, granted once


async def test_weak_passwords_are_refused(api: Api) -> None:
    for password in ["short1", "1234567890", "same@example.com"]:
        body = await api.call(
            "POST",
            "/api/v1/auth/register/",
            json={"email": "same@example.com", "password": password},
            status=400,
        )
        assert body["code"] == "validation_error"
        assert "password" in body["errors"]


async def test_login_unknown_email_and_wrong_password_answer_alike(api: Api) -> None:
    caller = await api.register()
    wrong = await api.call(
        "POST",
        "/api/v1/auth/login/",
        json={"email": caller.user["email"], "password": "nope nope"},
        status=401,
    )
    unknown = await api.call(
        "POST",
        "/api/v1/auth/login/",
        json={"email": "ghost@example.com", "password": "nope nope"},
        status=401,
    )
    assert wrong["code"] == unknown["code"] == "invalid_credentials"
    assert wrong["error"] == unknown["error"]


class GatedHasher(PasswordHasher):
    """Argon2 (cheapest parameters) that holds each verification until the test opens the gate,
    or until 5 s have passed; `held_to_the_end` says the gate was never opened."""

    def __init__(self, **parameters: Any) -> None:
        super().__init__(**parameters)
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.held_to_the_end = False

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.entered.set()
        self.held_to_the_end = not self.gate.wait(timeout=5)
        return super().verify(hash, password)


@pytest.fixture
def gated_hasher() -> Iterator[GatedHasher]:
    hasher = GatedHasher.from_parameters(profiles.CHEAPEST)
    assert isinstance(hasher, GatedHasher)
    security.set_password_hasher(hasher)
    yield hasher
    security.set_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))


async def test_other_requests_are_answered_while_a_password_is_checked(api: Api, gated_hasher: GatedHasher) -> None:
    # Argon2 takes ~0.2 s of CPU per hash at full cost: on the event loop it would stall every
    # request and websocket of the process for that long, at every login.
    caller = await api.register()
    login = asyncio.create_task(api.login(caller.user["email"], caller.password))
    assert await asyncio.to_thread(gated_hasher.entered.wait, 5)
    account = await api.call("GET", "/api/v1/auth/account/", as_=caller)
    assert account["data"]["id"] == caller.account["id"] and not login.done()
    gated_hasher.gate.set()
    tokens = await login
    assert tokens["user"]["id"] == caller.user["id"]
    assert not gated_hasher.held_to_the_end


async def test_login_returns_tokens_with_expiry_times(api: Api) -> None:
    caller = await api.register()
    data = await api.login(caller.user["email"], caller.password)
    assert data["user"]["id"] == caller.user["id"]
    assert data["access_expires_at"].endswith("Z") and data["refresh_expires_at"].endswith("Z")
    claims = jwt.decode(data["access"], TEST_SECRET, algorithms=["HS256"])
    assert claims["typ"] == "access" and claims["sub"] == str(caller.user["id"])
    assert claims["acc"] == caller.account["id"]
    assert claims["exp"] - claims["iat"] == 15 * 60


async def test_refresh_rotates_and_reuse_revokes_the_family(api: Api) -> None:
    caller = await api.register()
    first = await api.call("POST", "/api/v1/auth/token/refresh/", json={"refresh": caller.refresh})
    second_refresh = first["data"]["refresh"]
    assert second_refresh != caller.refresh
    # The first refresh token is used now: presenting it again is reuse.
    reuse = await api.call("POST", "/api/v1/auth/token/refresh/", json={"refresh": caller.refresh}, status=401)
    assert reuse["code"] == "invalid_token"
    # ... and the whole family, including the newest token, is revoked.
    await api.call("POST", "/api/v1/auth/token/refresh/", json={"refresh": second_refresh}, status=401)


async def test_logout_makes_the_access_token_401_and_revokes_the_refresh(api: Api) -> None:
    caller = await api.register()
    await api.call("GET", "/api/v1/auth/account/", as_=caller)
    await api.call("POST", "/api/v1/auth/logout/", json={"refresh": caller.refresh}, as_=caller)
    body = await api.call("GET", "/api/v1/auth/account/", as_=caller, status=401)
    assert body["code"] == "invalid_token"
    await api.call("POST", "/api/v1/auth/token/refresh/", json={"refresh": caller.refresh}, status=401)


def _forge(claims: dict[str, object], key: str, alg: str) -> str:
    return jwt.encode(claims, key, algorithm=alg)


async def test_tokens_with_other_algorithms_keys_or_garbage_are_rejected(api: Api) -> None:
    caller = await api.register()
    now = int(time.time())
    claims = {
        "sub": str(caller.user["id"]),
        "acc": caller.account["id"],
        "typ": "access",
        "jti": "x",
        "iat": now,
        "exp": now + 600,
    }
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tokens = {
        "alg none": f"{header}.{payload}.",
        "HS512 with the right key": _forge(claims, TEST_SECRET, "HS512"),
        "HS256 with another key": _forge(claims, "another-key-another-key-another-key-another-key-0000", "HS256"),
        "refresh typ": _forge({**claims, "typ": "refresh"}, TEST_SECRET, "HS256"),
        "garbage": "not.a.token",
    }
    for name, token in tokens.items():
        body = await api.call("GET", "/api/v1/auth/account/", headers={"Authorization": f"Bearer {token}"}, status=401)
        assert body["code"] == "invalid_token", name
    expired = _forge({**claims, "iat": now - 1000, "exp": now - 10}, TEST_SECRET, "HS256")
    body = await api.call("GET", "/api/v1/auth/account/", headers={"Authorization": f"Bearer {expired}"}, status=401)
    assert body["code"] == "token_expired"


async def test_no_credentials_is_401_not_authenticated(api: Api) -> None:
    body = await api.call("GET", "/api/v1/auth/account/", status=401)
    assert body["code"] == "not_authenticated"
    body = await api.call("GET", "/api/v1/auth/account/", headers={"Authorization": "Basic abc"}, status=401)
    assert body["code"] == "not_authenticated"


async def test_password_change_revokes_sessions_and_returns_a_fresh_pair(api: Api) -> None:
    caller = await api.register()
    body = await api.call(
        "POST",
        "/api/v1/auth/password/change/",
        json={"old_password": caller.password, "new_password": "brand new pass 2"},
        as_=caller,
    )
    fresh = body["data"]
    await api.call("POST", "/api/v1/auth/token/refresh/", json={"refresh": caller.refresh}, status=401)
    await api.call("GET", "/api/v1/auth/account/", headers={"Authorization": f"Bearer {fresh['access']}"})
    await api.call("POST", "/api/v1/auth/token/refresh/", json={"refresh": fresh["refresh"]})
    await api.login(caller.user["email"], "brand new pass 2")
    await api.call(
        "POST",
        "/api/v1/auth/login/",
        json={"email": caller.user["email"], "password": caller.password},
        status=401,
    )


async def test_password_change_with_a_wrong_old_password_changes_nothing(api: Api) -> None:
    caller = await api.register()
    await api.call(
        "POST",
        "/api/v1/auth/password/change/",
        json={"old_password": "wrong wrong", "new_password": "brand new pass 2"},
        as_=caller,
        status=401,
    )
    await api.login(caller.user["email"], caller.password)
