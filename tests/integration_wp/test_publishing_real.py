"""Publishing against a real WordPress 6.1 (../shared/wp; CI starts it): a post with a featured
image, categories and tags, read back and verified; a republish that updates rather than
duplicates; a draft; the marker lookup finding drafts; a retry after a create whose answer was
lost, and two publishes at once, each leaving exactly one post.

Skips (or fails under INKFLOW_REQUIRE_SERVICES=1) without a WordPress, like the other tests here.
Everything made in WordPress has unique names and is deleted at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from models.writer import Content, Image, Taxonomy
from server.keys import SETTINGS
from services import publishing
from services.media import store_image
from services.outbound import Outbound
from services.wordpress import WordPressClient, WordPressError, WordPressTimeout
from tests.fakes.openai_server import make_png
from tests.helpers import Api, Caller
from tests.integration_wp import test_real_wordpress as real
from tests.integration_wp.test_real_wordpress import RealWordPress

# The real WordPress fixtures of the connect tests, shared (pytest finds fixtures by module name).
real_wp_settings = real.real_wp_settings
real_wp = real.real_wp
outbound = real.outbound

CONTENT = "/api/v1/writer/content"


class Cleanup:
    """What a test made in WordPress, deleted at the end whatever happened."""

    def __init__(self, wp: WordPressClient) -> None:
        self.wp = wp
        self.made: list[tuple[str, int]] = []

    def add(self, collection: str, object_id: int) -> None:
        if (collection, object_id) not in self.made:
            self.made.append((collection, object_id))

    async def run(self) -> None:
        for collection, object_id in reversed(self.made):
            with contextlib.suppress(WordPressError):  # already gone
                await self.wp.delete(collection, object_id)


@pytest.fixture
async def wordpress(real_wp: RealWordPress) -> RealWordPress:
    """The real WordPress (skips without one)."""
    return real_wp


@pytest.fixture
async def wp_client(wordpress: RealWordPress) -> AsyncIterator[WordPressClient]:
    """A client of our own, to look at what publishing did and to clean up."""
    session = Outbound(allow_private=True)
    yield real.client(session, wordpress)
    await session.close()


@pytest.fixture
async def cleanup(wp_client: WordPressClient) -> AsyncIterator[Cleanup]:
    made = Cleanup(wp_client)
    yield made
    await made.run()


async def connect(api: Api, owner: Caller, wp: RealWordPress) -> dict[str, Any]:
    site = await api.site(owner)
    body = {"site_id": site["id"], "base_url": wp.base_url, "username": wp.username, "app_password": wp.app_password}
    await api.call("POST", "/api/v1/integration/", json=body, as_=owner, status=201)
    return site


async def make_content(api: Api, owner: Caller, site_id: int, title: str, **fields: Any) -> dict[str, Any]:
    body = {"site_id": site_id, "title": title, "html": "<h2>Heading</h2><p>Body text.</p>", **fields}
    created: dict[str, Any] = (await api.call("POST", f"{CONTENT}/", json=body, as_=owner, status=201))["data"]
    return created


async def posts_with_marker(wp: WordPressClient, content_id: int) -> list[dict[str, Any]]:
    marker = publishing.content_marker(await Content.get(id=content_id))
    found = await wp.get("/wp/v2/posts", search=marker, status="any", context="edit", per_page=10)
    return [p for p in found if publishing.marker_comment(marker) in p["content"]["raw"]]


async def forget_published(cleanup: Cleanup, wp: WordPressClient, content_id: int) -> None:
    """Register the content's post, its media and its terms for deletion."""
    for post in await posts_with_marker(wp, content_id):
        cleanup.add("posts", post["id"])
        if post.get("featured_media"):
            cleanup.add("media", post["featured_media"])
    for term in await Taxonomy.filter(external_id__not_isnull=True):
        cleanup.add("categories" if term.kind == "category" else "tags", int(term.external_id or 0))


async def test_publish_with_featured_image_and_terms_is_verified_and_a_republish_updates(
    api: Api,
    wordpress: RealWordPress,
    wp_client: WordPressClient,
    cleanup: Cleanup,
) -> None:
    owner = await api.register()
    site = await connect(api, owner, wordpress)
    tag_name = f"Inkflow tag {uuid.uuid4().hex[:8]}"
    existing = await wp_client.create("tags", {"name": tag_name, "slug": f"wp-side-{uuid.uuid4().hex[:8]}"})
    cleanup.add("tags", existing["id"])
    content = await make_content(api, owner, site["id"], f"Inkflow publish {uuid.uuid4().hex[:8]}")
    row = await Content.get(id=content["id"])
    image = Image(
        account_id=row.account_id, site_id=row.site_id, content_id=row.id, kind="featured", alt_text="A real alt"
    )
    image.status = "generated"
    await store_image(api.client.app[SETTINGS], image, make_png(6, 6))
    await image.save()
    category = await Taxonomy.create(
        account_id=row.account_id,
        site_id=row.site_id,
        kind="category",
        name=f"Inkflow cat {uuid.uuid4().hex[:8]}",
        slug=f"inkflow-cat-{uuid.uuid4().hex[:8]}",
    )
    # The same name as the tag WordPress has, under another slug: found by name, not duplicated.
    tag = await Taxonomy.create(
        account_id=row.account_id, site_id=row.site_id, kind="tag", name=tag_name, slug="local-slug"
    )
    await Content.filter(id=row.id).update(featured_image_id=image.id, taxonomy_ids=[category.id, tag.id])
    try:
        path = f"{CONTENT}/{content['id']}/publish_to_wordpress/"
        item = (await api.call("POST", path, json={}, as_=owner))["data"]["items"][0]
        assert item["status"] == "published" and item["created"] is True and item["verified"] is True

        post = await wp_client.get_object("posts", item["post_id"], context="edit")
        assert post["title"]["raw"] == content["title"] and post["status"] == "publish"
        assert post["tags"] == [existing["id"]]
        created_category = await wp_client.get_object("categories", post["categories"][0])
        cleanup.add("categories", created_category["id"])
        assert created_category["name"] == category.name and created_category["slug"] == category.slug
        media = await wp_client.get_object("media", post["featured_media"], context="edit")
        cleanup.add("media", media["id"])
        assert media["alt_text"] == "A real alt" and media["media_type"] == "image"
        record = await api.call(
            "GET", "/api/v1/publisher/publish/status/", params={"content_id": content["id"]}, as_=owner
        )
        assert record["data"]["record"]["verified"] is True

        await api.call("PUT", f"{CONTENT}/{content['id']}/", json={"title": content["title"] + " v2"}, as_=owner)
        again = (await api.call("POST", path, json={}, as_=owner))["data"]["items"][0]
        assert again["post_id"] == item["post_id"] and again["created"] is False and again["verified"] is True
        assert len(await posts_with_marker(wp_client, content["id"])) == 1
        stem = (image.file_path or "").rsplit("/", 1)[-1].split(".")[0]
        assert len(await wp_client.get("/wp/v2/media", search=stem)) == 1  # the image found, not uploaded again
    finally:
        await forget_published(cleanup, wp_client, content["id"])


async def test_a_draft_is_found_by_its_marker_and_republished_as_the_same_post(
    api: Api,
    wordpress: RealWordPress,
    wp_client: WordPressClient,
    cleanup: Cleanup,
) -> None:
    owner = await api.register()
    site = await connect(api, owner, wordpress)
    content = await make_content(api, owner, site["id"], f"Inkflow draft {uuid.uuid4().hex[:8]}")
    path = f"{CONTENT}/{content['id']}/publish_to_wordpress/"
    try:
        item = (await api.call("POST", path, json={"status": "draft"}, as_=owner))["data"]["items"][0]
        post = await wp_client.get_object("posts", item["post_id"], context="edit")
        assert post["status"] == "draft" and item["verified"] is True
        (found,) = await posts_with_marker(wp_client, content["id"])  # drafts are found by the lookup
        assert found["id"] == item["post_id"]
        # Lose what we knew (as after a crash before the save): the marker still finds the draft.
        await Content.filter(id=content["id"]).update(external_id=None)
        again = (await api.call("POST", path, json={}, as_=owner))["data"]["items"][0]
        assert again["post_id"] == item["post_id"] and again["created"] is False
        assert (await wp_client.get_object("posts", item["post_id"], context="edit"))["status"] == "publish"
    finally:
        await forget_published(cleanup, wp_client, content["id"])


async def test_a_retry_after_a_create_whose_answer_was_lost_leaves_one_post(
    api: Api,
    wordpress: RealWordPress,
    wp_client: WordPressClient,
    cleanup: Cleanup,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real WordPress creates the post, the answer never comes (a timeout) and the post isn't
    found at once: the publish fails; the retry finds the post by its marker and updates it."""
    owner = await api.register()
    site = await connect(api, owner, wordpress)
    content = await make_content(api, owner, site["id"], f"Inkflow timeout {uuid.uuid4().hex[:8]}")
    real_create = WordPressClient.create
    real_find = publishing.WordPressPublisher.find_by_marker
    lost = {"create": 1, "find": 2}  # the lookup before the create, and the one after it

    async def create_then_time_out(self: WordPressClient, collection: str, fields: Any) -> dict[str, Any]:
        made = await real_create(self, collection, fields)
        if collection == "posts" and lost["create"]:
            lost["create"] -= 1
            raise WordPressTimeout(f"{self.host} did not answer within 30 s.")
        return made

    async def not_yet(self: Any, collection: str, marker: str) -> dict[str, Any] | None:
        if lost["find"]:
            lost["find"] -= 1
            return None
        return await real_find(self, collection, marker)

    monkeypatch.setattr(WordPressClient, "create", create_then_time_out)
    monkeypatch.setattr(publishing.WordPressPublisher, "find_by_marker", not_yet)
    path = f"{CONTENT}/{content['id']}/publish_to_wordpress/"
    try:
        failed = await api.call("POST", path, json={}, as_=owner, status=502)
        assert failed["code"] == "wordpress_write_unconfirmed"
        assert len(await posts_with_marker(wp_client, content["id"])) == 1  # WordPress did create it
        item = (await api.call("POST", path, json={}, as_=owner))["data"]["items"][0]
        assert item["created"] is False and item["verified"] is True
        (post,) = await posts_with_marker(wp_client, content["id"])
        assert post["id"] == item["post_id"]
    finally:
        await forget_published(cleanup, wp_client, content["id"])


async def test_two_publishes_at_once_leave_one_post(
    api: Api,
    wordpress: RealWordPress,
    wp_client: WordPressClient,
    cleanup: Cleanup,
) -> None:
    owner = await api.register()
    site = await connect(api, owner, wordpress)
    content = await make_content(api, owner, site["id"], f"Inkflow twice {uuid.uuid4().hex[:8]}")
    try:
        first, second = await asyncio.gather(
            api.call("POST", f"{CONTENT}/{content['id']}/publish_to_wordpress/", json={}, as_=owner),
            api.call("POST", "/api/v1/publisher/publish/", json={"content_ids": [content["id"]]}, as_=owner),
        )
        ids = {first["data"]["items"][0]["post_id"], second["data"]["items"][0]["post_id"]}
        assert len(ids) == 1
        assert len(await posts_with_marker(wp_client, content["id"])) == 1
    finally:
        await forget_published(cleanup, wp_client, content["id"])
