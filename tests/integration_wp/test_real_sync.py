"""Sync against the real WordPress: posts, a page and terms created through its own REST API (unique
names) are mirrored with their parents and taxonomies; an edit and a deletion reach the mirror on
the next (incremental) sync; the synced page, published back, updates that page. The WordPress is
shared: everything made here is deleted."""

from __future__ import annotations

import contextlib

from models.writer import Content, Taxonomy
from services.outbound import Outbound
from tests.helpers import Api
from tests.integration_wp.test_real_wordpress import BASE, RealWordPress, client, integration, unique


async def test_sync_mirrors_what_was_made_in_the_real_wordpress(
    api: Api, real_wp: RealWordPress, outbound: Outbound
) -> None:
    wp = client(outbound, real_wp)
    made: list[tuple[str, int]] = []
    try:
        parent = await wp.create("categories", {"name": unique("Sync parent")})
        made.append(("categories", parent["id"]))
        child = await wp.create("categories", {"name": unique("Sync child"), "parent": parent["id"]})
        made.append(("categories", child["id"]))
        tag = await wp.create("tags", {"name": unique("Sync tag")})
        made.append(("tags", tag["id"]))
        title = unique("Synced post")
        post = await wp.create(
            "posts",
            {
                "title": title,
                "content": "<p>From WordPress.</p>",
                "status": "publish",
                "categories": [child["id"]],
                "tags": [tag["id"]],
            },
        )
        made.append(("posts", post["id"]))
        draft = await wp.create("posts", {"title": unique("Synced draft"), "status": "draft"})
        made.append(("posts", draft["id"]))
        page = await wp.create("pages", {"title": unique("Synced page"), "status": "publish"})
        made.append(("pages", page["id"]))

        owner = await api.register()
        created = await integration(api, owner, real_wp)
        path = f"{BASE}{created['id']}/sync/"
        first = (await api.call("POST", path, as_=owner, params={"wait": 60}))["data"]
        assert first["job"]["status"] == "succeeded" and first["modified_after"] is None
        site_id = created["site_id"]
        terms = {t.external_id: t for t in await Taxonomy.filter(site_id=site_id)}
        assert terms[str(child["id"])].parent_id == terms[str(parent["id"])].id
        assert terms[str(tag["id"])].kind == "tag"
        row = await Content.get(site_id=site_id, external_id=str(post["id"]))
        assert (row.title, row.status, row.source, row.external_url) == (title, "published", "wordpress", post["link"])
        assert "From WordPress." in row.html
        assert sorted(row.taxonomy_ids) == sorted([terms[str(child["id"])].id, terms[str(tag["id"])].id])
        assert (await Content.get(site_id=site_id, external_id=str(draft["id"]))).status == "draft"
        assert (await Content.get(site_id=site_id, external_id=str(page["id"]))).title == page["title"]["raw"]

        await wp.update("posts", post["id"], {"title": title + " edited"})
        await wp.delete("posts", draft["id"])
        made.remove(("posts", draft["id"]))
        second = (await api.call("POST", path, as_=owner, params={"wait": 60}))["data"]
        assert second["modified_after"] is not None
        assert second["items"]["updated"] >= 1 and second["items"]["deleted"] >= 1
        await row.refresh_from_db()
        assert row.title == title + " edited"
        assert (await Content.get(site_id=site_id, external_id=str(draft["id"]))).status == "archived"
        status = (await api.call("GET", f"{BASE}{created['id']}/sync_status/", as_=owner))["data"]
        assert status["status"] == "idle" and status["items"] == second["items"]

        # The synced page, edited here and published back, is that page again, not a new post.
        synced_page = await Content.get(site_id=site_id, external_id=str(page["id"]))
        assert (synced_page.content_type, row.content_type) == ("page", "post")
        edited = unique("Edited page")
        await api.call("PUT", f"/api/v1/writer/content/{synced_page.id}/", json={"title": edited}, as_=owner)
        publish = f"/api/v1/writer/content/{synced_page.id}/publish_to_wordpress/"
        (item,) = (await api.call("POST", publish, json={}, as_=owner))["data"]["items"]
        assert (item["post_id"], item["created"], item["verified"]) == (page["id"], False, True)
        assert (await wp.get_object("pages", page["id"], context="edit"))["title"]["raw"] == edited
        assert await wp.get("/wp/v2/posts", search=edited, status="any", context="edit") == []
    finally:
        for collection, object_id in reversed(made):
            with contextlib.suppress(Exception):
                await wp.delete(collection, object_id)
