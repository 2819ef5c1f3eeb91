"""POST /api/v1/integration/webhook/wordpress/: the Standard Webhooks signature, its faults (each
answered and changing nothing), de-duplication, and valid events applied to Content/Taxonomy and
published to subscribers of `site:<id>`."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from standardwebhooks.webhooks import Webhook

from config.settings import DEFAULT_RATE_LIMITS
from models.integration import WebhookEvent
from models.writer import Content, Taxonomy
from server.app import create_app
from server.keys import EVENTS
from tests.fakes.wordpress_server import FakeWordPress
from tests.helpers import Api

BASE = "/api/v1/integration/"
HOOK = f"{BASE}webhook/wordpress/"
_ids = iter(range(1, 10**6))


@pytest.fixture
async def integration(api: Api, wp: FakeWordPress) -> dict[str, Any]:
    return await _connected(api, wp)


async def _connected(api: Api, wp: FakeWordPress) -> dict[str, Any]:
    owner = await api.register()
    site = await api.site(owner)
    payload = {"site_id": site["id"], "base_url": wp.base_url, "username": wp.username, "app_password": wp.app_password}
    # WordPress reached by one address and calling itself by another (as behind a proxy).
    payload["home_url"] = "https://wp.example"
    created = (await api.call("POST", BASE, json=payload, as_=owner, status=201))["data"]
    created["owner"] = owner
    return created


def post_event(event: str = "post.updated", **data: Any) -> dict[str, Any]:
    body = {
        "id": 41,
        "type": "post",
        "status": "publish",
        "slug": "hello-from-wp",
        "link": "https://wp.example/hello-from-wp/",
        "title": "Hello from WordPress",
        "content": "<p>Written in WordPress.</p>",
        "excerpt": "",
        "modified_gmt": "2026-11-29T10:00:00",
        "categories": [],
        "tags": [],
    }
    body.update(data)
    return {
        "event": event,
        "site_url": "https://wp.example",
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": body,
    }


def signed(
    integration: dict[str, Any],
    payload: Any,
    *,
    webhook_id: str | None = None,
    timestamp: float | None = None,
    secret: str | None = None,
    key: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    msg_id = webhook_id or f"msg_{next(_ids)}"
    when = datetime.fromtimestamp(timestamp if timestamp is not None else time.time(), tz=UTC)
    signature = Webhook(secret or integration["webhook_secret"]).sign(msg_id, when, raw.decode())
    headers = {
        "Authorization": f"ApiKey {key or integration['api_key']}",
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }
    return raw, headers


async def deliver(api: Api, integration: dict[str, Any], payload: Any, status: int = 200, **kw: Any) -> dict[str, Any]:
    raw, headers = signed(integration, payload, **kw)
    return await api.call("POST", HOOK, data=raw, headers=headers, status=status)


async def snapshot(site_id: int) -> tuple[Any, ...]:
    contents = await Content.filter(site_id=site_id).order_by("id").values()
    terms = await Taxonomy.filter(site_id=site_id).order_by("id").values()
    processed = await WebhookEvent.filter(status="processed").count()
    return (contents, terms, processed)


async def test_a_valid_post_event_updates_content_and_is_pushed_to_site_subscribers(
    api: Api, integration: dict[str, Any], client: TestClient
) -> None:
    site_id = integration["site_id"]
    with client.app[EVENTS].subscribe([f"site:{site_id}", f"integration:{integration['id']}"]) as sub:
        body = (await deliver(api, integration, post_event("post.created")))["data"]
        first = await sub.get()
        second = await sub.get()
    assert body["duplicate"] is False and body["outcome"] == "created"
    row = await Content.get(id=body["content_id"])
    assert (row.title, row.slug, row.status, row.source, row.external_id) == (
        "Hello from WordPress",
        "hello-from-wp",
        "published",
        "wordpress",
        "41",
    )
    assert row.html == "<p>Written in WordPress.</p>" and row.external_url == "https://wp.example/hello-from-wp/"
    assert {first.channel, second.channel} == {f"site:{site_id}", f"integration:{integration['id']}"}
    assert first.event == second.event == "content.updated"
    assert first.data["content_id"] == row.id and first.data["action"] == "created"

    updated = (await deliver(api, integration, post_event(title="Retitled", status="draft")))["data"]
    assert updated["outcome"] == "updated" and updated["content_id"] == row.id
    await row.refresh_from_db()
    assert (row.title, row.status, row.version) == ("Retitled", "draft", 2)

    gone = (await deliver(api, integration, {**post_event("post.deleted"), "data": {"id": 41, "type": "post"}}))["data"]
    assert gone["outcome"] == "deleted"
    await row.refresh_from_db()
    assert row.status == "archived"


async def test_a_delivery_older_than_the_mirror_changes_nothing(api: Api, integration: dict[str, Any]) -> None:
    """The plugin retries a failed delivery later: by then a later edit of the post may have been
    delivered, and the retried one must not take the post back to what it was."""
    later = post_event(title="Second edit", modified_gmt="2026-11-29T10:05:00")
    earlier = post_event(title="First edit", modified_gmt="2026-11-29T10:00:00")
    applied = (await deliver(api, integration, later))["data"]
    assert applied["outcome"] == "created"
    before = await snapshot(integration["site_id"])

    retried = (await deliver(api, integration, earlier))["data"]
    assert retried["outcome"] == "stale" and retried["content_id"] == applied["content_id"]
    contents, terms, processed = await snapshot(integration["site_id"])
    assert (contents, terms) == before[:2] and processed == before[2] + 1  # recorded, applied nowhere
    row = await Content.get(id=applied["content_id"])
    assert (row.title, row.version) == ("Second edit", 1)
    assert row.external_modified == datetime(2026, 11, 29, 10, 5, tzinfo=UTC)

    # The same modification time is the same edit: applied as usual (here, nothing to change).
    again = (await deliver(api, integration, later))["data"]
    assert again["outcome"] == "unchanged"
    # Saved again in WordPress with nothing the mirror keeps changed: unchanged, but the time moves
    # on, so the 10:05 edit is now older than the mirror.
    resaved = await deliver(
        api, integration, {**later, "data": {**later["data"], "modified_gmt": "2026-11-29T10:06:00"}}
    )
    assert resaved["data"]["outcome"] == "unchanged"
    assert (await deliver(api, integration, later))["data"]["outcome"] == "stale"
    # Without a modification time there is nothing to compare: applied.
    undated = (await deliver(api, integration, post_event(title="Third edit", modified_gmt="")))["data"]
    assert undated["outcome"] == "updated"
    await row.refresh_from_db()
    assert row.title == "Third edit" and row.external_modified == datetime(2026, 11, 29, 10, 6, tzinfo=UTC)


async def test_an_update_delivered_after_the_posts_deletion_does_not_bring_it_back(
    api: Api, integration: dict[str, Any]
) -> None:
    edit = post_event(title="Edited", modified_gmt="2026-11-29T10:00:00")
    content_id = (await deliver(api, integration, edit))["data"]["content_id"]
    deletion = {**post_event("post.deleted"), "occurred_at": "2026-11-29T10:10:00Z", "data": {"id": 41, "type": "post"}}
    assert (await deliver(api, integration, deletion))["data"]["outcome"] == "deleted"
    # An edit made before the deletion, whose delivery failed and is retried after it.
    late = post_event(title="Edited before the deletion", modified_gmt="2026-11-29T10:05:00")
    assert (await deliver(api, integration, late))["data"]["outcome"] == "stale"
    row = await Content.get(id=content_id)
    assert (row.status, row.title) == ("archived", "Edited")
    # Restored in WordPress: a later edit, which brings it back.
    restored = post_event(title="Restored", modified_gmt="2026-11-29T10:20:00")
    assert (await deliver(api, integration, restored))["data"]["outcome"] == "updated"
    await row.refresh_from_db()
    assert (row.status, row.title) == ("published", "Restored")


async def test_a_sync_that_read_a_post_before_its_latest_edit_leaves_the_edit(
    api: Api, integration: dict[str, Any], wp: FakeWordPress
) -> None:
    owner = integration["owner"]
    post = wp.add_post(title="As first written", modified_gmt="2026-11-29T09:00:00")
    sync = f"{BASE}{integration['id']}/sync/"
    await api.call("POST", sync, as_=owner, params={"wait": 30})
    # An edit reaches the mirror by webhook; the full sync below holds the post as it was before
    # the edit (WordPress answered its page first), so it reads an older version than the mirror's.
    edit = post_event(id=post["id"], slug=post["slug"], title="Edited in WordPress", modified_gmt="2026-11-29T09:30:00")
    assert (await deliver(api, integration, edit))["data"]["outcome"] == "updated"

    body = (await api.call("POST", sync, as_=owner, params={"wait": 30, "full": "true"}))["data"]
    assert body["job"]["status"] == "succeeded" and body["items"]["updated"] == 0
    row = await Content.get(site_id=integration["site_id"], external_id=str(post["id"]))
    assert (row.title, row.version) == ("Edited in WordPress", 2)

    # Once WordPress itself holds a later edit, the sync brings it.
    wp.touch("posts", post["id"], title="Edited again")
    body = (await api.call("POST", sync, as_=owner, params={"wait": 30, "full": "true"}))["data"]
    assert body["items"]["updated"] == 1
    await row.refresh_from_db()
    assert row.title == "Edited again" and row.external_modified is not None


async def test_what_a_webhook_brings_while_the_sync_lists_ids_is_kept(
    api: Api, integration: dict[str, Any], wp: FakeWordPress
) -> None:
    """A term or post made in WordPress after the sync's listing read its last page reaches the
    mirror by webhook before the sync commits: the listing doesn't have it, and must not remove it
    (a removed term is also taken out of the contents naming it, which no incremental sync mends)."""
    wp.add_many(posts=150)  # the id listing of posts takes two pages
    owner = integration["owner"]
    sync = f"{BASE}{integration['id']}/sync/"
    await api.call("POST", sync, as_=owner, params={"wait": 30})
    made: dict[str, dict[str, Any]] = {}

    async def made_meanwhile(route: str, query: dict[str, str]) -> None:
        if route == "/wp/v2/categories" and "term" not in made:
            term = made["term"] = wp.add_term("categories", "Made meanwhile")
            data = {"id": term["id"], "taxonomy": "category", "name": term["name"], "slug": term["slug"], "parent": 0}
            event = {**post_event("term.created"), "data": {**data, "description": ""}}
            assert (await deliver(api, integration, event))["data"]["outcome"] == "created"
        if (
            route == "/wp/v2/posts"
            and query.get("_fields") == "id"
            and query.get("offset") == "99"
            and "post" not in made
        ):
            post = made["post"] = wp.add_post(title="Written meanwhile", categories=[made["term"]["id"]])
            event = post_event("post.created", id=post["id"], slug=post["slug"], title="Written meanwhile")
            event["data"]["categories"] = [made["term"]["id"]]
            assert (await deliver(api, integration, event))["data"]["outcome"] == "created"

    wp.after_list = made_meanwhile
    body = (await api.call("POST", sync, as_=owner, params={"wait": 30}))["data"]
    assert body["job"]["status"] == "succeeded" and body["terms"]["deleted"] == 0 and body["items"]["deleted"] == 0
    term = await Taxonomy.get(site_id=integration["site_id"], external_id=str(made["term"]["id"]))
    post = await Content.get(site_id=integration["site_id"], external_id=str(made["post"]["id"]))
    assert post.status == "published" and post.taxonomy_ids == [term.id]

    # The next sync's listings have them: nothing to keep apart any more.
    wp.after_list = None
    again = (await api.call("POST", sync, as_=owner, params={"wait": 30}))["data"]
    assert again["terms"]["deleted"] == again["items"]["deleted"] == 0


async def test_a_term_renamed_by_webhook_while_the_sync_lists_terms_keeps_its_new_name(
    api: Api, integration: dict[str, Any], wp: FakeWordPress
) -> None:
    """WordPress gives terms no modification time to compare: a listing read before a webhook
    brought a rename must not write the old name back. Terms written after the listing began are
    left as they are (the next sync's listing has the new name)."""
    term = wp.add_term("categories", "Mammals", slug="mammals")
    owner = integration["owner"]
    sync = f"{BASE}{integration['id']}/sync/"
    await api.call("POST", sync, as_=owner, params={"wait": 30})
    renamed: list[str] = []

    async def renamed_meanwhile(route: str, query: dict[str, str]) -> None:
        if route == "/wp/v2/categories" and not renamed:
            renamed.append("Marine mammals")
            wp.terms["categories"][term["id"]]["name"] = "Marine mammals"
            data = {"id": term["id"], "taxonomy": "category", "name": "Marine mammals", "slug": "mammals"}
            event = {**post_event("term.updated"), "data": {**data, "parent": 0, "description": ""}}
            assert (await deliver(api, integration, event))["data"]["outcome"] == "updated"

    wp.after_list = renamed_meanwhile
    body = (await api.call("POST", sync, as_=owner, params={"wait": 30}))["data"]
    assert renamed and body["job"]["status"] == "succeeded"
    row = await Taxonomy.get(site_id=integration["site_id"], external_id=str(term["id"]))
    assert row.name == "Marine mammals", "the listing read before the rename wrote the old name back"
    assert body["terms"]["updated"] == 0

    wp.after_list = None
    again = (await api.call("POST", sync, as_=owner, params={"wait": 30}))["data"]
    await row.refresh_from_db()
    assert row.name == "Marine mammals" and again["terms"]["updated"] == 0


async def test_term_events_create_update_and_delete_terms(api: Api, integration: dict[str, Any]) -> None:
    def term(event: str, **data: Any) -> dict[str, Any]:
        body = {"id": 9, "taxonomy": "category", "name": "Mammals", "slug": "mammals", "parent": 0, "description": ""}
        return {
            "event": event,
            "site_url": "https://wp.example",
            "occurred_at": "2026-11-29T10:00:00Z",
            "data": {**body, **data},
        }

    parent = (await deliver(api, integration, term("term.created")))["data"]
    child = (await deliver(api, integration, term("term.created", id=10, name="Whales", slug="whales", parent=9)))[
        "data"
    ]
    assert parent["outcome"] == child["outcome"] == "created"
    row = await Taxonomy.get(id=child["taxonomy_id"])
    assert (row.kind, row.name, row.external_id, row.parent_id) == ("category", "Whales", "10", parent["taxonomy_id"])
    renamed = (await deliver(api, integration, term("term.updated", name="Sea mammals")))["data"]
    assert renamed["outcome"] == "updated"
    assert (await Taxonomy.get(id=parent["taxonomy_id"])).name == "Sea mammals"
    deleted = {
        "event": "term.deleted",
        "site_url": "https://wp.example",
        "occurred_at": "2026-11-29T10:00:00Z",
        "data": {"id": 10, "taxonomy": "category"},
    }
    assert (await deliver(api, integration, deleted))["data"]["outcome"] == "deleted"
    assert not await Taxonomy.filter(id=child["taxonomy_id"]).exists()


async def test_deliveries_are_taken_from_the_integrations_wordpress_only(
    api: Api, integration: dict[str, Any], wp: FakeWordPress
) -> None:
    """A staging copy of the site holds the integration's key and secret and signs correctly; its
    deliveries are refused (recorded as rejected), and only from base_url's or home_url's host."""
    path, owner = f"{BASE}{integration['id']}/", integration["owner"]

    async def shown() -> tuple[Any, Any]:
        data = (await api.call("GET", path, as_=owner))["data"]
        return data["plugin_site_url"], data["plugin_site_url_matches"]

    assert (await api.call("GET", path, as_=owner))["data"]["home_url"] == "https://wp.example"
    assert await shown() == (None, None)
    here = wp.base_url + "/"  # the same host as base_url
    await deliver(api, integration, {**post_event(), "site_url": here})
    assert await shown() == (here, True)
    await deliver(api, integration, {**post_event(id=44, slug="by-home-url"), "site_url": "https://WP.example/"})
    assert await shown() == ("https://WP.example/", True)

    before = await snapshot(integration["site_id"])
    odd = ("https://wp.example:99999", "https://[wp.example/")  # no URL a client can take apart
    for elsewhere in ("https://staging.wp.example", "https://wp.example:8443", "x", "", *odd):
        raw, headers = signed(integration, {**post_event(id=42, slug="staging-edit"), "site_url": elsewhere})
        refused = await api.call("POST", HOOK, data=raw, headers=headers, status=403)
        assert refused["code"] == "wrong_wordpress" and "home_url" in refused["error"], elsewhere
    assert await snapshot(integration["site_id"]) == before
    assert await shown() == ("https://WP.example/", True)  # a refused delivery records nothing
    health = (await api.call("GET", f"{path}sync_health/", as_=owner))["data"]
    assert health["webhooks_rejected"] == 6

    # WordPress moved behind another address: saying so lets its deliveries in.
    await api.call("PUT", path, json={"home_url": "https://staging.wp.example/"}, as_=owner)
    await deliver(
        api, integration, {**post_event(id=42, slug="staging-edit"), "site_url": "https://staging.wp.example"}
    )
    await api.call("PUT", path, json={"home_url": None}, as_=owner)
    raw, headers = signed(integration, {**post_event(id=45), "site_url": "https://staging.wp.example"})
    await api.call("POST", HOOK, data=raw, headers=headers, status=403)
    for bad in ("ftp://wp.example", "not a url", "https://wp.example/?q=1", 5):
        refused = await api.call("PUT", path, json={"home_url": bad}, as_=owner, status=400)
        assert list(refused["errors"]) == ["home_url"], bad
    assert (await api.call("GET", path, as_=owner))["data"]["home_url"] is None

    representation = (await api.call("GET", path, as_=owner))["data"]
    await api.call("PUT", path, json=representation, as_=owner)  # read-only fields unchanged: accepted
    representation = (await api.call("GET", path, as_=owner))["data"]  # the PUT moved updated_at
    changed = {**representation, "plugin_site_url": "https://mine.example"}
    refused = await api.call("PUT", path, json=changed, as_=owner, status=400)
    assert list(refused["errors"]) == ["plugin_site_url"]


async def test_a_replayed_webhook_id_is_a_duplicate_and_changes_nothing(api: Api, integration: dict[str, Any]) -> None:
    await deliver(api, integration, post_event(), webhook_id="msg_replay")
    before = await snapshot(integration["site_id"])
    again = await deliver(api, integration, post_event(title="Changed by a replay"), webhook_id="msg_replay")
    assert again["data"] == {"duplicate": True}
    assert await snapshot(integration["site_id"]) == before


@pytest.mark.parametrize(
    ("fault", "status", "code", "rejected"),
    [
        ("wrong_key", 401, "invalid_token", 0),
        ("bad_signature", 401, "invalid_signature", 1),
        ("other_secret", 401, "invalid_signature", 1),
        ("old_timestamp", 401, "invalid_signature", 1),
        ("future_timestamp", 401, "invalid_signature", 1),
        ("missing_headers", 401, "invalid_signature", 1),
        ("unknown_event", 400, "validation_error", 0),
        ("missing_field", 400, "validation_error", 0),
        ("unreadable_time", 400, "validation_error", 0),
        ("time_not_text", 400, "validation_error", 0),
        ("too_large", 413, "payload_too_large", 0),
        ("bearer_token", 403, "permission_denied", 0),
    ],
)
async def test_each_fault_is_refused_and_changes_nothing(
    api: Api, integration: dict[str, Any], fault: str, status: int, code: str, rejected: int
) -> None:
    await deliver(api, integration, post_event(id=5, slug="existing"))  # something to leave alone
    before = await snapshot(integration["site_id"])
    payload: Any = post_event(title="Must not land")
    options: dict[str, Any] = {}
    if fault == "wrong_key":
        options["key"] = "ink_not_a_key"
    elif fault == "other_secret":
        options["secret"] = "whsec_" + "QUFB" * 11
    elif fault == "old_timestamp":
        options["timestamp"] = time.time() - 301
    elif fault == "future_timestamp":
        options["timestamp"] = time.time() + 400
    elif fault == "unknown_event":
        payload["event"] = "comment.created"
    elif fault == "missing_field":
        del payload["data"]["type"]
    elif fault == "unreadable_time":
        payload["data"]["modified_gmt"] = "yesterday"
    elif fault == "time_not_text":
        payload["data"]["modified_gmt"] = 1764410400
    elif fault == "too_large":
        payload["data"]["content"] = "x" * (1024 * 1024)
    raw, headers = signed(integration, payload, **options)
    if fault == "bad_signature":
        headers["webhook-signature"] = "v1," + "A" * 43 + "="
    elif fault == "missing_headers":
        del headers["webhook-signature"]
    elif fault == "bearer_token":
        headers["Authorization"] = integration["owner"].headers["Authorization"]
    body = await api.call("POST", HOOK, data=io.BytesIO(raw), headers=headers, status=status)
    assert body["code"] == code
    if fault == "missing_field":
        assert "type" in body["errors"]["data"]
    if fault in ("unreadable_time", "time_not_text"):
        assert "modified_gmt" in body["errors"]["data"]
    assert await snapshot(integration["site_id"]) == before
    assert await WebhookEvent.filter(integration_id=integration["id"], status="rejected").count() == rejected
    health = (await api.call("GET", f"{BASE}{integration['id']}/sync_health/", as_=integration["owner"]))["data"]
    assert health["webhooks_rejected"] == rejected and health["webhooks_received"] == 1


# Values a plugin (or whatever holds the key) might send in place of a well-formed one.
ODD_VALUES: list[Any] = [
    None,
    "",
    " ",
    "x" * 5000,
    "nul\x00byte",
    "lone \ud811 surrogate",
    "https://[wp.example/",
    "https://wp.example:99999/",
    "0000-00-00T00:00:00",
    "2026-13-45T99:99:99",
    "9999-12-31T23:59:59+14:00",
    0,
    -1,
    2**31,
    2**63,
    2**70,
    1.5,
    float("inf"),
    True,
    [],
    [1, "two", None],
    [2**70],
    {},
    {"rendered": "<b>x</b>", "raw": 5},
]


def _odd(value: Any) -> Any:
    # JSON has no infinity: what a client would send for it is a string.
    return "Infinity" if isinstance(value, float) and value == float("inf") else value


async def test_a_signed_delivery_with_odd_values_is_answered_in_the_envelope_never_a_500(
    aiohttp_client: Any, make_settings: Any, wp: FakeWordPress
) -> None:
    """Every field of every event, and the envelope's own, in turn set to each odd value (or
    left out): the answer is 200 (applied or stale), 400 naming the problem or 403 (another
    WordPress), in the envelope, and the server goes on answering. Signed, so no outside fuzzer
    reaches these paths."""
    limits = {scope: 1_000_000 for scope in DEFAULT_RATE_LIMITS}  # ~600 deliveries in a few seconds
    api = Api(await aiohttp_client(create_app(make_settings(rate_limits=limits), docs=False)))
    integration = await _connected(api, wp)
    term = {"id": 9, "taxonomy": "category", "name": "Mammals", "slug": "mammals", "parent": 0, "description": ""}
    events: dict[str, dict[str, Any]] = {
        "post.updated": post_event()["data"],
        "post.deleted": {"id": 41, "type": "post"},
        "term.updated": term,
        "term.deleted": {"id": 9, "taxonomy": "category"},
    }
    answers: dict[int, int] = {}
    for event, data in events.items():
        base = {**post_event(event), "data": data}
        variants: list[dict[str, Any]] = []
        for field in [*data, "categories", "tags"] if event == "post.updated" else data:
            variants.append({**base, "data": {k: v for k, v in data.items() if k != field}})
            variants += [{**base, "data": {**data, field: _odd(value)}} for value in ODD_VALUES]
        for field in ("event", "site_url", "occurred_at", "data"):
            variants += [{**base, field: _odd(value)} for value in ODD_VALUES]
        for payload in variants:
            raw, headers = signed(integration, payload)
            response = await api.client.post(HOOK, data=raw, headers=headers)
            body = await response.json()
            assert response.status in (200, 400, 403), (response.status, payload, body)
            assert body["success"] is (response.status == 200), body
            answers[response.status] = answers.get(response.status, 0) + 1
    assert answers[200] and answers[400] and answers[403], answers
    health = await api.call("GET", "/api/v1/system/health/")
    assert health["data"]["status"] in ("ok", "degraded")
