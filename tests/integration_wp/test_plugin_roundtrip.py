"""The plugin in the real WordPress talking to a real Inkflow (this test's app, listening on a local
port): WordPress edits made through its REST API become Inkflow Content and Taxonomy and websocket
events; Inkflow stopped while a post is saved gets the delivery later with the same webhook-id; a
wrong secret is refused with 401, recorded, and shown on the plugin's settings page; the plugin's
connection test answers from Inkflow itself.

Skips with the reason without a WordPress, fails instead when INKFLOW_REQUIRE_SERVICES=1. Others'
edits of the shared WordPress reach this Inkflow too: only this test's objects are looked at.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from models.integration import WebhookEvent
from tests.helpers import Api, Caller
from tests.integration_wp.plugin_support import (
    PluginWordPress,
    Site,
    new_secret,
    plugin_wp,
    rows_about,
    site,
    unique,
)
from tests.server.test_ws import Client, connect

__all__ = ["plugin_wp", "site"]  # the fixtures

CONTENT = "/api/v1/writer/content/"
TAXONOMIES = "/api/v1/writer/taxonomies/"


@dataclass
class Inkflow:
    owner: Caller
    site_id: int
    integration: dict[str, Any]
    url: str


@pytest.fixture
async def inkflow(api: Api, client: TestClient, plugin_wp: PluginWordPress) -> AsyncIterator[Inkflow]:
    """A WordPress integration in Inkflow, and the plugin connected with its key and secret."""
    owner = await api.register()
    site_row = await api.site(owner)
    body = {
        "site_id": site_row["id"],
        "base_url": plugin_wp.base_url,
        "username": plugin_wp.user,
        "app_password": plugin_wp.app_password,
    }
    integration = (await api.call("POST", "/api/v1/integration/", json=body, as_=owner, status=201))["data"]
    url = str(client.make_url("")).rstrip("/")
    await plugin_wp.tool("uninstall")  # an empty queue
    await plugin_wp.tool("activate")
    await plugin_wp.configure(url, integration["api_key"], integration["webhook_secret"])
    yield Inkflow(owner, site_row["id"], integration, url)
    await plugin_wp.tool("configure", "{}")  # nothing more queued for this test's Inkflow


async def mirrored(
    api: Api, ink: Inkflow, path: str, external_id: int, kind: str | None = None
) -> dict[str, Any] | None:
    """Inkflow's row (as its API shows it) for a WordPress post or term, if any."""
    query: dict[str, Any] = {"site_id": ink.site_id, "page_size": 100}
    if kind:
        query["kind"] = kind
    rows = (await api.call("GET", path, params=query, as_=ink.owner))["results"]
    found = [row for row in rows if row["external_id"] == str(external_id)]
    assert len(found) <= 1, found
    return found[0] if found else None


async def event_about(ws: Client, name: str, external_id: int) -> dict[str, Any]:
    """The next websocket event `name` about a WordPress object (others' edits may come between)."""
    while True:
        event = await ws.event()
        if event["event"] == name and event["data"]["external_id"] == str(external_id):
            return event


async def test_wordpress_edits_follow_into_inkflow_and_its_websocket(
    api: Api, client: TestClient, inkflow: Inkflow, site: Site
) -> None:
    ws = await connect(client, inkflow.owner)
    channel = f"site:{inkflow.site_id}"
    assert (await ws.subscribe(channel))["success"] is True

    category = await site.rest("POST", "categories", status=201, json={"name": unique("Roundtrip cat")})
    await site.cron()
    term = await mirrored(api, inkflow, TAXONOMIES, category["id"], "category")
    assert term is not None and (term["name"], term["slug"]) == (category["name"], category["slug"])

    post = await site.rest(
        "POST",
        "posts",
        status=201,
        json={"title": unique("Roundtrip"), "content": "<p>Made in WordPress.</p>", "categories": [category["id"]]},
    )
    await site.cron()
    content = await mirrored(api, inkflow, CONTENT, post["id"])
    assert content is not None
    assert (content["title"], content["status"], content["source"]) == (post["title"]["raw"], "draft", "wordpress")
    assert content["html"] == "<p>Made in WordPress.</p>" and content["taxonomy_ids"] == [term["id"]]
    event = await event_about(ws, "content.updated", post["id"])
    assert event["channel"] == channel and event["data"]["action"] == "created"
    assert event["data"]["event"] == "post.created" and event["data"]["content_id"] == content["id"]

    await site.rest("POST", f"posts/{post['id']}", json={"title": "Roundtrip, edited in WordPress"})
    await site.cron()
    content = await mirrored(api, inkflow, CONTENT, post["id"])
    assert content is not None and content["title"] == "Roundtrip, edited in WordPress"
    event = await event_about(ws, "content.updated", post["id"])
    assert (event["data"]["action"], event["data"]["title"]) == ("updated", "Roundtrip, edited in WordPress")

    slug = "roundtrip-" + unique("x").split()[1]
    await site.rest("POST", f"posts/{post['id']}", json={"status": "publish", "slug": slug})
    await site.rest("POST", f"categories/{category['id']}", json={"name": category["name"] + " renamed"})
    await site.cron()
    content = await mirrored(api, inkflow, CONTENT, post["id"])
    assert content is not None and content["status"] == "published" and content["slug"] == slug
    assert content["external_url"] == f"{site.wp.base_url}/{slug}/"
    event = await event_about(ws, "content.updated", post["id"])
    assert (event["data"]["event"], event["data"]["status"]) == ("post.published", "published")
    term = await mirrored(api, inkflow, TAXONOMIES, category["id"], "category")
    assert term is not None and term["name"] == category["name"] + " renamed"
    path = f"/api/v1/integration/{inkflow.integration['id']}/"
    shown = (await api.call("GET", path, as_=inkflow.owner))["data"]  # where the plugin says it runs
    assert shown["plugin_site_url"].rstrip("/") == site.wp.base_url and shown["plugin_site_url_matches"] is True

    await site.rest("DELETE", f"posts/{post['id']}", params={"force": "true"})
    await site.rest("DELETE", f"categories/{category['id']}", params={"force": "true"})
    await site.cron()
    content = await mirrored(api, inkflow, CONTENT, post["id"])
    assert content is not None and content["status"] == "archived"  # Inkflow keeps deleted posts, archived
    event = await event_about(ws, "content.updated", post["id"])
    assert (event["data"]["action"], event["data"]["event"]) == ("deleted", "post.deleted")
    assert await mirrored(api, inkflow, TAXONOMIES, category["id"], "category") is None
    await ws.ws.close()

    processed = await WebhookEvent.filter(integration_id=inkflow.integration["id"], status="processed").count()
    assert processed >= 7 and not await WebhookEvent.filter(integration_id=inkflow.integration["id"], status="rejected")


async def test_inkflow_stopped_while_a_post_is_saved_gets_it_later_with_the_same_webhook_id(
    api: Api, client: TestClient, inkflow: Inkflow, site: Site, plugin_wp: PluginWordPress
) -> None:
    runner = client.server.runner
    assert runner is not None
    port = client.port
    for listening in list(runner.sites):
        await listening.stop()  # Inkflow's process is up but nobody answers: as if stopped
    try:
        post = await site.rest("POST", "posts", status=201, json={"title": unique("While Inkflow was down")})
        await site.cron()
        rows = rows_about(await plugin_wp.state(), "post", post["id"])
        assert len(rows) == 1 and rows[0]["attempts"] == "1" and "No answer from Inkflow" in rows[0]["last_error"]
        queued = rows[0]["webhook_id"]
    finally:
        await web.TCPSite(runner, "127.0.0.1", port).start()  # Inkflow is back, same address

    assert await mirrored(api, inkflow, CONTENT, post["id"]) is None
    await plugin_wp.tool("deliver", "force")  # the retry (the settings page's "Send now" does the same)
    content = await mirrored(api, inkflow, CONTENT, post["id"])
    assert content is not None and content["title"] == post["title"]["raw"]
    events = await WebhookEvent.filter(integration_id=inkflow.integration["id"], webhook_id=queued).values_list(
        "status", "event"
    )
    assert events == [("processed", "post.created")]
    assert rows_about(await plugin_wp.state(), "post", post["id"]) == []
    await site.rest("DELETE", f"posts/{post['id']}", params={"force": "true"})


async def test_a_wrong_secret_is_refused_with_401_and_the_plugin_shows_it(
    api: Api, inkflow: Inkflow, site: Site, plugin_wp: PluginWordPress
) -> None:
    await plugin_wp.configure(inkflow.url, inkflow.integration["api_key"], new_secret())
    tag = await site.rest("POST", "tags", status=201, json={"name": unique("Wrong secret")})
    try:
        await site.cron()
        rows = rows_about(await plugin_wp.state(), "term", tag["id"])
        assert len(rows) == 1 and rows[0]["state"] == "failed" and rows[0]["last_status"] == "401"
        assert rows[0]["last_error"].startswith("HTTP 401 (invalid_signature): The webhook was rejected")
        rejected = await WebhookEvent.filter(integration_id=inkflow.integration["id"], webhook_id=rows[0]["webhook_id"])
        assert [e.status for e in rejected] == ["rejected"]
        assert await mirrored(api, inkflow, TAXONOMIES, tag["id"], "tag") is None

        await site.login(plugin_wp.user, plugin_wp.admin_password)
        page = await site.page()
        assert re.search(r"Failed deliveries: [1-9]", page) and rows[0]["webhook_id"] in page
        assert "HTTP 401 (invalid_signature): The webhook was rejected" in page

        # The key itself is fine, and the connection test says so from Inkflow's own answer.
        tested = await site.submit(page, "inkflow_connector_test")
        assert re.search(rf"Connected: Inkflow at {re.escape(inkflow.url)} accepted the API key; it knows \d+", tested)

        # The right secret, then "Retry failed deliveries": applied, under the same webhook-id.
        secret = {"inkflow_connector_settings[base_url]": inkflow.url}
        secret["inkflow_connector_settings[webhook_secret]"] = inkflow.integration["webhook_secret"]
        saved = await site.submit(tested, "option_page", secret)
        await site.submit(saved, "inkflow_connector_retry_failed")
        await site.cron()
        assert await mirrored(api, inkflow, TAXONOMIES, tag["id"], "tag") is not None
        processed = await WebhookEvent.filter(webhook_id=rows[0]["webhook_id"], status="processed").count()
        assert processed == 1
    finally:
        await site.rest("DELETE", f"tags/{tag['id']}", params={"force": "true"})


async def test_the_connection_test_names_a_revoked_key(
    api: Api, inkflow: Inkflow, site: Site, plugin_wp: PluginWordPress
) -> None:
    path = f"/api/v1/integration/{inkflow.integration['id']}/rotate_key/"
    await api.call("POST", path, as_=inkflow.owner)
    await site.login(plugin_wp.user, plugin_wp.admin_password)
    tested = await site.submit(await site.page(), "inkflow_connector_test")
    assert "Inkflow refused the API key (HTTP 401" in tested and "Copy the key again" in tested
