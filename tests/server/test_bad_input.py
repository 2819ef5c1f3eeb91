"""Bad input on every endpoint of the foundation: the documented 4xx, in the envelope, and
nothing stored. One table row per (endpoint, case)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from models.accounts import Account, Site, SiteSector, User
from tests.helpers import Api, Caller

LONG = "x" * 5000
# (method, path, body) — {site} and {user} are filled in from fixtures.
WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/auth/register/", {"email": "new@example.com", "password": "long enough 1"}),
    ("POST", "/api/v1/auth/login/", {"email": "new@example.com", "password": "long enough 1"}),
    ("POST", "/api/v1/auth/token/refresh/", {"refresh": "rt_x"}),
    ("POST", "/api/v1/auth/password/change/", {"old_password": "a" * 10, "new_password": "b" * 10}),
    ("POST", "/api/v1/auth/password/reset/", {"email": "new@example.com"}),
    ("POST", "/api/v1/auth/password/reset/confirm/", {"token": "t", "new_password": "long enough 1"}),
    ("POST", "/api/v1/auth/users/", {"email": "m@example.com", "password": "long enough 1", "role": "viewer"}),
    ("PUT", "/api/v1/auth/users/{user}/", {"first_name": "A"}),
    ("PUT", "/api/v1/auth/account/", {"name": "A"}),
    ("POST", "/api/v1/auth/sites/", {"name": "S", "domain": "s.example.com"}),
    ("PUT", "/api/v1/auth/sites/{site}/", {"name": "S"}),
    ("POST", "/api/v1/auth/sectors/", {"site_id": "{site}", "name": "N"}),
]
PUBLIC = {"register", "login", "refresh", "reset"}


def _mutations(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Wrong type, missing field, unknown field and over-long string versions of a good body."""
    first = next(iter(body))
    cases = [
        ("wrong type", {**body, first: {"nested": ["object"]}}),
        ("unknown field", {**body, "is_superuser": True}),
        ("over-long string", {**body, first: LONG}),
    ]
    required = {k: v for k, v in body.items() if k not in {"first_name", "name"} or len(body) == 1}
    if len(required) > 1 or first not in {"first_name", "name"}:
        cases.append(("missing field", {k: v for k, v in body.items() if k != first}))
    return cases


async def _counts() -> tuple[int, int, int, int]:
    return (
        await Account.all().count(),
        await User.all().count(),
        await Site.all().count(),
        await SiteSector.all().count(),
    )


def _fill(value: Any, site: int, user: int) -> Any:
    if isinstance(value, str):
        return value.replace("{site}", str(site)).replace("{user}", str(user))
    return value


@pytest.fixture
async def world(api: Api) -> tuple[Caller, int, int]:
    owner = await api.register()
    site = await api.site(owner)
    member = await api.member(owner, "editor")
    return owner, site["id"], member.user["id"]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
async def test_bad_bodies_are_400_and_change_nothing(
    api: Api, world: tuple[Caller, int, int], method: str, path: str, body: dict[str, Any]
) -> None:
    owner, site, user = world
    path = _fill(path, site, user)
    body = {k: (site if v == "{site}" else v) for k, v in body.items()}
    before = await _counts()
    for case, payload in _mutations(body):
        result = await api.call(method, path, json=payload, as_=owner, status=400)
        assert result["code"] == "validation_error", (case, result)
        assert result["errors"], case
    parse = await api.call(
        method, path, data=b"{oops", as_=owner, headers={"Content-Type": "application/json"}, status=400
    )
    assert parse["code"] == "parse_error"
    oversized = io.BytesIO(b'{"padding": "' + b"x" * (11 * 1024 * 1024) + b'"}')
    too_big = await api.call(
        method, path, data=oversized, as_=owner, headers={"Content-Type": "application/json"}, status=413
    )
    assert too_big["code"] == "payload_too_large"
    assert await _counts() == before


PRIVATE_READS = [
    "/api/v1/auth/users/",
    "/api/v1/auth/groups/",
    "/api/v1/auth/account/",
    "/api/v1/auth/sites/",
    "/api/v1/auth/sectors/",
    "/api/v1/auth/industries/",
    "/api/v1/auth/seed-keywords/",
]


@pytest.mark.parametrize("path", PRIVATE_READS)
async def test_garbage_and_foreign_tokens_are_401_and_negative_pages_400(
    api: Api, world: tuple[Caller, int, int], path: str
) -> None:
    owner, _, _ = world
    import jwt

    forged = jwt.encode(
        {"sub": "1", "acc": 1, "typ": "access", "jti": "j", "iat": 0, "exp": 4102444800},
        "some-other-servers-key-that-is-long-enough-000000000000000000",
        algorithm="HS256",
    )
    for token in ("garbage", forged, ""):
        result = await api.call("GET", path, headers={"Authorization": f"Bearer {token}"}, status=401)
        assert result["code"] in {"invalid_token", "not_authenticated"}
    if path != "/api/v1/auth/account/":
        result = await api.call("GET", path, as_=owner, params={"page": -1}, status=400)
        assert result["errors"] == {"page": ["Must be greater than or equal to 1 and less than or equal to 1000000."]}
