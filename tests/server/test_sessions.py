"""Session cookie with CSRF double submit, and ApiKey auth (CONTRACT §3)."""

from __future__ import annotations

from services.auth import create_api_key
from tests.helpers import Api


async def test_login_with_session_sets_hardened_cookies_and_they_authenticate(api: Api) -> None:
    caller = await api.register()
    response = await api.client.post(
        "/api/v1/auth/login/", json={"email": caller.user["email"], "password": caller.password, "session": True}
    )
    assert response.status == 200
    cookies = response.cookies
    assert cookies["session"]["httponly"] and cookies["session"]["samesite"] == "Lax"
    assert cookies["session"]["path"] == "/"
    assert not cookies["csrftoken"]["httponly"]
    session, csrf = cookies["session"].value, cookies["csrftoken"].value
    jar = {"Cookie": f"session={session}; csrftoken={csrf}"}
    body = await api.call("GET", "/api/v1/auth/account/", headers=jar)
    assert body["data"]["id"] == caller.account["id"]
    payload = {"name": "Cookie site", "domain": "cookie.example.com"}
    no_csrf = await api.call("POST", "/api/v1/auth/sites/", json=payload, headers=jar, status=403)
    assert "CSRF" in no_csrf["error"]
    await api.call("POST", "/api/v1/auth/sites/", json=payload, headers={**jar, "X-CSRF-Token": "forged"}, status=403)
    await api.call("POST", "/api/v1/auth/sites/", json=payload, headers={**jar, "X-CSRF-Token": csrf}, status=201)
    await api.call("POST", "/api/v1/auth/logout/", json={}, headers={**jar, "X-CSRF-Token": csrf})
    await api.call("GET", "/api/v1/auth/account/", headers=jar, status=401)


async def test_api_keys_are_limited_to_their_endpoints_and_bad_keys_are_401(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    key = await create_api_key(owner.account["id"], site["id"])
    assert key.startswith("ink_")
    body = await api.call("GET", "/api/v1/auth/users/", headers={"Authorization": f"ApiKey {key}"}, status=403)
    assert body["code"] == "permission_denied"
    body = await api.call("GET", "/api/v1/auth/users/", headers={"Authorization": "ApiKey ink_wrong"}, status=401)
    assert body["code"] == "invalid_token"
