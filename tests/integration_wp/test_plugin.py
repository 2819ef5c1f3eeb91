"""The Inkflow Connector WordPress plugin (wordpress/inkflow-connector/) in the real WordPress, sending
to a local receiver that checks key and signature with the `standardwebhooks` library as Inkflow does:
events of posts, pages, categories; Inkflow down, then back (same webhook-id); the documented number
of tries; a wrong secret shown on the settings page; the settings page's rules; uninstall.

Skips with the reason without a WordPress (../shared/wp/wp_up.sh), fails instead when
INKFLOW_REQUIRE_SERVICES=1. The WordPress is shared: every object has a unique name and is deleted,
and only deliveries about this test's objects are looked at.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from tests.integration_wp.plugin_support import (
    PluginWordPress,
    Receiver,
    Site,
    new_secret,
    plugin_wp,
    receiver,
    rows_about,
    site,
    unique,
)

__all__ = ["plugin_wp", "receiver", "site"]  # the fixtures

POST_FIELDS = {
    "id",
    "type",
    "status",
    "slug",
    "link",
    "title",
    "content",
    "excerpt",
    "modified_gmt",
    "categories",
    "tags",
}
TERM_FIELDS = {"id", "taxonomy", "name", "slug", "parent", "description"}


def only(deliveries: list[Any]) -> dict[str, Any]:
    assert len(deliveries) == 1, [d.payload for d in deliveries]
    payload: dict[str, Any] = deliveries[0].payload
    return payload


async def test_a_post_created_updated_published_and_deleted_arrives_signed(
    site: Site, receiver: Receiver, plugin_wp: PluginWordPress
) -> None:
    category = await site.rest("POST", "categories", status=201, json={"name": unique("Plugin cat")})
    started = time.monotonic()
    post = await site.rest(
        "POST",
        "posts",
        status=201,
        json={"title": unique("Plugin post"), "content": "<p>First <em>words</em></p>", "categories": [category["id"]]},
    )
    # The editor's save does not talk to Inkflow: nothing arrives until cron runs.
    assert time.monotonic() - started < 5
    await asyncio.sleep(0.5)
    assert receiver.events("post", post["id"]) == []
    assert (await plugin_wp.state())["next_scheduled"] is not False

    await site.cron_until(lambda: bool(receiver.events("post", post["id"], "post.created")))
    created = only(receiver.events("post", post["id"], "post.created"))
    assert set(created) == {"event", "site_url", "occurred_at", "data"}
    assert created["site_url"] == plugin_wp.base_url and created["occurred_at"].endswith("Z")
    data = created["data"]
    assert set(data) == POST_FIELDS
    assert data["type"] == "post" and data["status"] == "draft" and data["title"] == post["title"]["raw"]
    assert data["content"] == "<p>First <em>words</em></p>" and data["categories"] == [category["id"]]
    assert data["tags"] == [] and data["modified_gmt"].startswith(post["modified_gmt"][:16])
    delivery = receiver.events("post", post["id"])[0]
    assert delivery.authorization == f"ApiKey {receiver.api_key}" and delivery.webhook_id.startswith("msg_")
    assert abs(delivery.timestamp - time.time()) < 60

    await site.rest("POST", f"posts/{post['id']}", json={"title": "Plugin post, renamed"})
    await site.cron_until(lambda: bool(receiver.events("post", post["id"], "post.updated")))
    assert only(receiver.events("post", post["id"], "post.updated"))["data"]["title"] == "Plugin post, renamed"

    await site.rest(
        "POST", f"posts/{post['id']}", json={"status": "publish", "slug": "plugin-post-" + delivery.webhook_id[-8:]}
    )
    await site.cron_until(lambda: bool(receiver.events("post", post["id"], "post.published")))
    published = only(receiver.events("post", post["id"], "post.published"))["data"]
    assert published["status"] == "publish" and published["slug"] == "plugin-post-" + delivery.webhook_id[-8:]
    assert published["link"] == f"{plugin_wp.base_url}/{published['slug']}/"

    await site.rest("DELETE", f"posts/{post['id']}", params={"force": "true"})
    await site.rest("DELETE", f"categories/{category['id']}", params={"force": "true"})
    await site.cron_until(lambda: bool(receiver.events("post", post["id"], "post.deleted")))
    assert only(receiver.events("post", post["id"], "post.deleted"))["data"] == {"id": post["id"], "type": "post"}
    # One event per change: no revision, autosave or repeat; every webhook-id different.
    mine = receiver.events("post", post["id"])
    assert [d.payload["event"] for d in mine if d.payload] == [
        "post.created",
        "post.updated",
        "post.published",
        "post.deleted",
    ]
    assert len({d.webhook_id for d in mine}) == 4
    state = await plugin_wp.state()
    assert state["status"]["last_delivery"]["ok"] is True


async def test_a_page_and_a_category_and_tag(site: Site, receiver: Receiver) -> None:
    page = await site.rest("POST", "pages", status=201, json={"title": unique("Plugin page"), "status": "publish"})
    category = await site.rest(
        "POST", "categories", status=201, json={"name": unique("Plugin cat"), "description": "Cats"}
    )
    tag = await site.rest("POST", "tags", status=201, json={"name": unique("Plugin tag")})
    await site.rest("POST", f"categories/{category['id']}", json={"name": category["name"] + " 2"})
    await site.rest("DELETE", f"pages/{page['id']}")  # to the trash: gone for Inkflow
    await site.rest("DELETE", f"categories/{category['id']}", params={"force": "true"})
    await site.rest("DELETE", f"tags/{tag['id']}", params={"force": "true"})
    await site.cron_until(
        lambda: bool(
            receiver.events("term", category["id"], "term.deleted")
            and receiver.events("term", tag["id"], "term.deleted")
        )
    )

    published = only(receiver.events("post", page["id"], "post.published"))["data"]
    assert set(published) == POST_FIELDS and published["type"] == "page"
    assert published["categories"] == [] and published["tags"] == []
    assert only(receiver.events("post", page["id"], "post.deleted"))["data"] == {"id": page["id"], "type": "page"}
    created = only(receiver.events("term", category["id"], "term.created"))["data"]
    assert set(created) == TERM_FIELDS
    assert created == {
        "id": category["id"],
        "taxonomy": "category",
        "name": category["name"],
        "slug": category["slug"],
        "parent": 0,
        "description": "Cats",
    }
    assert only(receiver.events("term", category["id"], "term.updated"))["data"]["name"] == category["name"] + " 2"
    assert only(receiver.events("term", category["id"], "term.deleted"))["data"] == {
        "id": category["id"],
        "taxonomy": "category",
    }
    assert only(receiver.events("term", tag["id"], "term.created"))["data"]["taxonomy"] == "post_tag"
    assert only(receiver.events("term", tag["id"], "term.deleted"))["data"] == {"id": tag["id"], "taxonomy": "post_tag"}
    await site.rest("DELETE", f"pages/{page['id']}", params={"force": "true"})  # already reported: nothing more
    await site.cron()
    assert len(receiver.events("post", page["id"])) == 2


async def test_deleting_a_category_sends_its_posts_with_the_terms_wordpress_moved_them_to(
    site: Site, receiver: Receiver
) -> None:
    """WordPress moves a post whose only category is deleted into the default category without
    saving the post; the plugin sends it as post.updated after term.deleted."""
    only_cat = await site.rest("POST", "categories", status=201, json={"name": unique("Only cat")})
    other_cat = await site.rest("POST", "categories", status=201, json={"name": unique("Other cat")})
    alone = await site.rest(
        "POST",
        "posts",
        status=201,
        json={"title": unique("Alone"), "status": "publish", "categories": [only_cat["id"]]},
    )
    both = await site.rest(
        "POST",
        "posts",
        status=201,
        json={"title": unique("Both"), "status": "publish", "categories": [only_cat["id"], other_cat["id"]]},
    )
    await site.cron()
    await site.rest("DELETE", f"categories/{only_cat['id']}", params={"force": "true"})
    await site.cron_until(lambda: bool(receiver.events("post", both["id"], "post.updated")))

    (deleted,) = receiver.events("term", only_cat["id"], "term.deleted")
    for post in (alone, both):
        now = (await site.rest("GET", f"posts/{post['id']}"))["categories"]
        assert only_cat["id"] not in now and now  # WordPress's own view: the default category for `alone`
        (updated,) = receiver.events("post", post["id"], "post.updated")
        assert updated.payload is not None and updated.payload["data"]["categories"] == now
        assert receiver.deliveries.index(deleted) < receiver.deliveries.index(updated)
    for collection, object_id in (("posts", alone["id"]), ("posts", both["id"]), ("categories", other_cat["id"])):
        await site.rest("DELETE", f"{collection}/{object_id}", params={"force": "true"})
    await site.cron()


async def test_inkflow_down_then_back_gets_the_same_webhook_id(
    site: Site, receiver: Receiver, plugin_wp: PluginWordPress
) -> None:
    await receiver.stop()
    post = await site.rest("POST", "posts", status=201, json={"title": unique("Plugin down")})
    await site.cron()
    state = await plugin_wp.state()
    mine = rows_about(state, "post", post["id"])
    assert len(mine) == 1 and mine[0]["state"] == "pending" and mine[0]["attempts"] == "1"
    queued = mine[0]["webhook_id"]
    assert "No answer from Inkflow" in mine[0]["last_error"]
    # Backoff: the next try is a minute away, so cron runs before then send nothing.
    assert int(mine[0]["next_attempt_at"]) - int(mine[0]["last_attempt_at"]) == 60
    assert state["next_scheduled"] == int(mine[0]["next_attempt_at"])

    await site.login(plugin_wp.user, plugin_wp.admin_password)
    page = await site.page()
    assert queued in page and re.search(r"Queued deliveries: [1-9]", page)
    assert "No answer from Inkflow" in page

    await receiver.start()  # the same port
    await site.cron()
    assert receiver.events("post", post["id"]) == []  # not due yet
    page = await site.submit(page, "inkflow_connector_send_now")
    assert re.search(r"Delivered [1-9]\d*, failed 0", page)
    delivered = receiver.events("post", post["id"], "post.created")
    assert len(delivered) == 1 and delivered[0].webhook_id == queued
    assert abs(delivered[0].timestamp - time.time()) < 60  # signed again when sent, so Inkflow's 5-minute window holds
    assert f"post.created {queued}" in page and "delivered (HTTP 200)" in page
    assert not [r for r in (await plugin_wp.state())["rows"] if r["webhook_id"] == queued]
    await site.rest("DELETE", f"posts/{post['id']}", params={"force": "true"})


async def test_a_delivery_is_dropped_after_eight_tries_with_one_webhook_id(
    site: Site, receiver: Receiver, plugin_wp: PluginWordPress
) -> None:
    receiver.answer = 503
    tag = await site.rest("POST", "tags", status=201, json={"name": unique("Plugin retry")})
    try:
        for attempt in range(1, 9):
            await plugin_wp.tool("deliver", "force")
            rows = rows_about(await plugin_wp.state(), "term", tag["id"])
            assert len(rows) == 1 and rows[0]["attempts"] == str(attempt)
            assert rows[0]["state"] == ("failed" if attempt == 8 else "pending")
        tries = [d for d in receiver.deliveries if d.webhook_id == rows[0]["webhook_id"]]
        assert len(tries) == 8 and {d.answered for d in tries} == {503}
        assert rows[0]["last_error"].startswith("Dropped after 8 tries. Last error: HTTP 503 (unavailable)")
        await plugin_wp.tool("deliver", "force")
        assert len([d for d in receiver.deliveries if d.webhook_id == rows[0]["webhook_id"]]) == 8
        await site.login(plugin_wp.user, plugin_wp.admin_password)
        page = await site.page()
        assert "Failed deliveries: 1" in page and rows[0]["webhook_id"] in page and "Dropped after 8 tries" in page
    finally:
        await site.rest("DELETE", f"tags/{tag['id']}", params={"force": "true"})


async def test_a_wrong_secret_is_refused_with_401_and_shown_then_fixed(
    site: Site, receiver: Receiver, plugin_wp: PluginWordPress
) -> None:
    await plugin_wp.configure(receiver.base_url, receiver.api_key, new_secret())
    tag = await site.rest("POST", "tags", status=201, json={"name": unique("Plugin secret")})
    try:
        await site.cron_until(lambda: bool(receiver.tries("term", tag["id"])))
        await site.cron()
        refused = receiver.tries("term", tag["id"])
        assert len(refused) == 1 and refused[0].answered == 401  # a 4xx is not retried
        await site.login(plugin_wp.user, plugin_wp.admin_password)
        page = await site.page()
        assert "Failed deliveries: 1" in page and refused[0].webhook_id in page
        assert "HTTP 401 (invalid_signature): &lt;b&gt;The webhook signature does not match&lt;/b&gt;" in page
        assert "<b>The webhook" not in page

        # The right secret through the form, then "Retry failed deliveries": the same webhook-id.
        saved = await site.submit(
            page,
            "option_page",
            {
                "inkflow_connector_settings[base_url]": receiver.base_url,
                "inkflow_connector_settings[webhook_secret]": receiver.secret,
            },
        )
        assert "Settings saved." in saved
        page = await site.submit(saved, "inkflow_connector_retry_failed")
        assert "1 failed delivery is queued again." in page
        await site.cron_until(lambda: bool(receiver.events("term", tag["id"], "term.created")))
        assert only(receiver.events("term", tag["id"], "term.created"))["data"]["name"] == tag["name"]
        assert receiver.events("term", tag["id"])[0].webhook_id == refused[0].webhook_id
        assert "Failed deliveries: 0" in await site.page()
    finally:
        await site.rest("DELETE", f"tags/{tag['id']}", params={"force": "true"})


async def test_settings_are_validated_secrets_never_shown_and_the_connection_tested(
    site: Site, receiver: Receiver, plugin_wp: PluginWordPress
) -> None:
    await site.login(plugin_wp.user, plugin_wp.admin_password)
    page = await site.page()
    assert receiver.secret not in page and receiver.api_key not in page
    assert 'value="' + receiver.base_url + '"' in page and f"Saved: {receiver.api_key[:8]}…" in page

    bad = {
        "inkflow_connector_settings[base_url]": "javascript:alert(1)",
        "inkflow_connector_settings[api_key]": "not a key!",
        "inkflow_connector_settings[webhook_secret]": "secret-without-prefix",
    }
    shown = await site.submit(page, "option_page", bad)
    assert "The Inkflow base URL must be an http:// or https:// address" in shown
    assert "The API key must be the ink_" in shown and "The webhook secret must be the whsec_" in shown
    assert (await plugin_wp.state())["settings"] == {
        "base_url": receiver.base_url,
        "api_key": receiver.api_key,
        "webhook_secret": receiver.secret,
    }

    tested = await site.submit(shown, "inkflow_connector_test")
    assert f"Connected: Inkflow at {receiver.base_url} accepted the API key; it knows 3 categories and tags" in tested

    other_key = "ink_" + "x" * 30
    saved = await site.submit(
        tested,
        "option_page",
        {
            "inkflow_connector_settings[base_url]": receiver.base_url + "/",
            "inkflow_connector_settings[api_key]": other_key,
        },
    )
    assert (await plugin_wp.state())["settings"]["api_key"] == other_key
    assert (await plugin_wp.state())["settings"]["base_url"] == receiver.base_url  # trailing slash dropped
    tested = await site.submit(saved, "inkflow_connector_test")
    assert (
        "Inkflow refused the API key (HTTP 401 (invalid_token): The API key is invalid or has been revoked.)" in tested
    )
    assert "Last test: failed." in tested

    await receiver.stop()
    tested = await site.submit(tested, "inkflow_connector_test")
    assert f"Could not reach Inkflow at {receiver.base_url}" in tested

    # Without the form's nonce nothing runs.
    async with site.browser.post(
        f"{plugin_wp.base_url}/wp-admin/admin-post.php", data={"action": "inkflow_connector_clear_failed"}
    ) as r:
        assert r.status == 403


async def test_the_settings_page_refuses_a_non_admin(
    site: Site, receiver: Receiver, plugin_wp: PluginWordPress
) -> None:
    login = unique("subscriber").replace(" ", "-")
    password = new_secret()
    user = await site.rest(
        "POST",
        "users",
        status=201,
        json={"username": login, "email": f"{login}@example.com", "password": password, "roles": ["subscriber"]},
    )
    try:
        await site.login(login, password)
        refused = await site.page(status=403)
        assert (
            "Sorry, you are not allowed to access this page." in refused and "inkflow_connector_settings" not in refused
        )
        await site.login(plugin_wp.user, plugin_wp.admin_password)
        admin_page = await site.page()  # an admin's nonces, replayed by the subscriber below
        await site.login(login, password)
        answer = await site.submit(admin_page, "inkflow_connector_test", status=403)
        assert "Sorry, you are not allowed to change the Inkflow settings." in answer
        for action in ("send_now", "retry_failed", "clear_failed"):
            form = {"action": f"inkflow_connector_{action}", "_wpnonce": "0123456789"}
            async with site.browser.post(f"{plugin_wp.base_url}/wp-admin/admin-post.php", data=form) as r:
                assert r.status == 403 and "not allowed to change the Inkflow settings" in await r.text()
        evil = {"inkflow_connector_settings[base_url]": "https://evil.example"}
        answer = await site.submit(admin_page, "option_page", evil, status=403)
        assert "Sorry, you are not allowed to manage options for this site." in answer
        state = await plugin_wp.state()
        assert state["settings"]["base_url"] == receiver.base_url and "last_test" not in (state["status"] or {})
    finally:
        await site.rest("DELETE", f"users/{user['id']}", params={"force": "true", "reassign": "1"})


async def test_uninstall_removes_the_options_and_the_queue(
    site: Site, receiver: Receiver, plugin_wp: PluginWordPress
) -> None:
    await receiver.stop()
    tag = await site.rest("POST", "tags", status=201, json={"name": unique("Plugin uninstall")})
    await site.rest("DELETE", f"tags/{tag['id']}", params={"force": "true"})
    await site.cron()
    before = await plugin_wp.state()
    assert before["table_exists"] and len(before["rows"]) >= 2 and before["next_scheduled"]
    assert {"inkflow_connector_settings", "inkflow_connector_status"} <= set(before["options"])

    await plugin_wp.tool("uninstall")
    after = await plugin_wp.state()
    assert after["table_exists"] is False and after["options"] == [] and after["next_scheduled"] is False
    assert after["active"] is False
    await plugin_wp.tool("activate")  # for the module's other tests
