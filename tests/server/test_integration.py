"""/api/v1/integration/: CRUD with secrets never shown twice, keys, roles, the module switch, the
private-address rule, and the WordPress checks against the fake WordPress."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from config.settings import Settings
from models.accounts import ApiKey, Site
from models.integration import Integration, SyncRun
from models.jobs import Job
from models.writer import Content, Taxonomy
from server.app import create_app
from services.security import Crypto, token_hash, utcnow
from tests.conftest import TEST_FERNET, TEST_SECRET
from tests.fakes.wordpress_server import FakeWordPress
from tests.helpers import Api, Caller

BASE = "/api/v1/integration/"
CRYPTO = Crypto(TEST_SECRET, TEST_FERNET, 900)


async def create(api: Api, caller: Caller, site_id: int, wp: FakeWordPress, **overrides: Any) -> dict[str, Any]:
    payload = {"site_id": site_id, "base_url": wp.base_url, "username": wp.username, "app_password": wp.app_password}
    payload.update(overrides)
    return (await api.call("POST", BASE, json=payload, as_=caller, status=201))["data"]


async def integration_of(api: Api, owner: Caller, wp: FakeWordPress, **overrides: Any) -> dict[str, Any]:
    site = await api.site(owner)
    return await create(api, owner, site["id"], wp, **overrides)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- create and secrets ---


async def test_create_shows_the_keys_once_and_stores_secrets_encrypted_or_hashed(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    created = await integration_of(api, owner, wp, base_url=wp.base_url + "/")
    assert created["base_url"] == wp.base_url and created["app_password_set"] is True
    assert "app_password" not in created and created["platform"] == "wordpress"
    assert created["api_key"].startswith("ink_")
    assert created["webhook_secret"].startswith("whsec_")
    assert len(base64.b64decode(created["webhook_secret"][6:])) == 32

    row = await Integration.get(id=created["id"])
    assert wp.app_password not in (row.app_password_enc or "")
    assert CRYPTO.decrypt(row.app_password_enc or "") == wp.app_password
    assert CRYPTO.decrypt(row.webhook_secret_enc or "") == created["webhook_secret"]
    key = await ApiKey.get(integration_id=row.id)
    assert key.key_hash == token_hash(created["api_key"]) and key.site_id == created["site_id"]
    assert key.prefix == created["api_key"][:12]


async def test_secrets_are_never_returned_after_create(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    created = await integration_of(api, owner, wp)
    secrets = (wp.app_password, created["api_key"], created["webhook_secret"])
    path = f"{BASE}{created['id']}/"
    answers = [
        await api.call("GET", path, as_=owner),
        await api.call("GET", BASE, as_=owner),
        await api.call("PUT", path, json={"app_password": "new pass word", "is_active": False}, as_=owner),
        await api.call("POST", f"{path}test_connection/", as_=owner),
    ]
    for body in answers:
        text = json.dumps(body)
        assert not any(secret in text for secret in (*secrets, "new pass word")), text
        assert "api_key" not in text and "webhook_secret" not in text
    assert answers[0]["data"]["app_password_set"] is True
    assert answers[1]["count"] == 1 and answers[1]["results"][0]["id"] == created["id"]


async def test_the_api_key_authenticates_the_plugin_and_rotate_replaces_both_secrets(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    created = await integration_of(api, owner, wp)
    old = {"Authorization": f"ApiKey {created['api_key']}"}
    await api.call("GET", "/api/v1/writer/taxonomies/", headers=old)
    # An API key is for the plugin's endpoints, not for managing integrations.
    assert (await api.call("GET", BASE, headers=old, status=403))["code"] == "permission_denied"

    rotated = (await api.call("POST", f"{BASE}{created['id']}/rotate_key/", as_=owner))["data"]
    assert rotated["api_key"].startswith("ink_") and rotated["api_key"] != created["api_key"]
    assert rotated["webhook_secret"].startswith("whsec_") and rotated["webhook_secret"] != created["webhook_secret"]
    await api.call("GET", "/api/v1/writer/taxonomies/", headers=old, status=401)
    await api.call("GET", "/api/v1/writer/taxonomies/", headers={"Authorization": f"ApiKey {rotated['api_key']}"})
    row = await Integration.get(id=created["id"])
    assert CRYPTO.decrypt(row.webhook_secret_enc or "") == rotated["webhook_secret"]
    assert await ApiKey.filter(integration_id=row.id, revoked_at=None).count() == 1


async def test_rotations_at_once_leave_one_valid_key_the_last_one_shown(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """Two rotations at once each revoked the keys there were before either made its new one, so
    both new keys stayed valid. A race is won or lost by timing: three rounds."""
    created = await integration_of(api, owner, wp)
    path = f"{BASE}{created['id']}/rotate_key/"
    for _ in range(3):
        answers = await asyncio.gather(*(api.client.post(path, headers=owner.headers) for _ in range(4)))
        keys = [(await answer.json())["data"]["api_key"] for answer in answers]
        assert await ApiKey.filter(integration_id=created["id"], revoked_at=None).count() == 1
        valid = 0
        for key in keys:
            response = await api.client.get("/api/v1/writer/taxonomies/", headers={"Authorization": f"ApiKey {key}"})
            valid += response.status == 200
        assert valid == 1


async def test_update_replaces_the_password_and_a_new_address_forgets_the_structure(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    created = await integration_of(api, owner, wp)
    path = f"{BASE}{created['id']}/"
    await api.call("POST", f"{path}update_structure/", as_=owner)
    updated = (await api.call("PUT", path, json={"app_password": "xxxx yyyy", "config": {"a": 1}}, as_=owner))["data"]
    assert updated["structure"]["post_types"] and updated["config"] == {"a": 1}
    row = await Integration.get(id=created["id"])
    assert CRYPTO.decrypt(row.app_password_enc or "") == "xxxx yyyy"
    moved = (await api.call("PUT", path, json={"base_url": "https://blog.example.com/"}, as_=owner))["data"]
    assert moved["base_url"] == "https://blog.example.com" and moved["structure"] == {}


async def test_the_active_integrations_of_a_site_reach_one_wordpress(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """The site's content mirrors WordPress's posts by their ids: a second WordPress would mix its
    posts with the first's."""
    site = await api.site(owner)
    first = await create(api, owner, site["id"], wp)
    same_site_url = wp.base_url.replace("http://", "https://") + "/"  # the same WordPress, written otherwise
    same = await create(api, owner, site["id"], wp, base_url=same_site_url, username="editor")
    elsewhere = {"base_url": "https://other.example.com", "username": "u", "app_password": "p"}

    refused = await api.call("POST", BASE, json={**elsewhere, "site_id": site["id"]}, as_=owner, status=409)
    assert refused["code"] == "conflict" and f"integration {first['id']}" in refused["error"]
    assert await Integration.filter(site_id=site["id"]).count() == 2
    parked = await create(api, owner, site["id"], wp, **{**elsewhere, "is_active": False})
    await api.call("PUT", f"{BASE}{parked['id']}/", json={"is_active": True}, as_=owner, status=409)
    await api.call("PUT", f"{BASE}{same['id']}/", json={"base_url": elsewhere["base_url"]}, as_=owner, status=409)
    assert not (await Integration.get(id=parked["id"])).is_active
    assert (await Integration.get(id=same["id"])).base_url == same["base_url"]

    other_site = await api.site(owner)
    await create(api, owner, other_site["id"], wp, base_url=elsewhere["base_url"])
    for integration in (first, same):
        await api.call("PUT", f"{BASE}{integration['id']}/", json={"is_active": False}, as_=owner)
    await api.call("PUT", f"{BASE}{parked['id']}/", json={"is_active": True}, as_=owner)


async def _published(api: Api, owner: Caller, site_id: int, post_id: str = "7") -> int:
    """A content of the site linked to a WordPress post, as publishing or a sync leaves it."""
    body = {"site_id": site_id, "title": f"T {post_id}"}
    content = await api.call("POST", "/api/v1/writer/content/", json=body, as_=owner, status=201)
    await Content.filter(id=content["data"]["id"]).update(external_id=post_id, external_url=f"https://x/?p={post_id}")
    return int(content["data"]["id"])


async def test_content_linked_to_one_wordpress_keeps_another_out_unless_it_is_the_same_moved(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """The site's content holds the WordPress post ids of the WordPress it was published to: an
    integration for another WordPress would overwrite those rows by id, so making one active asks
    whether it is the same WordPress at a new address."""
    site = await api.site(owner)
    first = await create(api, owner, site["id"], wp)
    path = f"{BASE}{first['id']}/"
    assert (await Site.get(id=site["id"])).wordpress_url == wp.base_url
    content_id = await _published(api, owner, site["id"])
    moved = "https://moved.example.com"

    # Moving the active integration to another address: asked, nothing changed.
    refused = await api.call("PUT", path, json={"base_url": moved, "config": {"a": 1}}, as_=owner, status=409)
    assert refused["code"] == "conflict" and "same_wordpress" in refused["error"] and wp.base_url in refused["error"]
    row = await Integration.get(id=first["id"])
    assert row.base_url == wp.base_url and row.config == {}
    # The same WordPress written otherwise, or a change that moves nothing, is not asked about.
    await api.call("PUT", path, json={"base_url": wp.base_url.replace("http://", "https://") + "/"}, as_=owner)
    await api.call("PUT", path, json={"config": {"b": 2}}, as_=owner)
    # Said to be the same WordPress, moved: the links stay and the site follows it.
    answer = await api.call("PUT", path, json={"base_url": moved, "same_wordpress": True}, as_=owner)
    assert answer["data"]["base_url"] == moved and "same_wordpress" not in answer["data"]
    assert (await Site.get(id=site["id"])).wordpress_url == moved
    assert (await Content.get(id=content_id)).external_id == "7"

    # Another integration for another WordPress, made active by POST or by PUT: asked as well.
    await api.call("PUT", path, json={"is_active": False}, as_=owner)
    other = {"base_url": "https://other.example.com", "username": "u", "app_password": "p"}
    refused = await api.call("POST", BASE, json={**other, "site_id": site["id"]}, as_=owner, status=409)
    assert moved in refused["error"]
    assert await Integration.filter(site_id=site["id"]).count() == 1
    parked = await create(api, owner, site["id"], wp, **{**other, "is_active": False})
    await api.call("PUT", f"{BASE}{parked['id']}/", json={"is_active": True}, as_=owner, status=409)
    assert not (await Integration.get(id=parked["id"])).is_active
    # Reactivating the first (the WordPress the content is linked to) needs no answer.
    await api.call("PUT", path, json={"is_active": True}, as_=owner)
    assert (await Site.get(id=site["id"])).wordpress_url == moved


async def test_a_site_without_linked_content_follows_its_integration_to_any_wordpress(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    site = await api.site(owner)
    first = await create(api, owner, site["id"], wp)
    await api.call("POST", "/api/v1/writer/content/", json={"site_id": site["id"], "title": "T"}, as_=owner, status=201)
    await api.call("PUT", f"{BASE}{first['id']}/", json={"base_url": "https://b.example.com"}, as_=owner)
    assert (await Site.get(id=site["id"])).wordpress_url == "https://b.example.com"
    await api.call("PUT", f"{BASE}{first['id']}/", json={"is_active": False}, as_=owner)
    second = await create(api, owner, site["id"], wp, base_url="https://c.example.com")
    assert (await Site.get(id=site["id"])).wordpress_url == "https://c.example.com"
    # Linked now (a category synced from c): a move is asked about; inactive integrations are not.
    account_id = (await Site.get(id=site["id"])).account_id
    await Taxonomy.create(
        account_id=account_id, site_id=site["id"], kind="category", name="N", slug="n", external_id="3"
    )
    moved = {"base_url": "https://d.example.com"}
    await api.call("PUT", f"{BASE}{second['id']}/", json=moved, as_=owner, status=409)
    await api.call("PUT", f"{BASE}{first['id']}/", json=moved, as_=owner)
    await create(api, owner, site["id"], wp, **moved, is_active=False)
    assert (await Site.get(id=site["id"])).wordpress_url == "https://c.example.com"
    assert (await Integration.get(id=second["id"])).base_url == "https://c.example.com"


async def test_content_linked_to_a_wordpress_without_an_integration_asks_too(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """Content published through an integration since deleted: which WordPress it is linked to is
    not known, so a new integration is asked whether it is that one."""
    site = await api.site(owner)
    first = await create(api, owner, site["id"], wp)
    await _published(api, owner, site["id"])
    await api.call("DELETE", f"{BASE}{first['id']}/", as_=owner, status=204)
    await Site.filter(id=site["id"]).update(wordpress_url=None)  # as a site migrated without integrations
    body = {"site_id": site["id"], "base_url": wp.base_url, "username": wp.username, "app_password": wp.app_password}
    refused = await api.call("POST", BASE, json=body, as_=owner, status=409)
    assert "no integration for any more" in refused["error"]
    await api.call("POST", BASE, json={**body, "same_wordpress": True}, as_=owner, status=201)
    assert (await Site.get(id=site["id"])).wordpress_url == wp.base_url


@pytest.mark.parametrize("field", ["same_wordpress", "unlink_content"])
async def test_the_move_fields_take_true_or_false_only(api: Api, owner: Caller, wp: FakeWordPress, field: str) -> None:
    site = await api.site(owner)
    body = {"site_id": site["id"], "base_url": wp.base_url, "username": wp.username, "app_password": wp.app_password}
    for value in ("yes", 1, None, [], {"a": 1}):
        refused = await api.call("POST", BASE, json={**body, field: value}, as_=owner, status=400)
        assert field in refused["errors"], value
    assert not await Integration.filter(site_id=site["id"]).exists()
    created = await create(api, owner, site["id"], wp)
    refused = await api.call("PUT", f"{BASE}{created['id']}/", json={field: "true"}, as_=owner, status=400)
    assert field in refused["errors"]


async def test_unlink_content_moves_the_site_to_another_wordpress_and_lets_go_of_the_first(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    site = await api.site(owner)
    first = await create(api, owner, site["id"], wp)
    path = f"{BASE}{first['id']}/"
    published = await _published(api, owner, site["id"], "7")
    await Content.filter(id=published).update(status="published")
    synced_draft = await _published(api, owner, site["id"], "8")
    await Content.filter(id=synced_draft).update(source="wordpress")
    # Marked published by hand, never linked: not this move's business.
    by_hand = await api.call(
        "POST", "/api/v1/writer/content/", json={"site_id": site["id"], "title": "H"}, as_=owner, status=201
    )
    await Content.filter(id=by_hand["data"]["id"]).update(status="published")
    account_id = (await Site.get(id=site["id"])).account_id
    term = await Taxonomy.create(
        account_id=account_id, site_id=site["id"], kind="category", name="N", slug="n", external_id="3"
    )
    other = "https://other.example.com"
    followed_since = (await Site.get(id=site["id"])).wordpress_since

    # Both answers at once: 400 naming both, nothing changed.
    both = {"base_url": other, "same_wordpress": True, "unlink_content": True}
    refused = await api.call("PUT", path, json=both, as_=owner, status=400)
    assert {"same_wordpress", "unlink_content"} <= set(refused["errors"])
    # The same WordPress: unlink_content unlinks nothing.
    await api.call("PUT", path, json={"config": {"a": 1}, "unlink_content": True}, as_=owner)
    assert (await Content.get(id=published)).external_id == "7"
    assert (await Site.get(id=site["id"])).wordpress_since == followed_since

    answer = await api.call("PUT", path, json={"base_url": other, "unlink_content": True}, as_=owner)
    assert answer["data"]["base_url"] == other and "unlink_content" not in answer["data"]
    moved = await Site.get(id=site["id"])
    assert moved.wordpress_url == other and moved.wordpress_since is not None
    assert followed_since is not None and moved.wordpress_since > followed_since
    rows = {row.id: row for row in await Content.filter(site_id=site["id"])}
    assert (rows[published].status, rows[published].external_id, rows[published].external_url) == ("draft", None, None)
    assert (rows[synced_draft].source, rows[synced_draft].external_id) == ("wordpress", None)
    assert rows[by_hand["data"]["id"]].status == "published"
    assert (await Taxonomy.get(id=term.id)).external_id is None
    # Unlinked, the site follows its integrations again without being asked.
    await api.call("PUT", path, json={"base_url": "https://third.example.com"}, as_=owner)


async def test_a_new_integration_for_another_wordpress_can_unlink_too(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    site = await api.site(owner)
    first = await create(api, owner, site["id"], wp)
    content_id = await _published(api, owner, site["id"])
    await api.call("DELETE", f"{BASE}{first['id']}/", as_=owner, status=204)
    body = {"site_id": site["id"], "base_url": "https://new.example.com", "username": "u", "app_password": "p"}
    await api.call("POST", BASE, json=body, as_=owner, status=409)
    await api.call("POST", BASE, json={**body, "unlink_content": True}, as_=owner, status=201)
    assert (await Content.get(id=content_id)).external_id is None
    assert (await Site.get(id=site["id"])).wordpress_url == "https://new.example.com"


@pytest.mark.parametrize(
    ("kind", "status"), [("wordpress_sync", "running"), ("publish", "queued"), ("automation", "paused")]
)
async def test_a_site_does_not_change_wordpress_under_an_unfinished_wordpress_job(
    api: Api, owner: Caller, wp: FakeWordPress, kind: str, status: str
) -> None:
    site = await api.site(owner)
    first = await create(api, owner, site["id"], wp)
    content_id = await _published(api, owner, site["id"])
    account_id = (await Site.get(id=site["id"])).account_id
    job = await Job.create(account_id=account_id, site_id=site["id"], kind=kind, status=status)
    # Jobs of other sites and other kinds, and finished ones, don't hold the site.
    other_site = await api.site(owner)
    await Job.create(account_id=account_id, site_id=other_site["id"], kind=kind, status=status)
    await Job.create(account_id=account_id, site_id=site["id"], kind="generate_content", status="running")
    await Job.create(account_id=account_id, site_id=site["id"], kind=kind, status="succeeded")
    move = {"base_url": "https://other.example.com", "unlink_content": True}
    refused = await api.call("PUT", f"{BASE}{first['id']}/", json=move, as_=owner, status=409)
    assert f"Job {job.id} ({kind})" in refused["error"]
    assert (await Content.get(id=content_id)).external_id == "7"
    assert (await Integration.get(id=first["id"])).base_url == wp.base_url
    # The same WordPress moved needs no wait: nothing is unlinked.
    same = {"base_url": "https://moved.example.com", "same_wordpress": True}
    await api.call("PUT", f"{BASE}{first['id']}/", json=same, as_=owner)
    await Job.filter(id=job.id).update(status="cancelled")
    await api.call("PUT", f"{BASE}{first['id']}/", json=move, as_=owner)
    assert (await Content.get(id=content_id)).external_id is None


async def test_two_creates_at_once_for_two_wordpress_sites_leave_one(
    api: Api, owner: Caller, wp: FakeWordPress, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first create is held between its check and its insert while the second runs: the
    second waits for it (the site's row is locked), sees it and is refused."""
    site = await api.site(owner)
    gate = asyncio.Event()
    real_create = Integration.create.__func__  # type: ignore[attr-defined]

    async def held_create(cls: type[Integration], **fields: Any) -> Integration:
        if fields["base_url"] == "https://one.example.com":
            await gate.wait()
        return await real_create(cls, **fields)  # type: ignore[no-any-return]

    monkeypatch.setattr(Integration, "create", classmethod(held_create))
    body = {"site_id": site["id"], "username": "u", "app_password": "p"}
    first = asyncio.create_task(
        api.client.post(BASE, json={**body, "base_url": "https://one.example.com"}, headers=owner.headers)
    )
    await asyncio.sleep(0.2)  # the first is in its transaction, waiting at the gate
    second = asyncio.create_task(
        api.client.post(BASE, json={**body, "base_url": "https://two.example.com"}, headers=owner.headers)
    )
    await asyncio.sleep(0.3)  # the second has checked (without the lock) or waits for the first
    gate.set()
    answers = [await first, await second]
    assert [answer.status for answer in answers] == [201, 409]
    assert await Integration.filter(site_id=site["id"]).values_list("base_url", flat=True) == [
        "https://one.example.com"
    ]


async def test_delete_removes_the_integration_and_its_api_key(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    created = await integration_of(api, owner, wp)
    await api.call("DELETE", f"{BASE}{created['id']}/", as_=owner, status=204)
    assert not await Integration.exists(id=created["id"])
    assert not await ApiKey.exists(integration_id=created["id"])
    headers = {"Authorization": f"ApiKey {created['api_key']}"}
    await api.call("GET", "/api/v1/writer/taxonomies/", headers=headers, status=401)


# --- who may do what ---


async def test_editors_cannot_create_change_rotate_or_delete_and_viewers_only_read(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    created = await integration_of(api, owner, wp)
    path = f"{BASE}{created['id']}/"
    editor = await api.member(owner, "editor")
    viewer = await api.member(owner, "viewer")
    admin = await api.member(owner, "admin")
    body = {"site_id": created["site_id"], "base_url": wp.base_url, "username": "u", "app_password": "p"}
    for caller in (editor, viewer):
        await api.call("POST", BASE, json=body, as_=caller, status=403)
        await api.call("PUT", path, json={"is_active": False}, as_=caller, status=403)
        await api.call("POST", f"{path}rotate_key/", as_=caller, status=403)
        await api.call("POST", f"{path}update_structure/", as_=caller, status=403)
        await api.call("DELETE", path, as_=caller, status=403)
        assert (await api.call("GET", path, as_=caller))["data"]["id"] == created["id"]
    await api.call("POST", f"{path}test_connection/", as_=viewer, status=403)
    assert (await api.call("POST", f"{path}test_connection/", as_=editor))["data"]["ok"] is True
    row = await Integration.get(id=created["id"])
    assert row.is_active is True and await Integration.all().count() == 1
    await api.call("PUT", path, json={"is_active": False}, as_=admin)
    await create(api, admin, created["site_id"], wp)


async def test_the_integration_module_switch_is_enforced(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    created = await integration_of(api, owner, wp)
    await api.call("PUT", "/api/v1/system/modules/", json={"integration": False}, as_=owner)
    for method, path in (
        ("GET", BASE),
        ("GET", f"{BASE}{created['id']}/"),
        ("POST", f"{BASE}{created['id']}/test_connection/"),
        ("GET", f"{BASE}{created['id']}/content_types/"),
    ):
        assert (await api.call(method, path, as_=owner, status=403))["code"] == "module_disabled"
    body = {"site_id": created["site_id"], "base_url": wp.base_url, "username": "u", "app_password": "p"}
    await api.call("POST", BASE, json=body, as_=owner, status=403)
    assert await Integration.all().count() == 1


async def test_another_accounts_integration_is_not_found(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    created = await integration_of(api, owner, wp)
    stranger = await api.register()
    path = f"{BASE}{created['id']}/"
    for method, suffix, body in (
        ("GET", "", None),
        ("PUT", "", {"is_active": False}),
        ("DELETE", "", None),
        ("POST", "rotate_key/", None),
        ("POST", "test_connection/", None),
        ("POST", "test_collection_connection/", {"collection": "posts"}),
        ("POST", "update_structure/", None),
        ("GET", "content_types/", None),
    ):
        answer = await api.call(method, path + suffix, json=body, as_=stranger, status=404)
        assert answer["code"] == "not_found"
    assert (await api.call("GET", BASE, as_=stranger))["count"] == 0
    site = await api.site(stranger)
    other = await create(api, stranger, site["id"], wp)
    assert (await api.call("GET", BASE, as_=owner))["results"][0]["id"] == created["id"] != other["id"]
    row = await Integration.get(id=created["id"])
    assert row.is_active is True and await ApiKey.filter(integration_id=row.id, revoked_at=None).count() == 1


# --- bad input ---


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"base_url": "ftp://example.com"}, "base_url"),
        ({"base_url": "not a url"}, "base_url"),
        ({"base_url": "https://example.com/?p=1"}, "base_url"),
        ({"base_url": "https://example.com:99999"}, "base_url"),  # no such port
        ({"base_url": "https://example.com:0"}, "base_url"),
        ({"base_url": "http://[::1]:99999/"}, "base_url"),
        ({"base_url": None}, "base_url"),
        ({"username": "a:b"}, "username"),
        ({"username": ""}, "username"),
        ({"app_password": ""}, "app_password"),
        ({"app_password": None}, "app_password"),
        ({"platform": "joomla"}, "platform"),
        ({"config": {"k": "nul\x00"}}, "config"),
        ({"site_id": 999_999}, "site_id"),
        ({"api_key": "ink_mine"}, "api_key"),
    ],
)
async def test_bad_input_is_400_naming_the_field_and_stores_nothing(
    api: Api, owner: Caller, wp: FakeWordPress, change: dict[str, Any], field: str
) -> None:
    site = await api.site(owner)
    payload = {"site_id": site["id"], "base_url": wp.base_url, "username": "admin", "app_password": "pw"}
    payload.update(change)
    answer = await api.call("POST", BASE, json=payload, as_=owner, status=400)
    assert field in answer["errors"], answer
    assert await Integration.all().count() == 0 and await ApiKey.all().count() == 0


async def test_a_site_of_another_account_is_400(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    stranger = await api.register()
    site = await api.site(stranger)
    body = {"site_id": site["id"], "base_url": wp.base_url, "username": "admin", "app_password": "pw"}
    assert "site_id" in (await api.call("POST", BASE, json=body, as_=owner, status=400))["errors"]
    assert await Integration.all().count() == 0


async def test_a_bad_update_changes_nothing(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    created = await integration_of(api, owner, wp)
    path = f"{BASE}{created['id']}/"
    for body in ({"base_url": "gopher://x"}, {"site_id": 5}, {"username": "a:b"}, {"is_active": "maybe"}):
        await api.call("PUT", path, json=body, as_=owner, status=400)
    after = (await api.call("GET", path, as_=owner))["data"]
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in created.items() if k not in ("updated_at", "api_key", "webhook_secret")
    }


async def private_rule_api(aiohttp_client: Any, make_settings: Callable[..., Settings], allow: bool) -> Api:
    return Api(await aiohttp_client(create_app(make_settings(allow_private_urls=allow), docs=False)))


async def test_a_private_base_url_is_refused_when_the_rule_is_on_at_save_and_at_connect(
    aiohttp_client: Any, make_settings: Callable[..., Settings], wp: FakeWordPress
) -> None:
    api = await private_rule_api(aiohttp_client, make_settings, allow=False)
    owner = await api.register()
    site = await api.site(owner)
    body = {"site_id": site["id"], "base_url": wp.base_url, "username": "admin", "app_password": "pw"}
    answer = await api.call("POST", BASE, json=body, as_=owner, status=400)
    assert answer["code"] == "url_not_allowed" and "base_url" in answer["errors"]
    assert await Integration.all().count() == 0 and await ApiKey.all().count() == 0

    # Saved while the rule was off (or a name that resolved elsewhere then): refused when used.
    row = await Integration.create(
        account_id=owner.account["id"],
        site_id=site["id"],
        base_url=wp.base_url,
        username=wp.username,
        app_password_enc=CRYPTO.encrypt(wp.app_password),
    )
    path = f"{BASE}{row.id}/"
    assert (await api.call("POST", f"{path}test_connection/", as_=owner, status=400))["code"] == "url_not_allowed"
    await api.call("PUT", path, json={"base_url": "http://10.0.0.5"}, as_=owner, status=400)
    assert (await Integration.get(id=row.id)).base_url == wp.base_url
    assert wp.rest_calls() == []


async def test_a_private_base_url_is_accepted_when_the_rule_is_off(
    aiohttp_client: Any, make_settings: Callable[..., Settings], wp: FakeWordPress
) -> None:
    api = await private_rule_api(aiohttp_client, make_settings, allow=True)
    owner = await api.register()
    created = await integration_of(api, owner, wp)
    assert (await api.call("POST", f"{BASE}{created['id']}/test_connection/", as_=owner))["data"]["ok"] is True


# --- WordPress checks (against the fake) ---


async def test_test_connection_names_the_site_the_user_and_its_capabilities(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    created = await integration_of(api, owner, wp)
    result = (await api.call("POST", f"{BASE}{created['id']}/test_connection/", as_=owner))["data"]
    assert result["ok"] is True and result["site_name"] == "Fake WP"
    assert result["user"]["username"] == "admin" and "administrator" in result["user"]["roles"]
    assert "publish_posts" in result["capabilities"] and result["latency_ms"] >= 0
    assert result["api_style"] == "wp-json"
    assert (await Integration.get(id=created["id"])).structure["api_style"] == "wp-json"


async def test_a_wrong_application_password_is_ok_false_naming_it(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    created = await integration_of(api, owner, wp, app_password="wrong wrong wrong")
    result = (await api.call("POST", f"{BASE}{created['id']}/test_connection/", as_=owner))["data"]
    assert result["ok"] is False and result["code"] == "wordpress_auth_failed"
    assert "application password" in result["error"] and "'admin'" in result["error"]


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda wp: setattr(wp, "not_wordpress", True), "not_wordpress"),
        (lambda wp: setattr(wp, "app_passwords", False), "wordpress_app_passwords_unavailable"),
        (lambda wp: wp.always("500"), "wordpress_server_error"),
    ],
)
async def test_each_failure_is_ok_false_with_its_reason(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Callable[[FakeWordPress], None], code: str
) -> None:
    created = await integration_of(api, owner, wp)
    setup(wp)
    result = (await api.call("POST", f"{BASE}{created['id']}/test_connection/", as_=owner))["data"]
    assert result["ok"] is False and result["code"] == code and result["error"]


async def test_an_unreachable_site_is_ok_false(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    created = await integration_of(api, owner, wp, base_url=f"http://127.0.0.1:{free_port()}")
    result = (await api.call("POST", f"{BASE}{created['id']}/test_connection/", as_=owner))["data"]
    assert result["ok"] is False and result["code"] == "wordpress_unreachable"
    assert "Could not connect" in result["error"]


async def test_a_site_without_pretty_permalinks_is_used_through_rest_route_and_remembered(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    wp.pretty_permalinks = False
    created = await integration_of(api, owner, wp)
    result = (await api.call("POST", f"{BASE}{created['id']}/test_connection/", as_=owner))["data"]
    assert result["ok"] is True and result["api_style"] == "rest_route"
    assert (await Integration.get(id=created["id"])).structure["api_style"] == "rest_route"
    wp.calls.clear()
    check = {"collection": "posts"}
    await api.call("POST", f"{BASE}{created['id']}/test_collection_connection/", json=check, as_=owner)
    assert [call["path"] for call in wp.rest_calls()] == ["/"]  # straight to ?rest_route=, no probing


async def test_test_collection_connection_reports_the_total_or_why_not(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    for n in range(3):
        wp.add_post(title=f"Post {n}")
    created = await integration_of(api, owner, wp)
    path = f"{BASE}{created['id']}/test_collection_connection/"
    posts = (await api.call("POST", path, json={"collection": "posts"}, as_=owner))["data"]
    assert posts == {**posts, "ok": True, "collection": "posts", "total": 3}
    types = (await api.call("POST", path, json={"collection": "types"}, as_=owner))["data"]
    assert types["ok"] is True and types["total"] == 8
    for bad in ({"collection": "comments"}, {}, {"collection": "posts", "extra": 1}):
        await api.call("POST", path, json=bad, as_=owner, status=400)
    wrong = await integration_of(api, owner, wp, app_password="nope")
    path = f"{BASE}{wrong['id']}/test_collection_connection/"
    result = (await api.call("POST", path, json={"collection": "media"}, as_=owner))["data"]
    assert result["ok"] is False and result["code"] == "wordpress_auth_failed"


async def test_update_structure_and_content_types(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    created = await integration_of(api, owner, wp)
    path = f"{BASE}{created['id']}/"
    first = (await api.call("GET", f"{path}content_types/", as_=owner))["data"]
    assert first["ok"] is True and first["refreshed"] is True
    assert [t["slug"] for t in first["content_types"]] == ["post", "page"]
    assert first["content_types"][0]["taxonomies"] == ["category", "post_tag"]
    again = (await api.call("GET", f"{path}content_types/", as_=owner))["data"]
    assert again["refreshed"] is False and again["content_types"] == first["content_types"]

    result = (await api.call("POST", f"{path}update_structure/", as_=owner))["data"]
    structure = result["structure"]
    assert result["ok"] is True and structure["site"]["name"] == "Fake WP" and structure["api_style"] == "wp-json"
    assert {t["slug"] for t in structure["taxonomies"]} == {"category", "post_tag", "nav_menu"}
    stored = (await Integration.get(id=created["id"])).structure
    assert stored == structure

    wp.app_passwords = False  # a failed refresh keeps what was read before
    failed = (await api.call("POST", f"{path}update_structure/", as_=owner))["data"]
    assert failed["ok"] is False and failed["code"] == "wordpress_app_passwords_unavailable"
    assert (await Integration.get(id=created["id"])).structure == structure


async def test_content_types_that_cannot_be_read_are_ok_false(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    created = await integration_of(api, owner, wp, app_password="wrong")
    result = (await api.call("GET", f"{BASE}{created['id']}/content_types/", as_=owner))["data"]
    assert result["ok"] is False and result["code"] == "wordpress_auth_failed"
    assert (await Integration.get(id=created["id"])).structure == {}


async def test_a_sync_claimed_before_its_job_exists_holds_the_site_on_its_wordpress(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """A sync's run is claimed (and its window read) a moment before its job is made: a move in
    that moment would leave it reading the new WordPress from the first one's watermark."""
    site = await api.site(owner)
    first = await create(api, owner, site["id"], wp)
    content_id = await _published(api, owner, site["id"])
    run = await SyncRun.create(integration_id=first["id"], status="queued")
    move = {"base_url": "https://other.example.com", "unlink_content": True}
    refused = await api.call("PUT", f"{BASE}{first['id']}/", json=move, as_=owner, status=409)
    assert "sync" in refused["error"] and wp.base_url in refused["error"]
    assert (await Content.get(id=content_id)).external_id == "7"
    # Its job never came (the server died in between): after a minute the run is closed.
    await SyncRun.filter(id=run.id).update(started_at=utcnow() - timedelta(minutes=2))
    await api.call("PUT", f"{BASE}{first['id']}/", json=move, as_=owner)
    assert (await Content.get(id=content_id)).external_id is None
    assert (await SyncRun.get(id=run.id)).status == "failed"


async def test_the_connection_test_says_whether_the_plugins_webhooks_would_be_taken(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    created = await integration_of(api, owner, wp)
    path = f"{BASE}{created['id']}/"
    checked = (await api.call("POST", f"{path}test_connection/", as_=owner))["data"]
    assert (checked["home"], checked["webhooks_accepted"]) == (wp.base_url, True)
    # WordPress calling itself by its public name, reached here by another (behind a proxy).
    wp.home = "https://public.example"
    checked = (await api.call("POST", f"{path}test_connection/", as_=owner))["data"]
    assert (checked["home"], checked["webhooks_accepted"]) == ("https://public.example", False)
    await api.call("PUT", path, json={"home_url": "https://public.example"}, as_=owner)
    checked = (await api.call("POST", f"{path}test_connection/", as_=owner))["data"]
    assert checked["webhooks_accepted"] is True


async def test_a_bad_home_url_is_400_and_creates_nothing(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    site = await api.site(owner)
    body = {"site_id": site["id"], "base_url": wp.base_url, "username": wp.username, "app_password": wp.app_password}
    too_long = "https://wp.example/" + "a" * 2000
    for value in ("https://wp.exa\x00mple", too_long, 10**20, "ftp://wp.example", "https://wp.example/#top", []):
        refused = await api.call("POST", BASE, json={**body, "home_url": value}, as_=owner, status=400)
        assert list(refused["errors"]) == ["home_url"], value
    assert not await Integration.filter(site_id=site["id"]).exists()
