"""Test helpers: one `Api` wrapper that asserts status and the envelope on every call, and
builders that take `**overrides`."""

from __future__ import annotations

import io
import itertools
import json as jsonlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient

_counter = itertools.count(1)


@dataclass
class Caller:
    """A registered user: tokens and ids, ready to sign requests."""

    access: str
    refresh: str
    user: dict[str, Any]
    account: dict[str, Any]
    password: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


class Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def call(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        data: Any = None,
        as_: Caller | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send a request, assert its status and envelope, return the parsed body."""
        all_headers = dict(as_.headers if as_ else {})
        all_headers.update(headers or {})
        kwargs: dict[str, Any] = {"headers": all_headers, "params": params}
        if json is not None:
            # A stream, so bodies over 1 MB (the oversized-input tests) don't trip aiohttp's warning.
            kwargs["data"] = io.BytesIO(jsonlib.dumps(json).encode())
            all_headers.setdefault("Content-Type", "application/json")
        if data is not None:
            kwargs["data"] = data
        response = await self.client.request(method, path, **kwargs)
        text = await response.text()
        assert response.status == status, f"{method} {path}: {response.status} {text[:800]}"
        assert response.headers.get("X-Request-ID"), "every response carries X-Request-ID"
        if status == 204:
            assert text == ""
            return {}
        body = await response.json()
        assert body["request_id"] == response.headers["X-Request-ID"]
        assert body["success"] is (status < 400), body
        if status >= 400:
            assert isinstance(body["code"], str) and body["error"], body
        return body

    async def register(self, **overrides: Any) -> Caller:
        n = next(_counter)
        payload = {"email": f"user{n}@example.com", "password": "correct horse 1", **overrides}
        body = await self.call("POST", "/api/v1/auth/register/", json=payload, status=201)
        data = body["data"]
        return Caller(data["access"], data["refresh"], data["user"], data["account"], payload["password"])

    async def login(self, email: str, password: str, **extra: Any) -> dict[str, Any]:
        body = await self.call("POST", "/api/v1/auth/login/", json={"email": email, "password": password, **extra})
        return body["data"]

    async def member(self, owner: Caller, role: str, **overrides: Any) -> Caller:
        """Create a user with `role` in the owner's account and log them in."""
        n = next(_counter)
        payload = {"email": f"member{n}@example.com", "password": "member pass 1", "role": role, **overrides}
        body = await self.call("POST", "/api/v1/auth/users/", json=payload, as_=owner, status=201)
        tokens = await self.login(payload["email"], payload["password"])
        return Caller(tokens["access"], tokens["refresh"], body["data"], owner.account, payload["password"])

    async def site(self, owner: Caller, **overrides: Any) -> dict[str, Any]:
        n = next(_counter)
        payload = {"name": f"Site {n}", "domain": f"site{n}.example.com", **overrides}
        body = await self.call("POST", "/api/v1/auth/sites/", json=payload, as_=owner, status=201)
        return body["data"]
