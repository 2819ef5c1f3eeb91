"""Writer: tasks (bulk all-or-nothing), content with sanitising and versions, images, taxonomies."""

from __future__ import annotations

from typing import Any

from models.writer import Content, ContentVersion, Image, Task, Taxonomy
from services.auth import create_api_key
from tests.helpers import Api, Caller

TASKS = "/api/v1/writer/tasks/"
CONTENT = "/api/v1/writer/content/"


async def _content(api: Api, owner: Caller, site_id: int, **overrides: Any) -> dict[str, Any]:
    payload = {
        "site_id": site_id,
        "title": "Trail running guide",
        "html": "<h2>Start</h2><p>Run far.</p>",
        "primary_keyword": "trail running",
        **overrides,
    }
    return (await api.call("POST", CONTENT, json=payload, as_=owner, status=201))["data"]


async def test_tasks_create_filter_and_update(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    task = (
        await api.call(
            "POST",
            TASKS,
            json={"site_id": site["id"], "title": "Write it", "keywords": ["a"], "word_count": 1200},
            as_=owner,
            status=201,
        )
    )["data"]
    assert task["status"] == "queued" and task["keywords"] == ["a"] and task["content_id"] is None
    updated = await api.call("PUT", f"{TASKS}{task['id']}/", json={"status": "failed", "brief": "b"}, as_=owner)
    assert updated["data"]["status"] == "failed"
    listed = await api.call("GET", TASKS, as_=owner, params={"status": "failed", "site_id": site["id"]})
    assert [row["id"] for row in listed["results"]] == [task["id"]]
    for bad in ({"word_count": 50}, {"content_structure": "poem"}, {"keywords": "a"}, {"title": ""}):
        await api.call("POST", TASKS, json={"site_id": site["id"], "title": "x", **bad}, as_=owner, status=400)


async def test_bulk_create_is_all_or_nothing_and_names_the_bad_index(api: Api) -> None:
    owner, stranger = await api.register(), await api.register()
    site, their_site = await api.site(owner), await api.site(stranger)
    good = [{"site_id": site["id"], "title": f"Task {n}"} for n in range(5)]
    body = await api.call("POST", f"{TASKS}bulk_create/", json={"tasks": good}, as_=owner, status=201)
    assert body["data"]["created"] == 5 and len(body["data"]["task_ids"]) == 5
    schema_bad = [*good, {"site_id": site["id"], "title": ""}]
    body = await api.call("POST", f"{TASKS}bulk_create/", json={"tasks": schema_bad}, as_=owner, status=400)
    assert list(body["errors"]["tasks"]) == ["5"]
    foreign = [*good[:2], {"site_id": their_site["id"], "title": "Sneaky"}]
    body = await api.call("POST", f"{TASKS}bulk_create/", json={"tasks": foreign}, as_=owner, status=400)
    assert body["errors"] == {"tasks": {"2": {"site_id": ["Site not found."]}}}
    too_many = [{"site_id": site["id"], "title": "t"}] * 501
    await api.call("POST", f"{TASKS}bulk_create/", json={"tasks": too_many}, as_=owner, status=400)
    assert await Task.filter(account_id=owner.account["id"]).count() == 5


async def test_content_html_is_sanitised_and_words_counted(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    dirty = (
        '<h2 onclick="steal()">Heading</h2><script>alert(1)</script>'
        '<p>One two <a href="javascript:alert(1)">three</a></p><img src="/x.png" alt="x" onerror="bad()">'
    )
    content = await _content(api, owner, site["id"], html=dirty)
    stored = await Content.get(id=content["id"])
    for forbidden in ("<script", "onclick", "onerror", "javascript:", "alert(1)"):
        assert forbidden not in stored.html, forbidden
    assert "<h2>Heading</h2>" in stored.html
    assert content["word_count"] == 4
    assert content["slug"] == "trail-running-guide" and content["source"] == "manual" and content["version"] == 1
    second = await _content(api, owner, site["id"])
    assert second["slug"] == "trail-running-guide-2"


async def test_content_slugs_are_transliterated_and_unique_per_site(api: Api) -> None:
    owner = await api.register()
    site, other_site = await api.site(owner), await api.site(owner)
    first = await _content(api, owner, site["id"], title="Привет, мир")
    second = await _content(api, owner, site["id"], title="Привет, мир")
    elsewhere = await _content(api, owner, other_site["id"], title="Привет, мир")
    assert (first["slug"], second["slug"], elsewhere["slug"]) == ("privet-mir", "privet-mir-2", "privet-mir")
    assert (await _content(api, owner, site["id"], title="東京の天気"))["slug"].startswith("dong-jing")
    assert (await _content(api, owner, site["id"], title="?!"))["slug"] == "content"
    title = "Trail running " * 21 + "uphill"  # 300 characters
    long = await _content(api, owner, site["id"], title=title)
    again = await _content(api, owner, site["id"], title=title)
    assert long["slug"] == "-".join(["trail", "running"] * 21) + "-uphill" and len(long["slug"]) == 300
    assert again["slug"] == long["slug"].removesuffix("-uphill") + "-2"  # whole words, within 300
    renamed = await api.call("PUT", f"{CONTENT}{second['id']}/", json={"title": "Café Crème"}, as_=owner)
    assert renamed["data"]["slug"] == "cafe-creme"
    assert (await Content.get(id=second["id"])).slug == "cafe-creme"
    # The freed slug can be taken again; the first content keeps its own.
    assert (await _content(api, owner, site["id"], title="Привет мир"))["slug"] == "privet-mir-2"
    assert (await Content.get(id=first["id"])).slug == "privet-mir"


async def test_update_content_keeps_the_previous_version_and_warns(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    content = await _content(api, owner, site["id"])
    body = await api.call(
        "POST",
        f"{CONTENT}{content['id']}/update_content/",
        json={
            "html": "<p>No headings <b>here</b></p><script>x()</script>",
            "meta_title": "m" * 61,
            "meta_description": "d" * 161,
            "primary_keyword": "road cycling",
        },
        as_=owner,
    )
    data = body["data"]
    assert data["version"] == 2 and data["word_count"] == 3 and "<script" not in data["html"]
    assert len(data["warnings"]) == 4
    assert any("Meta title" in w for w in data["warnings"]) and any("H2" in w for w in data["warnings"])
    old = await ContentVersion.get(content_id=content["id"], version=1)
    assert (old.title, old.html, old.meta_title, old.word_count) == (
        "Trail running guide",
        "<h2>Start</h2><p>Run far.</p>",
        "",
        3,
    )
    clean = await api.call(
        "POST",
        f"{CONTENT}{content['id']}/update_content/",
        json={
            "html": "<h2>Trail running</h2><p>ok</p>",
            "meta_title": "Short",
            "meta_description": "Fine",
            "primary_keyword": "trail running",
        },
        as_=owner,
    )
    assert clean["data"]["warnings"] == [] and clean["data"]["version"] == 3
    second = await ContentVersion.get(content_id=content["id"], version=2)
    assert (second.meta_title, second.meta_description, second.word_count) == ("m" * 61, "d" * 161, 3)


async def test_content_bad_input_changes_nothing(api: Api) -> None:
    owner, stranger = await api.register(), await api.register()
    site = await api.site(owner)
    content = await _content(api, owner, site["id"])
    path = f"{CONTENT}{content['id']}/update_content/"
    for bad in (
        {"html": "x" * 1_000_001},
        {"status": "gone"},
        {"version": 9},
        {"taxonomy_ids": [999]},
        {"secondary_keywords": "a"},
        {"title": "t" * 301},
        {"content_type": 7},
        {"content_type": None},
        {"content_type": "pa\x00ge"},
        {"content_type": "page" * 5000},
        {"content_type": "article"},
    ):
        await api.call("POST", path, json=bad, as_=owner, status=400)
        await api.call("PUT", f"{CONTENT}{content['id']}/", json=bad, as_=owner, status=400)
        new = {"site_id": site["id"], "title": "Never stored", **bad}
        refused = await api.call("POST", CONTENT, json=new, as_=owner, status=400)
        assert list(refused["errors"]) == [next(iter(bad))]
    stored = await Content.get(id=content["id"])
    assert stored.version == 1 and await ContentVersion.filter(content_id=content["id"]).count() == 0
    assert stored.content_type == "post" and await Content.filter(site_id=site["id"]).count() == 1
    await api.call("POST", path, json={"title": "Mine now"}, as_=stranger, status=404)
    big = "<p>" + "word " * 1_100_000 + "</p>"
    await api.call("POST", CONTENT, json={"site_id": site["id"], "title": "Huge", "html": big}, as_=owner, status=400)


async def test_another_accounts_rows_are_404_named_by_kind_wherever_they_are_looked_up(api: Api) -> None:
    owner, stranger = await api.register(), await api.register()
    site = await api.site(owner)
    content = await _content(api, owner, site["id"])
    task = await api.call("POST", TASKS, json={"site_id": site["id"], "title": "Write it"}, as_=owner, status=201)
    image = await Image.create(account_id=owner.account["id"], site_id=site["id"], content_id=content["id"])
    lookups = [
        ("GET", f"{CONTENT}{content['id']}/", None, "Content not found."),
        ("POST", f"{CONTENT}{content['id']}/update_content/", {"title": "Mine"}, "Content not found."),
        ("POST", "/api/v1/optimizer/analyze/", {"content_id": content["id"]}, "Content not found."),
        ("POST", f"{TASKS}{task['data']['id']}/generate_content/", {}, "Task not found."),
        ("GET", f"/api/v1/writer/images/{image.id}/", None, "Image not found."),
        ("POST", "/api/v1/writer/images/regenerate/", {"image_id": image.id}, "Image not found."),
        (
            "POST",
            "/api/v1/optimizer/batch_optimize/",
            {"content_ids": [content["id"]]},
            "No content found with these ids.",
        ),
    ]
    for method, path, payload, message in lookups:
        body = await api.call(method, path, json=payload, as_=stranger, status=404)
        assert (body["code"], body["error"]) == ("not_found", message), path
    assert (await Content.get(id=content["id"])).title == "Trail running guide"
    assert await Task.filter(id=task["data"]["id"], status="queued").exists()


async def test_images_and_taxonomies_are_listed_per_site(api: Api) -> None:
    owner, stranger = await api.register(), await api.register()
    site = await api.site(owner)
    content = await _content(api, owner, site["id"])
    account = owner.account["id"]
    await Image.create(
        account_id=account,
        site_id=site["id"],
        content_id=content["id"],
        kind="featured",
        prompt="a trail",
        status="generated",
        url="/media/a.png",
    )
    await Image.create(account_id=account, site_id=site["id"], content_id=content["id"], position=1, prompt="b")
    await Taxonomy.create(account_id=account, site_id=site["id"], kind="category", name="Running", slug="running")
    await Taxonomy.create(account_id=account, site_id=site["id"], kind="tag", name="Trail", slug="trail")
    images = await api.call("GET", "/api/v1/writer/images/", as_=owner, params={"content_id": content["id"]})
    assert [row["kind"] for row in images["results"]] == ["featured", "in_article"]
    pending = await api.call("GET", "/api/v1/writer/images/", as_=owner, params={"status": "pending"})
    assert pending["count"] == 1
    tags = await api.call("GET", "/api/v1/writer/taxonomies/", as_=owner, params={"kind": "tag"})
    assert [row["name"] for row in tags["results"]] == ["Trail"]
    assert (await api.call("GET", "/api/v1/writer/taxonomies/", as_=stranger))["count"] == 0
    assert (await api.call("GET", "/api/v1/writer/images/", as_=stranger))["count"] == 0


async def test_every_writer_filter_keeps_its_rows_and_hides_the_others(api: Api) -> None:
    owner = await api.register()
    site, other = await api.site(owner), await api.site(owner)
    sector = (
        await api.call(
            "POST", "/api/v1/auth/sectors/", json={"site_id": site["id"], "name": "T"}, as_=owner, status=201
        )
    )["data"]["id"]
    cluster = (
        await api.call(
            "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": "T"}, as_=owner, status=201
        )
    )["data"]["id"]
    idea = (
        await api.call(
            "POST", "/api/v1/planner/ideas/", json={"site_id": site["id"], "title": "T"}, as_=owner, status=201
        )
    )["data"]["id"]

    async def task(site_id: int, title: str, **overrides: Any) -> int:
        body = await api.call(
            "POST", TASKS, json={"site_id": site_id, "title": title, **overrides}, as_=owner, status=201
        )
        return int(body["data"]["id"])

    guide = await task(
        site["id"], "Trail guide", sector_id=sector, cluster_id=cluster, idea_id=idea, content_type="page"
    )
    notes = await task(site["id"], "Road notes")
    await api.call("PUT", f"{TASKS}{notes}/", json={"status": "failed"}, as_=owner)
    review = await task(other["id"], "Boots review")
    await api.assert_filters(
        TASKS,
        owner,
        [
            ({"site_id": other["id"]}, {review}),
            ({"sector_id": sector}, {guide}),
            ({"cluster_id": cluster}, {guide}),
            ({"idea_id": idea}, {guide}),
            ({"status": "failed"}, {notes}),
            ({"content_type": "page"}, {guide}),
            ({"search": "BOOTS"}, {review}),
        ],
    )

    trail = (
        await _content(api, owner, site["id"], task_id=guide, sector_id=sector, cluster_id=cluster, status="review")
    )["id"]
    road = (await _content(api, owner, site["id"], title="Road notes", primary_keyword="asphalt"))["id"]
    await Content.filter(id=road).update(source="wordpress")
    boots = (await _content(api, owner, other["id"], title="Boots review", primary_keyword="hiking boots"))["id"]
    await api.assert_filters(
        CONTENT,
        owner,
        [
            ({"site_id": other["id"]}, {boots}),
            ({"sector_id": sector}, {trail}),
            ({"cluster_id": cluster}, {trail}),
            ({"task_id": guide}, {trail}),
            ({"status": "review"}, {trail}),
            ({"source": "wordpress"}, {road}),
            ({"search": "ASPHALT"}, {road}),
            ({"search": "trail"}, {trail}),
        ],
    )

    account = owner.account["id"]
    featured = await Image.create(
        account_id=account, site_id=site["id"], content_id=trail, kind="featured", prompt="a", status="generated"
    )
    pending = await Image.create(account_id=account, site_id=site["id"], content_id=trail, position=1, prompt="b")
    elsewhere = await Image.create(
        account_id=account, site_id=other["id"], content_id=boots, prompt="c", status="generated"
    )
    await api.assert_filters(
        "/api/v1/writer/images/",
        owner,
        [
            ({"site_id": other["id"]}, {elsewhere.id}),
            ({"content_id": trail}, {featured.id, pending.id}),
            ({"kind": "featured"}, {featured.id}),
            ({"status": "pending"}, {pending.id}),
        ],
    )

    running = await Taxonomy.create(
        account_id=account, site_id=site["id"], kind="category", name="Running", slug="running"
    )
    tag = await Taxonomy.create(account_id=account, site_id=site["id"], kind="tag", name="Trail", slug="trail")
    hiking = await Taxonomy.create(account_id=account, site_id=other["id"], kind="tag", name="Boots", slug="hiking")
    await api.assert_filters(
        "/api/v1/writer/taxonomies/",
        owner,
        [
            ({"site_id": other["id"]}, {hiking.id}),
            ({"kind": "category"}, {running.id}),
            ({"search": "TRAIL"}, {tag.id}),
            ({"search": "hiking"}, {hiking.id}),
        ],
    )


async def test_an_api_key_sees_only_its_sites_content_and_taxonomies(api: Api) -> None:
    owner = await api.register()
    site, other = await api.site(owner), await api.site(owner)
    mine = await _content(api, owner, site["id"], title="Mine")
    theirs = await _content(api, owner, other["id"], title="Other site")
    key = {"Authorization": f"ApiKey {await create_api_key(owner.account['id'], site['id'])}"}
    listed = await api.call("GET", CONTENT, headers=key)
    assert [row["id"] for row in listed["results"]] == [mine["id"]]
    await api.call("GET", f"{CONTENT}{theirs['id']}/", headers=key, status=404)
    await api.call("POST", f"{CONTENT}{mine['id']}/update_content/", json={"title": "Edited"}, headers=key)
    await api.call("POST", CONTENT, json={"site_id": other["id"], "title": "x"}, headers=key, status=400)
    await api.call("GET", "/api/v1/writer/taxonomies/", headers=key)
    await api.call("GET", TASKS, headers=key, status=403)
