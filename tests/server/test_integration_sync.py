"""WordPress sync (a job of the site actor), sync_status/, sync_health/ and site_sync/ against the
fake WordPress: first and incremental syncs, deletions, an outage mid-sync then a resumed sync,
one sync at a time, and the progress events on `integration:<id>` and `site:<id>`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.accounts import Site
from models.integration import Integration, SyncRun
from models.jobs import Job
from models.writer import Content, Taxonomy
from server.keys import EVENTS
from services.events import Subscription
from services.security import utcnow
from tests.fakes.wordpress_server import OLD_DATE, FakeWordPress
from tests.helpers import Api, Caller

BASE = "/api/v1/integration/"
EMPTY = {"created": 0, "updated": 0, "deleted": 0, "failed": 0}


async def connect(api: Api, owner: Caller, wp: FakeWordPress) -> dict[str, Any]:
    site = await api.site(owner)
    payload = {"site_id": site["id"], "base_url": wp.base_url, "username": wp.username, "app_password": wp.app_password}
    return (await api.call("POST", BASE, json=payload, as_=owner, status=201))["data"]


async def sync(api: Api, owner: Caller, integration: dict[str, Any], status: int = 200) -> dict[str, Any]:
    return await api.call("POST", f"{BASE}{integration['id']}/sync/", as_=owner, params={"wait": 30}, status=status)


async def status_of(api: Api, owner: Caller, integration: dict[str, Any]) -> dict[str, Any]:
    return (await api.call("GET", f"{BASE}{integration['id']}/sync_status/", as_=owner))["data"]


async def drain(subscription: Subscription, last: str = "sync.succeeded", timeout: float = 5.0) -> list[Any]:
    """The events so far, through `last`: on Redis, `sync.<status>` (published after the job's own
    end, which answered the request) may still be on its way when the answer arrives."""
    events: list[Any] = []
    async with asyncio.timeout(timeout):
        while not events or events[-1].event != last:
            events.append(await subscription.get())
    while (event := subscription.get_nowait()) is not None:
        events.append(event)
    return events


def posts_read(wp: FakeWordPress) -> list[str]:
    """The offsets the sync read the posts list at (not the deletions' id listing)."""
    return [c["query"]["offset"] for c in wp.rest_calls("/wp/v2/posts") if "_fields" not in c["query"]]


def small_site(wp: FakeWordPress) -> None:
    """A parent and a child category, two tags, 250 posts (three list pages) and 3 pages."""
    wp.add_many(posts=250, pages=3, categories=5, tags=2)


async def test_first_sync_mirrors_terms_with_parents_and_posts_and_pages(
    api: Api, owner: Caller, wp: FakeWordPress, client: TestClient
) -> None:
    small_site(wp)
    integration = await connect(api, owner, wp)
    with client.app[EVENTS].subscribe([f"integration:{integration['id']}", f"site:{integration['site_id']}"]) as sub:
        body = (await sync(api, owner, integration))["data"]
        events = await drain(sub)
    assert body["job"]["status"] == "succeeded" and body["modified_after"] is None
    assert body["items"] == {**EMPTY, "created": 253}
    assert body["terms"] == {**EMPTY, "created": 8}  # Uncategorized + 5 categories, 2 tags
    assert body["pages"] == {"posts": 3, "pages": 1}

    site_id = integration["site_id"]
    contents = await Content.filter(site_id=site_id).order_by("id")
    assert len(contents) == 253 and {c.source for c in contents} == {"wordpress"}
    first = next(c for c in contents if c.external_id == "1")
    wp_post = wp.objects["posts"][1]
    assert (first.title, first.slug, first.status) == ("Post 1", "post-1", "published")
    assert first.html == "<p>Body of post 1.</p>" and first.external_url == wp_post["link"]
    local_terms = {t.external_id: t for t in await Taxonomy.filter(site_id=site_id)}
    assert sorted(first.taxonomy_ids) == sorted(
        local_terms[str(ext)].id for ext in [*wp_post["categories"], *wp_post["tags"]]
    )
    child_ext = next(t["id"] for t in wp.terms["categories"].values() if t.get("parent"))
    parent_ext = wp.terms["categories"][child_ext]["parent"]
    assert local_terms[str(child_ext)].parent_id == local_terms[str(parent_ext)].id
    assert (await Content.get(site_id=site_id, external_id=str(max(wp.objects["pages"])))).title == "Page 3"

    progress = [e for e in events if e.event == "sync.progress"]
    # Each item is announced on both channels: categories, tags, 3 + 1 list pages, deletions.
    assert len(progress) == 2 * 7
    assert {e.channel for e in progress} == {f"integration:{integration['id']}", f"site:{site_id}"}
    last = [e for e in progress if e.channel == f"site:{site_id}"][-1]
    assert last.data["stage"] == "deletions" and last.data["done"] == last.data["total"] == 261
    assert [e.event for e in events if e.channel == f"integration:{integration['id']}"][-1] == "sync.succeeded"

    status = await status_of(api, owner, integration)
    assert status["status"] == "idle" and status["stage"] == "done" and status["last_error"] is None
    assert status["items"]["created"] == 253 and status["terms"]["created"] == 8
    assert status["last_sync_at"] is not None and status["job_id"] == body["job"]["id"]


async def test_incremental_sync_asks_for_what_changed_and_archives_deleted_posts(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    small_site(wp)
    integration = await connect(api, owner, wp)
    await sync(api, owner, integration)
    wp.calls.clear()
    edited = wp.touch("posts", 5, title="Edited in WordPress", content="<p>new</p>")
    deleted_id = 7
    del wp.objects["posts"][deleted_id]
    wp.add_post("posts", title="Brand new", slug="brand-new")
    wp.add_term("tags", "Fresh tag")

    body = (await sync(api, owner, integration))["data"]
    assert body["modified_after"] is not None
    listed = [c["query"] for c in wp.rest_calls("/wp/v2/posts") if "_fields" not in c["query"]]
    assert listed and all(q.get("modified_after") == body["modified_after"] for q in listed)
    assert body["pages"] == {"posts": 1, "pages": 1}  # only the changed posts were read in full
    assert body["items"] == {**EMPTY, "created": 1, "updated": 1, "deleted": 1}
    assert body["terms"] == {**EMPTY, "created": 1}

    site_id = integration["site_id"]
    row = await Content.get(site_id=site_id, external_id=str(edited["id"]))
    assert row.title == "Edited in WordPress" and row.html == "<p>new</p>" and row.version == 2
    gone = await Content.get(site_id=site_id, external_id=str(deleted_id))
    assert gone.status == "archived"  # kept, marked
    assert await Content.filter(site_id=site_id, slug="brand-new", source="wordpress").exists()

    # Nothing changed since: a third sync changes nothing.
    again = (await sync(api, owner, integration))["data"]
    assert again["items"] == EMPTY and again["terms"] == EMPTY


async def test_posts_deleted_in_wordpress_during_a_sync_make_it_skip_none(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """Read by page number, a post deleted before the page being read moved the next one onto the
    page already read: it was never mirrored, and the deletions' id listing left it out too, so
    its row, had it one, was archived though WordPress still had the post."""
    small_site(wp)
    integration = await connect(api, owner, wp)
    first_page = sorted(wp.objects["posts"])[:100]
    early, late = first_page[10:13], first_page[20:22]
    batches = {"posts": list(early), "ids": list(late)}

    def delete_after_first_page(route: str, query: dict[str, str]) -> None:
        if route == "/wp/v2/posts" and query.get("offset") == "0":
            batch = batches["ids" if query.get("_fields") == "id" else "posts"]
            while batch:
                del wp.objects["posts"][batch.pop()]

    wp.after_list = delete_after_first_page
    body = (await sync(api, owner, integration))["data"]
    assert body["job"]["status"] == "succeeded"
    # Every post was read once (the deleted ones before they went); those deleted before the id
    # listing are archived, those deleted after its first page are still listed by this sync.
    assert body["items"] == {**EMPTY, "created": 253, "deleted": 3}
    site_id = integration["site_id"]
    rows = {c.external_id: c for c in await Content.filter(site_id=site_id)}
    for post_id in wp.objects["posts"]:
        assert rows[str(post_id)].status != "archived", post_id
    assert {ext for ext, row in rows.items() if row.status == "archived"} == {str(i) for i in early}

    wp.after_list = None
    again = (await sync(api, owner, integration))["data"]
    assert again["items"] == {**EMPTY, "deleted": 2}
    archived = {c.external_id for c in await Content.filter(site_id=site_id, status="archived")}
    assert archived == {str(i) for i in early + late}


async def test_a_list_that_ends_sooner_than_announced_finishes_its_pages_without_reading(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    small_site(wp)
    integration = await connect(api, owner, wp)
    last_sixty = sorted(wp.objects["posts"])[-60:]

    def delete_the_tail(route: str, query: dict[str, str]) -> None:
        if route == "/wp/v2/posts" and query.get("offset") == "0" and "_fields" not in query:
            for post_id in last_sixty:
                wp.objects["posts"].pop(post_id, None)

    wp.after_list = delete_the_tail
    body = (await sync(api, owner, integration))["data"]
    # X-WP-Total said 250 (three pages); the second page was the last. The third is counted done
    # without a request, so the job's progress adds up.
    assert body["pages"] == {"posts": 3, "pages": 1}
    assert posts_read(wp) == ["0", "99"]
    assert body["job"]["progress"]["done"] == body["job"]["progress"]["total"] == 7
    assert body["items"] == {**EMPTY, "created": 193}  # 190 posts and 3 pages


async def test_posts_made_with_earlier_dates_are_fetched_by_the_next_incremental_sync(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """An import keeps its posts' dates: made after the last sync, they are modified before its
    window, so only their ids (above the highest the last sync listed) tell they are new."""
    small_site(wp)
    integration = await connect(api, owner, wp)
    await sync(api, owner, integration)
    site_id = integration["site_id"]
    run = await SyncRun.filter(integration_id=integration["id"], status="succeeded").get()
    assert run.highest_ids == {"posts": max(wp.objects["posts"]), "pages": max(wp.objects["pages"])}
    # Deleted here by a user: an incremental sync leaves it deleted (a full one brings it back).
    removed = min(wp.objects["posts"])
    await Content.filter(site_id=site_id, external_id=str(removed)).delete()
    imported_post = wp.add_post(title="Imported post", modified_gmt=OLD_DATE)
    imported_page = wp.add_post("pages", title="Imported page", modified_gmt=OLD_DATE)
    wp.calls.clear()

    body = (await sync(api, owner, integration))["data"]
    assert body["items"] == {**EMPTY, "created": 2}
    rows = await Content.filter(site_id=site_id, external_id__in=[str(imported_post["id"]), str(imported_page["id"])])
    assert sorted((r.title, r.content_type) for r in rows) == [("Imported page", "page"), ("Imported post", "post")]
    assert not await Content.filter(site_id=site_id, external_id=str(removed)).exists()
    fetched = [c["query"]["include"] for c in wp.rest_calls() if "include" in c["query"]]
    assert sorted(fetched) == sorted([str(imported_post["id"]), str(imported_page["id"])])

    wp.calls.clear()
    again = (await sync(api, owner, integration))["data"]
    assert again["items"] == EMPTY and not [c for c in wp.rest_calls() if "include" in c["query"]]


async def test_a_sync_after_one_that_recorded_no_highest_ids_fetches_nothing_by_id(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """Runs from before the ids were recorded: with no bar to compare with, every post a user
    deleted here would look new. The sync records the bar; the next one uses it."""
    small_site(wp)
    integration = await connect(api, owner, wp)
    await sync(api, owner, integration)
    await SyncRun.filter(integration_id=integration["id"]).update(highest_ids={})
    first = wp.add_post(title="Imported before the upgrade", modified_gmt=OLD_DATE)
    body = (await sync(api, owner, integration))["data"]
    assert body["items"] == EMPTY
    second = wp.add_post(title="Imported after it", modified_gmt=OLD_DATE)
    body = (await sync(api, owner, integration))["data"]
    assert body["items"] == {**EMPTY, "created": 1}
    assert await Content.filter(site_id=integration["site_id"], external_id=str(second["id"])).exists()
    assert not await Content.filter(site_id=integration["site_id"], external_id=str(first["id"])).exists()


async def test_outage_mid_sync_fails_the_job_and_the_next_sync_resumes(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    small_site(wp)
    integration = await connect(api, owner, wp)
    # discover + categories + tags + posts page 1 answer; posts page 2 and its retries are 500s.
    wp.outage_after(4)
    failed = await sync(api, owner, integration, status=502)
    assert failed["job"]["status"] == "failed"
    assert "posts:2" in failed["error"] and "HTTP 500" in failed["error"]
    site_id = integration["site_id"]
    assert await Content.filter(site_id=site_id).count() == 100  # page 1 was committed

    status = await status_of(api, owner, integration)
    assert status["status"] == "error" and status["stage"] == "failed"
    assert status["last_error"] == failed["error"] and status["items"]["created"] == 100
    assert (await Integration.get(id=integration["id"])).sync_status == "error"

    wp.reset_faults()
    wp.calls.clear()
    resumed = (await sync(api, owner, integration))["data"]
    assert resumed["modified_after"] is None  # no successful sync yet: the whole site
    # It went on from the failed page: page 1 of the posts isn't read again; terms are.
    assert posts_read(wp) == ["99", "198"]
    assert wp.rest_calls("/wp/v2/categories") and wp.rest_calls("/wp/v2/tags")
    assert resumed["items"] == {**EMPTY, "created": 153} and resumed["total"] == resumed["done"] == 261
    assert await Content.filter(site_id=site_id).count() == 253
    status = await status_of(api, owner, integration)
    assert status["status"] == "idle" and status["last_error"] is None
    runs = await SyncRun.filter(integration_id=integration["id"]).order_by("id")
    assert runs[1].read_from == runs[0].started_at  # the next sync reads what changed since then


async def test_the_sync_after_a_resumed_one_reads_from_the_failed_ones_start(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """A resumed sync didn't read again the pages the failed one had read: a post on them edited
    in between is found by the next sync only if its window starts where the failed one's reads did."""
    small_site(wp)
    integration = await connect(api, owner, wp)
    await sync(api, owner, integration)
    # Moved back in time: the integration's WordPress since four days, the first sync three days ago.
    await Site.filter(id=integration["site_id"]).update(wordpress_since=utcnow() - timedelta(days=4))
    await SyncRun.filter(integration_id=integration["id"]).update(started_at=utcnow() - timedelta(days=3))
    wp.outage_after(4)  # categories, tags, the posts and pages changed (none); the id listing fails
    await sync(api, owner, integration, status=502)
    failed = await SyncRun.filter(integration_id=integration["id"], status="failed").get()
    failed.started_at = utcnow() - timedelta(days=2)
    await failed.save(update_fields=["started_at"])
    # Edited a day and a half ago: after the failed sync had read the posts list, so the resumed
    # sync doesn't read it again.
    edited = sorted(wp.objects["posts"])[5]
    wp.objects["posts"][edited].update(
        title={"raw": "Edited in between", "rendered": "Edited in between"},
        modified_gmt=(utcnow() - timedelta(days=1, hours=12)).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    wp.reset_faults()
    await sync(api, owner, integration)
    row = await Content.get(site_id=integration["site_id"], external_id=str(edited))
    assert row.title != "Edited in between"  # not read again by the resumed sync

    following = (await sync(api, owner, integration))["data"]
    assert following["items"]["updated"] == 1
    await row.refresh_from_db()
    assert row.title == "Edited in between"


async def test_a_full_sync_after_a_failed_one_reads_everything_again(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    small_site(wp)
    integration = await connect(api, owner, wp)
    wp.outage_after(4)
    await sync(api, owner, integration, status=502)
    wp.reset_faults()
    wp.calls.clear()
    path = f"{BASE}{integration['id']}/sync/"
    body = (await api.call("POST", path, as_=owner, params={"wait": 30, "full": "true"}))["data"]
    assert posts_read(wp) == ["0", "99", "198"] and body["items"]["created"] == 153
    last = await SyncRun.filter(integration_id=integration["id"]).order_by("-id").first()
    assert last is not None and last.read_from is None


async def test_one_sync_per_integration_at_a_time(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    small_site(wp)
    integration = await connect(api, owner, wp)
    wp.fail_next("slow", seconds=1.0)
    first = await api.call("POST", f"{BASE}{integration['id']}/sync/", as_=owner, params={"wait": 0}, status=202)
    second = await api.call("POST", f"{BASE}{integration['id']}/sync/", as_=owner, params={"wait": 0}, status=409)
    assert second["code"] == "conflict"
    assert await SyncRun.filter(integration_id=integration["id"]).count() == 1
    assert (await status_of(api, owner, integration))["status"] == "syncing"
    for _ in range(300):
        job = (await api.call("GET", f"/api/v1/jobs/{first['data']['job']['id']}/", as_=owner))["data"]
        if job["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "succeeded"
    await sync(api, owner, integration)  # free again


async def test_sync_status_and_health_shapes_and_tenancy(api: Api, owner: Caller, wp: FakeWordPress) -> None:
    small_site(wp)
    integration = await connect(api, owner, wp)
    never = await status_of(api, owner, integration)
    assert never == {
        "integration_id": integration["id"],
        "status": "idle",
        "stage": "",
        "done": 0,
        "total": 0,
        "started_at": None,
        "finished_at": None,
        "last_sync_at": None,
        "items": EMPTY,
        "terms": EMPTY,
        "last_error": None,
        "job_id": None,
        "sync_run_id": None,
    }
    await sync(api, owner, integration)
    wp.always("500")
    await sync(api, owner, integration, status=502)
    wp.reset_faults()
    health = (await api.call("GET", f"{BASE}{integration['id']}/sync_health/", as_=owner))["data"]
    assert health["syncs"] == 2 and health["succeeded"] == 1 and health["failed"] == 1
    assert health["success_rate"] == 0.5 and health["items_synced"] == 253 + 8
    assert health["mean_duration_s"] is not None and health["p95_duration_s"] >= health["mean_duration_s"] / 2
    assert "HTTP 500" in health["last_error"] and health["last_success_at"] is not None
    assert health["webhooks_received"] == 0 and health["webhooks_rejected"] == 0

    stranger = await api.register()
    for path in ("sync_status/", "sync_health/"):
        await api.call("GET", f"{BASE}{integration['id']}/{path}", as_=stranger, status=404)
    await api.call("POST", f"{BASE}{integration['id']}/sync/", as_=stranger, status=404)


async def test_site_sync_starts_a_job_per_active_integration(
    api: Api, owner: Caller, wp: FakeWordPress, client: TestClient
) -> None:
    small_site(wp)
    integration = await connect(api, owner, wp)
    payload = {"site_id": integration["site_id"], "base_url": wp.base_url, "username": "admin", "app_password": "x"}
    inactive = (await api.call("POST", BASE, json={**payload, "is_active": False}, as_=owner, status=201))["data"]
    site_id = integration["site_id"]
    started = await api.call("POST", f"{BASE}site_sync/", json={"site_id": site_id}, as_=owner, status=202)
    body = started["data"]
    assert [job["kind"] for job in body["jobs"]] == ["wordpress_sync"] and body["skipped"] == []
    assert await SyncRun.filter(integration_id=inactive["id"]).count() == 0
    again = await api.call("POST", f"{BASE}site_sync/", json={"site_id": integration["site_id"]}, as_=owner, status=202)
    if again["data"]["jobs"] == []:  # the first one was still on
        assert again["data"]["skipped"][0]["integration_id"] == integration["id"]
    stranger = await api.register()
    await api.call("POST", f"{BASE}site_sync/", json={"site_id": integration["site_id"]}, as_=stranger, status=400)
    for _ in range(400):
        if await SyncRun.filter(integration_id=integration["id"], status__in=("queued", "running")).count() == 0:
            break
        await asyncio.sleep(0.05)
    assert await Content.filter(site_id=integration["site_id"]).count() == 253


async def test_a_move_keeps_the_watermark_for_the_same_wordpress_and_reads_another_in_full(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """`same_wordpress` (here the same fake by another name) goes on incrementally; after
    `unlink_content` to another WordPress the next sync reads it all, and the first one's rows stay
    as they were left (drafts, no WordPress id), not archived as posts the new one lacks."""
    wp.add_many(posts=3, categories=1)
    integration = await connect(api, owner, wp)
    site_id = integration["site_id"]
    path = f"{BASE}{integration['id']}/"
    await sync(api, owner, integration)
    first_rows = [row.id for row in await Content.filter(site_id=site_id)]
    assert len(first_rows) == 3

    alias = {"base_url": wp.base_url.replace("127.0.0.1", "localhost"), "same_wordpress": True}
    await api.call("PUT", path, json=alias, as_=owner)
    again = (await sync(api, owner, integration))["data"]
    assert again["modified_after"] is not None and again["items"] == EMPTY

    async with FakeWordPress(name="Another WP") as another:
        another.add_many(posts=2)
        move = {"base_url": another.base_url, "username": another.username, "app_password": another.app_password}
        refused = await api.call("PUT", path, json=move, as_=owner, status=409)
        assert "unlink_content" in refused["error"]
        await api.call("PUT", path, json={**move, "unlink_content": True}, as_=owner)
        body = (await sync(api, owner, integration))["data"]
    assert body["modified_after"] is None
    assert body["items"] == {**EMPTY, "created": 2}
    kept = await Content.filter(id__in=first_rows)
    assert {(row.source, row.status, row.external_id) for row in kept} == {("wordpress", "draft", None)}
    assert await Content.filter(site_id=site_id, external_id__not_isnull=True).count() == 2
    # The first WordPress's category stays as the site's own term; Uncategorized, by its slug,
    # is now the other WordPress's.
    terms = {row.slug: row.external_id for row in await Taxonomy.filter(site_id=site_id)}
    assert len(terms) == 2
    linked = {str(term_id) for term_id in another.terms["categories"]}
    assert terms["uncategorized"] in linked
    assert [slug for slug, ext in terms.items() if ext is None] == [slug for slug in terms if slug != "uncategorized"]


async def test_a_run_whose_job_never_came_is_closed_and_the_next_sync_goes_ahead(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    """A server that died between claiming a sync and making its job left a queued run: after a
    minute, a run that no unfinished job names is closed instead of holding the integration."""
    wp.add_many(posts=1)
    integration = await connect(api, owner, wp)
    site_id = integration["site_id"]
    orphan = await SyncRun.create(integration_id=integration["id"], status="queued", stage="queued")
    await Integration.filter(id=integration["id"]).update(sync_status="syncing")
    # A moment after its claim, its job may still come: wait for it.
    await sync(api, owner, integration, status=409)
    long_ago = utcnow() - timedelta(minutes=2)
    # Named by an unfinished job (one waiting for its turn has no job_id on its run yet): kept.
    waiting = await Job.create(
        account_id=owner.account["id"],
        site_id=site_id,
        kind="wordpress_sync",
        status="paused",
        params={"sync_run_id": orphan.id},
    )
    await SyncRun.filter(id=orphan.id).update(started_at=long_ago)
    await sync(api, owner, integration, status=409)
    assert (await SyncRun.get(id=orphan.id)).status == "queued"

    await Job.filter(id=waiting.id).update(status="cancelled")
    body = (await sync(api, owner, integration))["data"]
    assert body["job"]["status"] == "succeeded" and body["items"]["created"] == 1
    closed = await SyncRun.get(id=orphan.id)
    assert (closed.status, closed.stage) == ("failed", "failed") and closed.finished_at is not None
    assert closed.error is not None and "never created" in closed.error
    assert (await status_of(api, owner, integration))["status"] == "idle"


async def test_a_full_sync_reads_everything_and_mirrors_again_what_was_deleted_here(
    api: Api, owner: Caller, wp: FakeWordPress
) -> None:
    wp.add_many(posts=3)
    integration = await connect(api, owner, wp)
    site_id = integration["site_id"]
    path = f"{BASE}{integration['id']}/sync/"
    await sync(api, owner, integration)
    await Content.filter(site_id=site_id, slug="post-2").delete()  # gone on this side only

    incremental = (await sync(api, owner, integration))["data"]
    assert incremental["modified_after"] is not None and incremental["items"] == EMPTY
    full = (await api.call("POST", path, as_=owner, params={"wait": 30, "full": "true"}))["data"]
    assert full["modified_after"] is None and full["items"] == {**EMPTY, "created": 1}
    assert await Content.filter(site_id=site_id, slug="post-2", source="wordpress").exists()
    # `full=false` is the incremental sync; anything but true or false is a 400 that starts nothing.
    again = (await api.call("POST", path, as_=owner, params={"wait": 30, "full": "false"}))["data"]
    assert again["modified_after"] is not None
    runs = await SyncRun.filter(integration_id=integration["id"]).count()
    for value in ("yes", "1", ""):
        refused = await api.call("POST", path, as_=owner, params={"full": value}, status=400)
        assert "full" in refused["errors"], value
        refused = await api.call(
            "POST", f"{BASE}site_sync/", json={"site_id": site_id, "full": value}, as_=owner, status=400
        )
        assert "full" in refused["errors"], value
    assert await SyncRun.filter(integration_id=integration["id"]).count() == runs

    started = await api.call(
        "POST", f"{BASE}site_sync/", json={"site_id": site_id, "full": True}, as_=owner, status=202
    )
    [job] = started["data"]["jobs"]
    assert (await Job.get(id=job["id"])).params["modified_after"] is None
    finished = await api.call("GET", f"/api/v1/jobs/{job['id']}/", as_=owner)
    for _ in range(400):
        if finished["data"]["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.05)
        finished = await api.call("GET", f"/api/v1/jobs/{job['id']}/", as_=owner)
    assert finished["data"]["status"] == "succeeded"
