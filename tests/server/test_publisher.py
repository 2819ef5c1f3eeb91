"""Publishing (CONTRACT §9.4, §16.23) against the fake WordPress: `publish_to_wordpress/`,
`/publisher/` records (scheduled too), deployments, status, the public site definition, stage 7
of automation; the three idempotency cases (a retry after a timeout, a crash between the create
and the save, two publishes at once) each leaving exactly one post; every fault and bad input."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from config.settings import Settings
from models.billing import CreditTransaction
from models.jobs import Job
from models.publisher import Deployment, PublishingRecord
from models.writer import Content, Image, Taxonomy
from server.keys import OUTBOUND
from server.publisher import start_due_records
from services import automation, ledger, publishing
from services.media import store_image
from services.security import Crypto, utcnow
from services.wordpress import WordPressClient
from tests.automation_helpers import A as AUTOMATION
from tests.automation_helpers import run_now, wait_job, wait_until
from tests.conftest import TEST_FERNET, TEST_SECRET
from tests.fakes.openai_server import make_png
from tests.fakes.wordpress_server import OLD_DATE, FakeWordPress
from tests.helpers import Api, Caller

PUBLISHER = "/api/v1/publisher"
CONTENT = "/api/v1/writer/content"
POSTS = "/wp/v2/posts"


def publish_path(content_id: int) -> str:
    return f"{CONTENT}/{content_id}/publish_to_wordpress/"


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    # Short WordPress timeouts so the timeout faults take a second, not thirty.
    return make_settings(wordpress_timeout=1.0)


@dataclass
class Setup:
    site: dict[str, Any]
    integration: dict[str, Any]


async def connect(api: Api, owner: Caller, wp: FakeWordPress, **overrides: Any) -> Setup:
    site = await api.site(owner)
    body = {"site_id": site["id"], "base_url": wp.base_url, "username": wp.username, "app_password": wp.app_password}
    created = await api.call("POST", "/api/v1/integration/", json={**body, **overrides}, as_=owner, status=201)
    return Setup(site, created["data"])


@pytest.fixture
async def setup(api: Api, owner: Caller, wp: FakeWordPress) -> Setup:
    return await connect(api, owner, wp)


async def make_content(api: Api, owner: Caller, site_id: int, **fields: Any) -> dict[str, Any]:
    body = {
        "site_id": site_id,
        "title": fields.pop("title", "Lions of the Savanna"),
        "html": fields.pop("html", "<h2>Lions</h2><p>Lions live in prides.</p>"),
        "meta_title": "Lions",
        "meta_description": "All about lions.",
        "primary_keyword": "lions",
        **fields,
    }
    content: dict[str, Any] = (await api.call("POST", f"{CONTENT}/", json=body, as_=owner, status=201))["data"]
    return content


async def add_image(app_settings: Settings, content_id: int, *, kind: str = "in_article", position: int = 0) -> Image:
    content = await Content.get(id=content_id)
    image = Image(
        account_id=content.account_id,
        site_id=content.site_id,
        content_id=content.id,
        kind=kind,
        position=position,
        alt_text=f"A {kind} lion",
        status="generated",
    )
    await store_image(app_settings, image, make_png(4, 4))
    await image.save()
    if kind == "featured":
        await Content.filter(id=content.id).update(featured_image_id=image.id)
    else:
        html = content.html + f'<img src="{image.url}" alt="{image.alt_text}">'
        await Content.filter(id=content.id).update(html=html)
    return image


async def add_term(content_id: int, kind: str, name: str, slug: str, **fields: Any) -> Taxonomy:
    content = await Content.get(id=content_id)
    term = await Taxonomy.create(
        account_id=content.account_id, site_id=content.site_id, kind=kind, name=name, slug=slug, **fields
    )
    await Content.filter(id=content.id).update(taxonomy_ids=[*content.taxonomy_ids, term.id])
    return term


def posts_with(wp: FakeWordPress, marker: str) -> list[dict[str, Any]]:
    return [p for p in wp.objects["posts"].values() if marker in p["content"]["raw"]]


async def marker_of(content_id: int) -> str:
    return publishing.content_marker(await Content.get(id=content_id))


# --- publishing --------------------------------------------------------------------------------


async def test_publish_creates_the_post_with_images_and_terms_and_verifies_it_read_back(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup, settings: Settings
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    featured = await add_image(settings, content["id"], kind="featured")
    inline = await add_image(settings, content["id"], position=1)
    # In WordPress already: a category with another slug (found by name) and a tag with this slug.
    wp_category = wp.add_term("categories", "Land Mammals", slug="mammals-on-land")
    wp_tag = wp.add_term("tags", "Big cats", slug="big-cats")
    await add_term(content["id"], "category", "Land Mammals", "land-mammals")
    await add_term(content["id"], "tag", "Big Cats!", "big-cats")
    new_tag = await add_term(content["id"], "tag", "Prides", "prides")
    balance = await ledger.balance(owner.account["id"])
    transactions = await CreditTransaction.filter(account_id=owner.account["id"]).count()

    body = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]

    (item,) = body["items"]
    assert item["status"] == "published" and item["created"] is True and item["verified"] is True
    assert body["job"]["status"] == "succeeded" and body["job"]["kind"] == "publish"
    (post,) = wp.objects["posts"].values()
    assert item["post_id"] == post["id"] and item["url"] == post["link"]
    assert post["title"]["raw"] == "Lions of the Savanna" and post["status"] == "publish"
    assert post["slug"] == content["slug"]
    # Terms: by name and by slug, never a duplicate ("land-mammals-2"); the missing one created.
    assert sorted(wp.terms["categories"]) == sorted([1, wp_category["id"]])
    assert post["categories"] == [wp_category["id"]]
    created_tag = next(t for t in wp.terms["tags"].values() if t["slug"] == "prides")
    assert sorted(post["tags"]) == sorted([wp_tag["id"], created_tag["id"]]) and len(wp.terms["tags"]) == 2
    assert (await Taxonomy.get(id=new_tag.id)).external_id == str(created_tag["id"])
    # Images: uploaded with their bytes and alt text; the featured one is featured_media; the
    # in-article one points at the media library instead of this server.
    media = {m["id"]: m for m in wp.objects["media"].values()}
    assert len(media) == 2
    assert wp.files[post["featured_media"]] == (settings.media_dir / (featured.file_path or "")).read_bytes()
    assert media[post["featured_media"]]["alt_text"] == "A featured lion"
    inline_media = next(m for m in media.values() if m["id"] != post["featured_media"])
    assert inline_media["source_url"] in post["content"]["raw"] and str(inline.url) not in post["content"]["raw"]
    assert publishing.marker_comment(await marker_of(content["id"])) in post["content"]["raw"]
    # Stored: the content, the record (verified) and the deployment; no credits moved.
    row = await Content.get(id=content["id"])
    assert (row.status, row.external_id, row.external_url) == ("published", str(post["id"]), post["link"])
    record = await PublishingRecord.get(content_id=content["id"])
    assert record.status == "published" and record.verified is True and record.external_id == str(post["id"])
    assert set(record.verification["checks"]) == {"title", "status", "featured_media", "categories", "tags"}
    deployment = await Deployment.get(job_id=body["job"]["id"])
    assert deployment.status == "succeeded" and deployment.content_ids == [content["id"]]
    assert deployment.summary["published"] == 1 and deployment.summary["verified"] == 1
    assert await ledger.balance(owner.account["id"]) == balance
    assert await CreditTransaction.filter(account_id=owner.account["id"]).count() == transactions


async def test_a_republish_updates_the_post_rather_than_making_a_second(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup, settings: Settings
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    await add_image(settings, content["id"], kind="featured")
    first = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    await api.call("PUT", f"{CONTENT}/{content['id']}/", json={"title": "Lions, revised"}, as_=owner)

    second = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]

    assert second["post_id"] == first["post_id"] and second["created"] is False and second["verified"] is True
    assert len(wp.objects["posts"]) == 1 and len(wp.objects["media"]) == 1  # the image found, not re-uploaded
    assert wp.objects["posts"][first["post_id"]]["title"]["raw"] == "Lions, revised"
    assert len(wp.rest_calls(POSTS, "POST")) == 1


async def test_publish_as_draft_leaves_a_wordpress_draft_and_the_content_status(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"], status="review")
    body = (await api.call("POST", publish_path(content["id"]), json={"status": "draft"}, as_=owner))["data"]
    (post,) = wp.objects["posts"].values()
    assert post["status"] == "draft" and body["items"][0]["verified"] is True
    row = await Content.get(id=content["id"])
    assert row.status == "review" and row.external_id == str(post["id"])
    record = await PublishingRecord.get(content_id=content["id"])
    assert record.post_status == "draft" and record.verification["checks"]["status"]["found"] == "draft"


async def test_a_post_deleted_in_wordpress_is_published_again(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    first = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    del wp.objects["posts"][first["post_id"]]
    second = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    assert second["created"] is True and list(wp.objects["posts"]) == [second["post_id"]]
    assert (await Content.get(id=content["id"])).external_id == str(second["post_id"])


async def test_seo_fields_go_to_yoast_meta_and_rank_math_where_the_site_has_them(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    wp.seo_plugins = {"yoast", "rankmath"}
    await api.call("POST", f"/api/v1/integration/{setup.integration['id']}/update_structure/", as_=owner)
    content = await make_content(api, owner, setup.site["id"])
    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    post = wp.objects["posts"][item["post_id"]]
    assert post["meta"]["_yoast_wpseo_title"] == "Lions" and post["meta"]["_yoast_wpseo_focuskw"] == "lions"
    assert wp.rank_math_meta[post["id"]]["rank_math_description"] == "All about lions."
    record = await PublishingRecord.get(content_id=content["id"])
    assert record.verification["seo"]["rankmath"]["ok"] is True


async def test_without_seo_plugins_no_seo_fields_are_sent(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    await api.call("POST", publish_path(content["id"]), json={}, as_=owner)
    (post,) = wp.objects["posts"].values()
    assert post["meta"] == [] and not wp.rest_calls("/rankmath/v1/updateMeta")


# --- never a second post --------------------------------------------------------------------------


async def test_a_create_whose_answer_is_dropped_after_the_write_leaves_one_post(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    wp.fail_on("POST", POSTS, "drop_after_write")
    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    marker = await marker_of(content["id"])
    (post,) = posts_with(wp, marker)
    assert item["status"] == "published" and item["post_id"] == post["id"] and item["verified"] is True
    assert len(wp.rest_calls(POSTS, "POST")) == 1  # found by the marker, not created again


async def test_a_create_that_times_out_after_the_write_leaves_one_post(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    wp.fail_on("POST", POSTS, "slow_after_write", seconds=3)
    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    assert item["status"] == "published"
    assert len(posts_with(wp, await marker_of(content["id"]))) == 1 and len(wp.objects["posts"]) == 1


async def test_a_retry_after_a_timeout_finds_the_post_instead_of_creating_another(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    """The create times out and the post is not there yet (WordPress still at it): the publish
    fails rather than risk a second create; the retry finds the post by its marker."""
    content = await make_content(api, owner, setup.site["id"])
    wp.fail_on("POST", POSTS, "slow", seconds=3)  # answered late: the client gives up first
    failed = await api.call("POST", publish_path(content["id"]), json={}, as_=owner, status=502)
    assert failed["code"] == "wordpress_write_unconfirmed" and failed["job"]["status"] == "failed"
    record = await PublishingRecord.get(content_id=content["id"])
    assert record.status == "failed" and "second post" in (record.error or "")
    # WordPress finished the slow create meanwhile (as a real one can): the retry must find it.
    wp.add_post(title="Lions of the Savanna", content=f"<p>x</p>\n{publishing.marker_comment(record.marker or '')}")

    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    assert item["status"] == "published" and item["created"] is False
    assert len(wp.objects["posts"]) == 1 and (await Content.get(id=content["id"])).external_id == str(item["post_id"])


async def test_a_crash_between_the_create_and_the_save_leaves_one_post(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    real_save = publishing.save_published
    crashes = [RuntimeError("the process died")]

    async def crash_once(*args: Any) -> None:
        if crashes:
            raise crashes.pop()
        await real_save(*args)

    monkeypatch.setattr(publishing, "save_published", crash_once)
    failed = await api.call("POST", publish_path(content["id"]), json={}, as_=owner, status=502)
    assert failed["job"]["status"] == "failed"
    assert len(wp.objects["posts"]) == 1 and (await Content.get(id=content["id"])).external_id is None

    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    assert item["created"] is False and list(wp.objects["posts"]) == [item["post_id"]]
    assert (await Content.get(id=content["id"])).external_id == str(item["post_id"])


async def test_two_publishes_at_once_leave_one_post(api: Api, owner: Caller, wp: FakeWordPress, setup: Setup) -> None:
    content = await make_content(api, owner, setup.site["id"])
    wp.always("slow", seconds=0.05)  # each request takes a while, so the two jobs would overlap
    first, second = await asyncio.gather(
        api.call("POST", publish_path(content["id"]), json={}, as_=owner),
        api.call("POST", f"{PUBLISHER}/publish/", json={"content_ids": [content["id"]]}, as_=owner),
    )
    items = [first["data"]["items"][0], second["data"]["items"][0]]
    assert {i["status"] for i in items} == {"published"} and items[0]["post_id"] == items[1]["post_id"]
    assert len(wp.objects["posts"]) == 1 and len(wp.rest_calls(POSTS, "POST")) == 1


# --- faults ---------------------------------------------------------------------------------------


async def test_a_500_on_the_create_fails_the_publish_and_the_next_one_publishes_once(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    wp.fail_on("POST", POSTS, "500")
    failed = await api.call("POST", publish_path(content["id"]), json={}, as_=owner, status=502)
    assert failed["code"] == "wordpress_write_unconfirmed" and "500" in failed["error"]
    assert not wp.objects["posts"] and (await Content.get(id=content["id"])).status == "draft"
    await api.call("POST", publish_path(content["id"]), json={}, as_=owner)
    assert len(wp.objects["posts"]) == 1


async def test_a_429_with_retry_after_on_the_create_is_waited_out(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    wp.fail_on("POST", POSTS, "429", retry_after=1)
    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    assert item["status"] == "published" and len(wp.objects["posts"]) == 1
    assert len(wp.rest_calls(POSTS, "POST")) == 2  # the 429, then the create after Retry-After


async def test_a_media_upload_whose_answer_is_lost_is_found_not_uploaded_twice(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup, settings: Settings
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    await add_image(settings, content["id"], kind="featured")
    wp.fail_on("POST", "/wp/v2/media", "drop_after_write")
    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    (media,) = wp.objects["media"].values()
    assert item["verified"] is True and wp.objects["posts"][item["post_id"]]["featured_media"] == media["id"]
    assert media["alt_text"] == "A featured lion"


async def test_wordpress_refusing_the_password_is_a_400_naming_it(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    wp.app_password = "wxyz WXYZ wxyz WXYZ wxyz WXYZ"
    body = await api.call("POST", publish_path(content["id"]), json={}, as_=owner, status=400)
    assert body["code"] == "wordpress_auth_failed" and "application password" in body["error"]
    assert (await PublishingRecord.get(content_id=content["id"])).status == "failed"


async def test_a_slow_wordpress_read_is_retried(api: Api, owner: Caller, wp: FakeWordPress, setup: Setup) -> None:
    content = await make_content(api, owner, setup.site["id"])
    wp.fail_on("GET", POSTS, "slow", seconds=3)  # the marker lookup times out once, then answers
    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    assert item["status"] == "published" and len(wp.objects["posts"]) == 1


# --- bad input: a clear 4xx, WordPress never called, nothing stored ---------------------------------


async def test_bad_publish_requests_are_refused_before_wordpress_is_called(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup, settings: Settings
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    image = await add_image(settings, content["id"], kind="featured")
    (settings.media_dir / (image.file_path or "")).unlink()
    stranger = await api.register()
    theirs = await make_content(api, stranger, (await connect(api, stranger, wp)).site["id"])
    bare = await make_content(api, owner, (await api.site(owner))["id"])  # a site without integration
    other = await make_content(api, owner, (await connect(api, owner, wp)).site["id"])
    key = {"Authorization": f"ApiKey {setup.integration['api_key']}"}
    calls_before = len(wp.rest_calls())

    missing = await api.call("POST", publish_path(content["id"]), json={}, as_=owner, status=400)
    assert missing["code"] == "image_file_missing"
    assert list(missing["errors"]) == [f"images[{image.id}].file_path"]
    for path, body, status, code in [
        (publish_path(999_999), {}, 404, "not_found"),
        (publish_path(theirs["id"]), {}, 404, "not_found"),
        (publish_path(other["id"]), {}, 404, "not_found"),  # the site key's caller: another site
        (publish_path(content["id"]), {"status": "future"}, 400, "validation_error"),
        (publish_path(content["id"]), {"destination": "ghost"}, 400, "validation_error"),
        (publish_path(bare["id"]), {}, 400, "integration_not_configured"),
        (f"{PUBLISHER}/publish/", {"content_ids": []}, 400, "validation_error"),
        (f"{PUBLISHER}/publish/", {"content_ids": [theirs["id"]]}, 404, "not_found"),
        (f"{PUBLISHER}/publish/", {"content_ids": [content["id"], other["id"]]}, 400, "validation_error"),
    ]:
        as_key = path == publish_path(other["id"])
        answer = await api.call(
            "POST", path, json=body, as_=None if as_key else owner, headers=key if as_key else None, status=status
        )
        assert answer["code"] == code, (path, body, answer)
    assert len(wp.rest_calls()) == calls_before
    assert not await PublishingRecord.all().count() and not await Job.filter(kind="publish").count()


async def test_an_inactive_integration_is_no_integration(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    await api.call("PUT", f"/api/v1/integration/{setup.integration['id']}/", json={"is_active": False}, as_=owner)
    content = await make_content(api, owner, setup.site["id"])
    body = await api.call("POST", publish_path(content["id"]), json={}, as_=owner, status=400)
    assert body["code"] == "integration_not_configured" and "site_id" in body["errors"]


async def test_roles_module_switch_and_the_site_key(api: Api, owner: Caller, wp: FakeWordPress, setup: Setup) -> None:
    content = await make_content(api, owner, setup.site["id"])
    viewer = await api.member(owner, "viewer")
    assert (await api.call("POST", publish_path(content["id"]), json={}, as_=viewer, status=403))["code"] == (
        "permission_denied"
    )
    await api.call("GET", f"{PUBLISHER}/records/", as_=viewer)
    key = {"Authorization": f"ApiKey {setup.integration['api_key']}"}
    item = (await api.call("POST", publish_path(content["id"]), json={}, headers=key))["data"]["items"][0]
    assert item["status"] == "published"
    await api.call("PUT", "/api/v1/system/modules/", json={"publisher": False}, as_=owner)
    for method, path in [
        ("POST", publish_path(content["id"])),
        ("POST", f"{PUBLISHER}/publish/"),
        ("GET", f"{PUBLISHER}/records/"),
        ("GET", f"{PUBLISHER}/deployments/"),
    ]:
        body = await api.call(method, path, json={} if method == "POST" else None, as_=owner, status=403)
        assert body["code"] == "module_disabled"


# --- records, the scheduler, deployments, status ------------------------------------------------------


async def wait_for_job(job_id: int, timeout: float = 15.0) -> Job:
    async def finished() -> Job:
        while True:
            job = await Job.get(id=job_id)
            if job.status in ("succeeded", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(finished(), timeout)


async def test_a_record_without_a_time_is_published_now(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    record = (
        await api.call(
            "POST",
            f"{PUBLISHER}/records/",
            json={"content_id": content["id"], "status": "draft"},
            as_=owner,
            status=201,
        )
    )["data"]
    assert record["status"] == "pending" and record["job_id"] is not None and record["post_status"] == "draft"
    assert (await wait_for_job(record["job_id"])).status == "succeeded"
    (post,) = wp.objects["posts"].values()
    assert post["status"] == "draft"
    shown = (await api.call("GET", f"{PUBLISHER}/records/{record['id']}/", as_=owner))["data"]
    assert shown["status"] == "published" and shown["verified"] is True and shown["external_id"] == str(post["id"])


async def test_a_scheduled_record_is_published_by_the_scheduler_when_due(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup, client: TestClient
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    when = (utcnow() + timedelta(hours=1)).isoformat()
    record = (
        await api.call(
            "POST",
            f"{PUBLISHER}/records/",
            json={"content_id": content["id"], "scheduled_at": when},
            as_=owner,
            status=201,
        )
    )["data"]
    assert record["status"] == "pending" and record["job_id"] is None and record["scheduled_at"]
    assert await start_due_records(client.app) == 0 and not wp.objects["posts"]

    await PublishingRecord.filter(id=record["id"]).update(scheduled_at=utcnow() - timedelta(seconds=1))
    assert await start_due_records(client.app) == 1
    assert await start_due_records(client.app) == 0  # claimed once, never twice
    row = await PublishingRecord.get(id=record["id"])
    assert (await wait_for_job(row.job_id or 0)).status == "succeeded"
    await row.refresh_from_db()
    assert row.status == "published" and len(wp.objects["posts"]) == 1
    assert (await Content.get(id=content["id"])).status == "published"


async def test_bad_records_are_refused(api: Api, owner: Caller, wp: FakeWordPress, setup: Setup) -> None:
    content = await make_content(api, owner, setup.site["id"])
    stranger = await api.register()
    theirs = await make_content(api, stranger, (await connect(api, stranger, wp)).site["id"])
    past = (utcnow() - timedelta(minutes=5)).isoformat()
    for body, status, code in [
        ({"content_id": content["id"], "scheduled_at": past}, 400, "validation_error"),
        ({"content_id": content["id"], "scheduled_at": "tomorrow"}, 400, "validation_error"),
        ({"content_id": content["id"], "status": "live"}, 400, "validation_error"),
        ({"content_id": theirs["id"]}, 400, "validation_error"),
        ({"content_id": 999_999}, 400, "validation_error"),
        ({}, 400, "validation_error"),
    ]:
        answer = await api.call("POST", f"{PUBLISHER}/records/", json=body, as_=owner, status=status)
        assert answer["code"] == code, body
    errors = (
        await api.call(
            "POST",
            f"{PUBLISHER}/records/",
            json={"content_id": content["id"], "scheduled_at": past},
            as_=owner,
            status=400,
        )
    )["errors"]
    assert "scheduled_at" in errors
    assert not await PublishingRecord.filter(account_id=owner.account["id"]).count() and not wp.rest_calls(POSTS)


async def test_records_deployments_and_status_lists(api: Api, owner: Caller, wp: FakeWordPress, setup: Setup) -> None:
    one = await make_content(api, owner, setup.site["id"], title="One")
    two = await make_content(api, owner, setup.site["id"], title="Two")
    wp.fail_on("POST", POSTS, "500")  # the first content fails, the second publishes
    body = (
        await api.call(
            "POST", f"{PUBLISHER}/publish/", json={"content_ids": [one["id"], two["id"], 999_999]}, as_=owner
        )
    )["data"]
    assert [i["status"] for i in body["items"]] == ["failed", "published"] and body["not_found"] == [999_999]
    job_id = body["job"]["id"]

    deployments = (await api.call("GET", f"{PUBLISHER}/deployments/", as_=owner))["results"]
    (deployment,) = deployments
    assert deployment["job_id"] == job_id and deployment["content_ids"] == [one["id"], two["id"]]
    assert deployment["status"] == "succeeded" and deployment["summary"]["published"] == 1
    assert deployment["summary"]["failed"] == 1 and deployment["summary"]["not_found"] == [999_999]
    shown = (await api.call("GET", f"{PUBLISHER}/deployments/{deployment['id']}/", as_=owner))["data"]
    assert shown == deployment

    await api.assert_filters(
        f"{PUBLISHER}/records/",
        owner,
        [({"content_id": one["id"]}, {r.id for r in await PublishingRecord.filter(content_id=one["id"])})],
    )
    failed = (await api.call("GET", f"{PUBLISHER}/records/", params={"status": "failed"}, as_=owner))["results"]
    assert [r["content_id"] for r in failed] == [one["id"]] and failed[0]["error"]

    by_job = (await api.call("GET", f"{PUBLISHER}/publish/status/", params={"job_id": job_id}, as_=owner))["data"]
    assert by_job["job"]["id"] == job_id and {r["content_id"] for r in by_job["records"]} == {one["id"], two["id"]}
    by_content = (await api.call("GET", f"{PUBLISHER}/publish/status/", params={"content_id": two["id"]}, as_=owner))[
        "data"
    ]
    assert by_content["record"]["status"] == "published" and by_content["job"]["id"] == job_id
    never = await make_content(api, owner, setup.site["id"], title="Never")
    empty = await api.call("GET", f"{PUBLISHER}/publish/status/", params={"content_id": never["id"]}, as_=owner)
    assert empty["data"] == {"record": None, "job": None}

    stranger = await api.register()
    for params, status in [
        ({}, 400),
        ({"job_id": job_id, "content_id": one["id"]}, 400),
        ({"job_id": "x"}, 400),
        ({"job_id": job_id}, 404),
        ({"content_id": one["id"]}, 404),
    ]:
        await api.call(
            "GET",
            f"{PUBLISHER}/publish/status/",
            params=params,
            as_=owner if status == 400 else stranger,
            status=status,
        )
    assert (await api.call("GET", f"{PUBLISHER}/deployments/", as_=stranger))["count"] == 0
    await api.call("GET", f"{PUBLISHER}/deployments/{deployment['id']}/", as_=stranger, status=404)
    assert (await api.call("GET", f"{PUBLISHER}/records/", as_=stranger))["count"] == 0


# --- the public site definition ------------------------------------------------------------------------


async def test_the_site_definition_is_public_shows_published_content_only_and_is_cacheable(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup, client: TestClient, settings: Settings
) -> None:
    published = await make_content(api, owner, setup.site["id"], title="Published one")
    await add_image(settings, published["id"], kind="featured")
    parent = await add_term(published["id"], "category", "Animals", "animals")
    await add_term(published["id"], "category", "Cats", "cats", parent_id=parent.id)
    await make_content(api, owner, setup.site["id"], title="Still a draft")
    await api.call("POST", publish_path(published["id"]), json={}, as_=owner)
    path = f"{PUBLISHER}/site-definition/"
    slug = setup.site["slug"]

    body = await api.call("GET", path, params={"site": slug})  # no credentials
    data = body["data"]
    assert data["site"] == {"name": setup.site["name"], "domain": setup.site["domain"], "slug": slug}
    assert [p["title"] for p in data["posts"]] == ["Published one"] and data["pages"] == []
    (post,) = data["posts"]
    assert post["categories"] == ["animals", "cats"] and post["url"].startswith(wp.base_url)
    assert post["featured_image"]["alt_text"] == "A featured lion" and post["meta"]["description"] == "All about lions."
    assert data["navigation"] == [
        {"name": "Animals", "slug": "animals", "children": [{"name": "Cats", "slug": "cats", "children": []}]}
    ]
    etag = api.last_headers["ETag"]
    assert etag and "max-age" in api.last_headers["Cache-Control"]

    again = await client.get(path, params={"site": slug}, headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b"" and again.headers["ETag"] == etag
    await api.call("PUT", f"{CONTENT}/{published['id']}/", json={"title": "Renamed"}, as_=owner)
    changed = await client.get(path, params={"site": slug}, headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag

    for params, status in [({"site": "no-such-site"}, 404), ({}, 400), ({"site": ""}, 400)]:
        await api.call("GET", path, params=params, status=status)
    await api.call("PUT", "/api/v1/system/modules/", json={"publisher": False}, as_=owner)
    await api.call("GET", path, params={"site": slug}, status=404)


async def test_a_site_definition_of_more_contents_than_a_statement_has_parameters(
    api: Api, owner: Caller, setup: Setup, settings: Settings
) -> None:
    """The images were read by a list of every published content's id, one bind parameter each: a
    site of more published contents than a statement may have parameters (32,767 on PostgreSQL,
    32,766 on SQLite) answered 500."""
    site = setup.site
    rows = [
        Content(account_id=owner.account["id"], site_id=site["id"], title=f"P{n}", slug=f"p{n}", status="published")
        for n in range(33_000)
    ]
    await Content.bulk_create(rows, batch_size=2_000)
    pictured = await Content.get(site_id=site["id"], slug="p7")
    await add_image(settings, pictured.id, kind="featured")

    data = (await api.call("GET", f"{PUBLISHER}/site-definition/", params={"site": site["slug"]}))["data"]
    assert len(data["posts"]) == 33_000
    assert [post["slug"] for post in data["posts"] if post["featured_image"]] == ["p7"]


# --- automation stage 7 ---------------------------------------------------------------------------


async def test_stage_7_publishes_through_wordpress_when_the_site_has_an_integration(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup, client: TestClient, settings: Settings
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    job = await Job.create(account_id=owner.account["id"], site_id=setup.site["id"], kind="automation", params={})
    context = publishing.PublishContext(settings, Crypto(TEST_SECRET, TEST_FERNET, 900), client.app[OUTBOUND])

    draft = await automation.deliver(context, job.id, content["id"], "draft")
    assert draft.status == "review" and not wp.rest_calls(POSTS)
    delivered = await automation.deliver(context, job.id, content["id"], "publish")
    await delivered.write()
    assert delivered.status == "published" and len(wp.objects["posts"]) == 1
    assert (await Content.get(id=content["id"])).status == "published"
    assert (await PublishingRecord.get(content_id=content["id"])).job_id == job.id

    bare = await make_content(api, owner, (await api.site(owner))["id"])
    without = await automation.deliver(context, job.id, bare["id"], "publish")
    await without.write()
    assert without.status == "review" and (await Content.get(id=bare["id"])).status == "review"


async def test_a_term_wordpress_says_exists_is_used_not_duplicated(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A term made in WordPress between our lookup and our create: WordPress answers 400
    `term_exists` with its id, which is used (no "land-mammals-2")."""
    content = await make_content(api, owner, setup.site["id"])
    existing = wp.add_term("categories", "Land Mammals", slug="land-mammals")
    await add_term(content["id"], "category", "Land Mammals", "land-mammals-local")

    async def not_found(self: Any, rest: str, row: Taxonomy) -> None:
        return None  # the lookup missed it (made meanwhile)

    monkeypatch.setattr(publishing.WordPressPublisher, "_find_term", not_found)
    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    assert wp.objects["posts"][item["post_id"]]["categories"] == [existing["id"]] and item["verified"] is True
    assert len(wp.terms["categories"]) == 2  # Uncategorized and the one that existed
    (call,) = wp.rest_calls("/wp/v2/categories", "POST")
    assert b"Land Mammals" in call["body"]


async def test_an_automation_run_publishes_ready_content_through_the_integration(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    """Stage 7 of a run with `publish_status: publish` on a site with an integration: each
    ready content is a post; one that fails (a 500 on its create) stays draft for the next run."""
    site_id = setup.site["id"]
    ready = await make_content(api, owner, site_id, title="Ready one")
    unlucky = await make_content(api, owner, site_id, title="Unlucky one")
    stages = dict.fromkeys(["clustering", "ideas", "tasks", "content", "image_prompts", "images"], False)
    config = {"stages": {**stages, "publish": True}, "publish_status": "publish"}
    await api.call("PUT", f"{AUTOMATION}/update_config/", params={"site_id": site_id}, json=config, as_=owner)
    # A run needs an AI key set, though stage 7 calls no model.
    await api.call("PUT", "/api/v1/system/settings/integrations/openai/", json={"api_key": "sk-unused"}, as_=owner)
    wp.fail_on("POST", POSTS, "500")  # the first create (the oldest content: `ready`) fails

    run = await run_now(api, owner, site_id)
    job = await wait_job(run["job_id"], "succeeded", "failed")

    assert job.status == "succeeded" and job.credits_used == 0
    assert (await Content.get(id=ready["id"])).status == "draft"
    published = await Content.get(id=unlucky["id"])
    assert published.status == "published" and list(wp.objects["posts"]) == [int(published.external_id or 0)]
    records = {r.content_id: r for r in await PublishingRecord.filter(job_id=job.id)}
    assert records[unlucky["id"]].status == "published" and records[unlucky["id"]].verified is True
    assert records[ready["id"]].status == "failed"
    history = (await api.call("GET", f"{AUTOMATION}/history/", params={"site_id": site_id}, as_=owner))["results"]
    stage = history[0]["stages"][6]
    assert (stage["stage"], stage["processed"], stage["failed"]) == ("publish", 2, 1)


async def test_content_synced_back_with_its_marker_keeps_one_marker(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    await api.call("POST", publish_path(content["id"]), json={}, as_=owner)
    (post,) = wp.objects["posts"].values()
    # As a sync from WordPress would store it: the post's HTML, marker included.
    await Content.filter(id=content["id"]).update(html=post["content"]["raw"])
    await api.call("POST", publish_path(content["id"]), json={}, as_=owner)
    marker = publishing.marker_comment(await marker_of(content["id"]))
    assert post["content"]["raw"].count(marker) == 1 and len(wp.objects["posts"]) == 1


async def test_a_post_that_reads_back_differently_is_recorded_unverified(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WordPress may change what it was sent (a filter on the title, a plugin dropping a tag):
    the publish succeeds, and the record says what differs."""
    content = await make_content(api, owner, setup.site["id"])
    await add_term(content["id"], "tag", "Prides", "prides")
    real_get = WordPressClient.get_object

    async def altered(self: WordPressClient, collection: str, object_id: int, **params: Any) -> dict[str, Any]:
        post = await real_get(self, collection, object_id, **params)
        if collection == "posts":
            post = {**post, "title": {"raw": "Lions of the Savanna (edited)"}, "tags": []}
        return post

    monkeypatch.setattr(WordPressClient, "get_object", altered)
    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    assert item["status"] == "published" and item["verified"] is False
    record = (await api.call("GET", f"{PUBLISHER}/records/", as_=owner))["results"][0]
    checks = record["verification"]["checks"]
    assert record["verified"] is False and checks["status"]["ok"] is True
    assert checks["title"] == {
        "ok": False,
        "expected": "Lions of the Savanna",
        "found": "Lions of the Savanna (edited)",
    }
    assert checks["tags"]["ok"] is False and checks["tags"]["found"] == []


async def test_an_external_id_naming_someone_elses_post_never_overwrites_it(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    """The integration was pointed at another site, where the stored post id is another post."""
    content = await make_content(api, owner, setup.site["id"])
    theirs = wp.add_post(title="Someone else's post", content="<p>Theirs.</p>")
    await Content.filter(id=content["id"]).update(external_id=str(theirs["id"]))
    item = (await api.call("POST", publish_path(content["id"]), json={}, as_=owner))["data"]["items"][0]
    assert item["created"] is True and item["post_id"] != theirs["id"]
    assert wp.objects["posts"][theirs["id"]]["title"]["raw"] == "Someone else's post"
    assert (await Content.get(id=content["id"])).external_id == str(item["post_id"])


# --- pages ------------------------------------------------------------------------------------------


async def test_a_page_synced_from_wordpress_and_published_back_updates_that_page(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    """WordPress's posts and pages share one id sequence, but not one REST collection: the page's
    id asked of `posts` is a 404, which once made the publish create a second copy as a post."""
    page = wp.add_post("pages", title="About us", slug="about-us", content="<p>Who we are.</p>", status="publish")
    integration = setup.integration["id"]
    await api.call("POST", f"/api/v1/integration/{integration}/sync/", as_=owner, params={"wait": 30})
    pages = {"site_id": setup.site["id"], "content_type": "page"}
    listed = await api.call("GET", f"{CONTENT}/", params=pages, as_=owner)
    (synced,) = listed["results"]
    assert synced["external_id"] == str(page["id"]) and synced["content_type"] == "page"

    await api.call("PUT", f"{CONTENT}/{synced['id']}/", json={"title": "About our team"}, as_=owner)
    item = (await api.call("POST", publish_path(synced["id"]), json={}, as_=owner))["data"]["items"][0]
    assert item["created"] is False and item["post_id"] == page["id"] and item["verified"] is True
    assert wp.objects["posts"] == {} and list(wp.objects["pages"]) == [page["id"]]
    assert wp.objects["pages"][page["id"]]["title"]["raw"] == "About our team"


async def test_a_page_mirrored_as_a_post_before_content_types_is_typed_by_the_next_sync(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    """Migration 10 typed every synced row `post`: the next sync's list of ids tells the pages, and a
    synced post typed `product` here keeps that type (WordPress has it in posts all the same)."""
    # The page last changed long ago: the next (incremental) sync doesn't read it again.
    page = wp.add_post("pages", title="About us", content="<p>Who we are.</p>", status="publish", modified_gmt=OLD_DATE)
    post = wp.add_post("posts", title="News", slug="news", content="<p>News.</p>", status="publish")
    sync = f"/api/v1/integration/{setup.integration['id']}/sync/"
    await api.call("POST", sync, as_=owner, params={"wait": 30})
    as_page = await Content.get(site_id=setup.site["id"], external_id=str(page["id"]))
    as_post = await Content.get(site_id=setup.site["id"], external_id=str(post["id"]))
    await Content.filter(id=as_page.id).update(content_type="post")  # as the migration left it
    await api.call("PUT", f"{CONTENT}/{as_post.id}/", json={"content_type": "product"}, as_=owner)
    wp.objects["posts"][post["id"]]["title"]["raw"] = "News, edited"  # so the next sync applies it

    await api.call("POST", sync, as_=owner, params={"wait": 30})
    assert (await Content.get(id=as_page.id)).content_type == "page"
    assert (await Content.get(id=as_post.id)).content_type == "product"
    await api.call("POST", publish_path(as_page.id), json={}, as_=owner)
    assert list(wp.objects["posts"]) == [post["id"]] and list(wp.objects["pages"]) == [page["id"]]


async def test_a_page_mirrored_as_a_post_before_content_types_published_before_a_sync_updates_the_page(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    """Published before any sync has typed it, such a page was asked of `posts` (a 404, read as
    deleted) and published anew as a post: a copy of the page. Now the publish finds the page."""
    page = wp.add_post("pages", title="About us", slug="about-us", content="<p>Who we are.</p>", status="publish")
    await api.call("POST", f"/api/v1/integration/{setup.integration['id']}/sync/", as_=owner, params={"wait": 30})
    synced = await Content.get(site_id=setup.site["id"], external_id=str(page["id"]))
    await Content.filter(id=synced.id).update(content_type="post")  # as the migration left it
    await api.call("PUT", f"{CONTENT}/{synced.id}/", json={"title": "About our team"}, as_=owner)

    item = (await api.call("POST", publish_path(synced.id), json={}, as_=owner))["data"]["items"][0]
    assert (item["created"], item["post_id"], item["verified"]) == (False, page["id"], True)
    assert wp.objects["posts"] == {} and wp.objects["pages"][page["id"]]["title"]["raw"] == "About our team"
    assert (await Content.get(id=synced.id)).content_type == "page"


async def test_content_typed_page_is_published_to_pages_and_listed_as_a_page(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    site_id = setup.site["id"]
    manual = await make_content(api, owner, site_id, title="Contact", content_type="page")
    task = await api.call(
        "POST",
        "/api/v1/writer/tasks/",
        json={"site_id": site_id, "title": "Team", "content_type": "page"},
        as_=owner,
        status=201,
    )
    from_task = await make_content(api, owner, site_id, title="Team", task_id=task["data"]["id"])
    post = await make_content(api, owner, site_id, title="News")
    assert [c["content_type"] for c in (manual, from_task, post)] == ["page", "page", "post"]

    for content in (manual, from_task, post):
        await api.call("POST", publish_path(content["id"]), json={}, as_=owner)
    assert sorted(p["title"]["raw"] for p in wp.objects["pages"].values()) == ["Contact", "Team"]
    assert [p["title"]["raw"] for p in wp.objects["posts"].values()] == ["News"]
    definition = (await api.call("GET", f"{PUBLISHER}/site-definition/", params={"site": setup.site["slug"]}))["data"]
    assert sorted(p["title"] for p in definition["pages"]) == ["Contact", "Team"]
    assert [p["title"] for p in definition["posts"]] == ["News"]


async def test_a_published_contents_type_keeps_it_a_page_or_a_post(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    content = await make_content(api, owner, setup.site["id"])
    path = f"{CONTENT}/{content['id']}/"
    await api.call("PUT", path, json={"content_type": "weird"}, as_=owner, status=400)
    await api.call("PUT", path, json={"content_type": "page"}, as_=owner)  # not on WordPress yet: free
    await api.call("PUT", path, json={"content_type": "post"}, as_=owner)
    await api.call("POST", publish_path(content["id"]), json={}, as_=owner)

    refused = await api.call("PUT", path, json={"content_type": "page", "title": "Moved"}, as_=owner, status=400)
    assert list(refused["errors"]) == ["content_type"]
    stored = await Content.get(id=content["id"])
    assert (stored.content_type, stored.title) == ("post", "Lions of the Savanna")
    changed = await api.call("PUT", path, json={"content_type": "product"}, as_=owner)  # still a post there
    assert changed["data"]["content_type"] == "product"
    await api.call("POST", publish_path(content["id"]), json={}, as_=owner)
    assert len(wp.objects["posts"]) == 1 and wp.objects["pages"] == {}


async def test_publish_to_wordpress_needs_no_body(api: Api, owner: Caller, wp: FakeWordPress, setup: Setup) -> None:
    content = await make_content(api, owner, setup.site["id"])
    item = (await api.call("POST", publish_path(content["id"]), as_=owner))["data"]["items"][0]
    assert item["status"] == "published" and item["post_status"] == "publish"


async def test_a_failing_last_item_overtaken_by_a_cancel_ends_the_job_cancelled_without_an_error(
    api: Api, owner: Caller, wp: FakeWordPress, setup: Setup
) -> None:
    """The job would fail (its only content failed), but a cancel asked for while that item was
    in flight wins, as for a succeeding one: `cancelled`, no error, nothing published."""
    content = await make_content(api, owner, setup.site["id"])
    seen = len(wp.calls)
    wp.always("slow", seconds=2.0)  # past the client's timeout here (1 s): the item fails
    started = await api.call("POST", publish_path(content["id"]), json={}, as_=owner, status=202, params={"wait": 0})
    job_id = started["data"]["job"]["id"]

    async def under_way() -> bool:
        return len(wp.calls) > seen

    await wait_until(under_way)  # the item's first request is in flight
    await api.call("POST", f"/api/v1/jobs/{job_id}/cancel/", as_=owner)
    await wait_job(job_id, "cancelled", "failed", "succeeded")
    job = (await api.call("GET", f"/api/v1/jobs/{job_id}/", as_=owner))["data"]
    assert job["status"] == "cancelled" and job["error"] is None, job
    item = job["result"]["items"][0]
    assert item["status"] == "failed" and item["error"]["code"] == "wordpress_timeout"
    assert not wp.objects["posts"] and (await Content.get(id=content["id"])).status == "draft"
