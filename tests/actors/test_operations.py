"""Every AI operation end to end: real `openai` client → fake server, through the site actor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from models.jobs import Job
from models.linker import Link
from models.planner import Cluster, ContentIdea, Keyword
from models.writer import Content, ContentVersion, Image, Task
from tests.ai_helpers import balance, configure_ai, job_ledger
from tests.fakes.openai_server import PNG_SIGNATURE, FakeOpenAI
from tests.helpers import Api, Caller


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def world(api: Api, fake: FakeOpenAI) -> dict[str, Any]:
    owner = await api.register()
    site = await api.site(owner)
    await configure_ai(api, owner, fake)
    return {"owner": owner, "site": site}


async def _keywords(api: Api, owner: Caller, site_id: int, words: list[str]) -> list[int]:
    ids = []
    for word in words:
        body = await api.call(
            "POST",
            "/api/v1/planner/keywords/",
            json={"site_id": site_id, "keyword": word, "volume": 100},
            as_=owner,
            status=201,
        )
        ids.append(body["data"]["id"])
    return ids


async def test_auto_cluster_makes_clusters_maps_keywords_and_charges_per_keyword(
    api: Api, world: dict[str, Any], fake: FakeOpenAI
) -> None:
    owner, site = world["owner"], world["site"]
    words = ["running shoes", "running socks", "running watch", "yoga mat", "yoga pants", "yoga blocks"]
    ids = await _keywords(api, owner, site["id"], words)
    body = await api.call(
        "POST", "/api/v1/planner/clusters/auto_cluster/", as_=owner, json={"ids": ids, "site_id": site["id"]}
    )
    data = body["data"]
    assert data["job"]["status"] == "succeeded" and data["job"]["credits_used"] == 6
    assert sorted(c["name"] for c in data["clusters"]) == ["Running Guide", "Yoga Guide"]
    running = await Cluster.get(site_id=site["id"], name="Running Guide")
    assert running.keywords_count == 3 and running.volume == 300
    assert await Keyword.filter(site_id=site["id"], status="mapped").count() == 6
    assert fake.count("/chat/completions") == 1
    prompt = fake.calls[-1]["json"]["messages"][-1]["content"]
    assert "- running shoes" in prompt
    assert fake.calls[-1]["authorization"] == "Bearer sk-test-key-1234"
    assert await balance(owner.account["id"]) == 1000 - 6
    again = await api.call(
        "POST", "/api/v1/planner/clusters/auto_cluster/", as_=owner, json={"ids": ids[:3], "site_id": site["id"]}
    )
    assert [c["created"] for c in again["data"]["clusters"]] == [False]  # reused by name
    assert await Cluster.filter(site_id=site["id"]).count() == 2
    assert await balance(owner.account["id"]) == 1000 - 6 - 5  # the minimum of 5


async def test_generate_ideas_per_cluster(api: Api, world: dict[str, Any]) -> None:
    owner, site = world["owner"], world["site"]
    cluster = (
        await api.call(
            "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": "Trail"}, as_=owner, status=201
        )
    )["data"]
    body = await api.call("POST", "/api/v1/planner/clusters/generate_ideas/", json={"ids": [cluster["id"]]}, as_=owner)
    assert body["data"]["ideas_created"] == 3 and body["data"]["job"]["credits_used"] == 5
    ideas = await ContentIdea.filter(cluster_id=cluster["id"])
    assert len(ideas) == 3 and all("Trail" in idea.title for idea in ideas)
    assert all(idea.description and idea.status == "new" for idea in ideas)
    assert (await Cluster.get(id=cluster["id"])).status == "ideas_generated"


async def test_generate_content_writes_a_draft_and_charges_by_words(
    api: Api, world: dict[str, Any], fake: FakeOpenAI
) -> None:
    owner, site = world["owner"], world["site"]
    task = (
        await api.call(
            "POST",
            "/api/v1/writer/tasks/",
            as_=owner,
            status=201,
            json={
                "site_id": site["id"],
                "title": "Beginner trail running",
                "keywords": ["trail running"],
                "word_count": 1500,
                "content_type": "page",
            },
        )
    )["data"]
    body = await api.call("POST", f"/api/v1/writer/tasks/{task['id']}/generate_content/", as_=owner)
    data = body["data"]
    content = await Content.get(id=data["content_id"])
    assert content.status == "draft" and content.source == "ai" and content.task_id == task["id"]  # type: ignore[attr-defined]
    assert content.content_type == "page"  # the task's: published to WordPress's pages
    assert "trail running" in content.html.lower() and content.word_count == data["word_count"]
    stored_task = await Task.get(id=task["id"])
    assert stored_task.status == "completed" and stored_task.content_id == content.id
    # Reserved for 1,500 words (10 + 5); charged for what was written, never more.
    expected = 10 + max(0, -(-(content.word_count - 1000) // 100))
    assert data["job"]["credits_reserved"] == 15 and data["job"]["credits_used"] == min(15, expected)
    assert await balance(owner.account["id"]) == 1000 - data["job"]["credits_used"]
    assert "word_count: 1500" in fake.calls[-1]["json"]["messages"][-1]["content"]


async def test_edited_prompts_are_what_the_model_receives(api: Api, world: dict[str, Any], fake: FakeOpenAI) -> None:
    owner, site = world["owner"], world["site"]
    text = "task: content\nMY HOUSE STYLE\ntitle: {title}\nkeyword: {keyword}\nword_count: {word_count}\n{brief}"
    await api.call("PUT", "/api/v1/system/prompts/content/", json={"text": text}, as_=owner)
    task = (
        await api.call(
            "POST", "/api/v1/writer/tasks/", json={"site_id": site["id"], "title": "T"}, as_=owner, status=201
        )
    )["data"]
    await api.call("POST", f"/api/v1/writer/tasks/{task['id']}/generate_content/", as_=owner)
    assert "MY HOUSE STYLE" in fake.calls[-1]["json"]["messages"][-1]["content"]


async def test_generate_images_stores_files_and_serves_them(api: Api, world: dict[str, Any]) -> None:
    owner, site = world["owner"], world["site"]
    content = (
        await api.call(
            "POST",
            "/api/v1/writer/content/",
            as_=owner,
            status=201,
            json={"site_id": site["id"], "title": "Trail shoes", "html": "<p>About trail shoes.</p>"},
        )
    )["data"]
    body = await api.call("POST", f"/api/v1/writer/content/{content['id']}/generate_images/", as_=owner)
    job = body["data"]["job"]
    assert job["status"] == "succeeded" and job["credits_used"] == 12  # featured + 2 in-article, 4 each
    images = await Image.filter(content_id=content["id"]).order_by("position")
    assert [i.kind for i in images] == ["featured", "in_article", "in_article"]
    assert all(i.status == "generated" and i.url and i.width == 8 for i in images)
    assert (await Content.get(id=content["id"])).featured_image_id == images[0].id
    served = await api.client.get(images[0].url)
    assert served.status == 200 and (await served.read()).startswith(PNG_SIGNATURE)
    listed = await api.call("GET", "/api/v1/writer/images/", as_=owner, params={"content_id": content["id"]})
    assert listed["count"] == 3
    regen = await api.call(
        "POST",
        "/api/v1/writer/images/regenerate/",
        as_=owner,
        json={"image_id": images[1].id, "prompt": "a muddy trail at dawn"},
    )
    assert regen["data"]["image_id"] == images[1].id and regen["data"]["url"] != images[1].url
    assert (await Image.get(id=images[1].id)).prompt == "a muddy trail at dawn"
    assert await balance(owner.account["id"]) == 1000 - 12 - 4


async def test_optimize_keeps_the_previous_version_and_reports_scores(api: Api, world: dict[str, Any]) -> None:
    owner, site = world["owner"], world["site"]
    content = (
        await api.call(
            "POST",
            "/api/v1/writer/content/",
            as_=owner,
            status=201,
            json={"site_id": site["id"], "title": "Shoes", "html": "<p>short</p>", "primary_keyword": "trail shoes"},
        )
    )["data"]
    body = await api.call("POST", "/api/v1/optimizer/optimize/", json={"content_id": content["id"]}, as_=owner)
    (result,) = body["data"]["contents"]
    assert result["version"] == 2 and result["score_after"] >= result["score_before"]
    old = await ContentVersion.get(content_id=content["id"], version=1)
    assert old.html == "<p>short</p>"
    assert (await Content.get(id=content["id"])).seo_score == result["score_after"]
    assert body["data"]["job"]["credits_used"] == 3


async def test_linker_links_other_contents_once_and_is_idempotent(api: Api, world: dict[str, Any]) -> None:
    owner, site = world["owner"], world["site"]

    async def make(title: str, keyword: str, html: str) -> int:
        return (
            await api.call(
                "POST",
                "/api/v1/writer/content/",
                as_=owner,
                status=201,
                json={"site_id": site["id"], "title": title, "primary_keyword": keyword, "html": html},
            )
        )["data"]["id"]

    filler = " ".join(["word"] * 300)
    source = await make("Guide", "guide", f"<p>Read about trail shoes and yoga mats. {filler}</p>")
    shoes = await make("Trail shoes", "trail shoes", "<p>x</p>")
    mats = await make("Yoga mats", "yoga mats", "<p>y</p>")
    first = await api.call("POST", "/api/v1/linker/process/", json={"content_id": source}, as_=owner)
    links = first["data"]["contents"][0]["links"]
    assert {(link["target_id"], link["anchor"]) for link in links} == {(shoes, "trail shoes"), (mats, "yoga mats")}
    html = (await Content.get(id=source)).html
    assert '<a href="/trail-shoes/">trail shoes</a>' in html
    second = await api.call("POST", "/api/v1/linker/batch_process/", json={"content_ids": [source]}, as_=owner)
    assert second["data"]["contents"][0]["links"] == []
    assert (await Content.get(id=source)).html == html
    assert await Link.filter(source_id=source).count() == 2


async def test_jobs_are_listed_and_read_by_id(api: Api, world: dict[str, Any]) -> None:
    owner, site = world["owner"], world["site"]
    cluster = (
        await api.call(
            "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": "A"}, as_=owner, status=201
        )
    )["data"]
    started = await api.call(
        "POST", "/api/v1/planner/clusters/generate_ideas/", json={"ids": [cluster["id"]]}, as_=owner
    )
    job_id = started["data"]["job"]["id"]
    got = await api.call("GET", f"/api/v1/jobs/{job_id}/", as_=owner)
    assert got["data"]["status"] == "succeeded" and got["data"]["progress"] == {"done": 1, "total": 1}
    listed = await api.call("GET", "/api/v1/jobs/", as_=owner, params={"kind": "generate_ideas", "status": "succeeded"})
    assert [row["id"] for row in listed["results"]] == [job_id]
    stranger = await api.register()
    await api.call("GET", f"/api/v1/jobs/{job_id}/", as_=stranger, status=404)
    assert (await api.call("GET", "/api/v1/jobs/", as_=stranger))["count"] == 0
    assert await job_ledger(job_id) == [("usage", -5)]
    assert (await Job.get(id=job_id)).credits_used == 5


async def test_images_for_several_contents_and_batch_optimize_run_as_one_job_each(
    api: Api, world: dict[str, Any], fake: FakeOpenAI
) -> None:
    owner, site = world["owner"], world["site"]
    await api.call(
        "PUT",
        "/api/v1/system/settings/integrations/image_generation/",
        as_=owner,
        json={"images_per_content": 1, "featured_image": False},
    )
    ids = [
        (
            await api.call(
                "POST",
                "/api/v1/writer/content/",
                as_=owner,
                status=201,
                json={"site_id": site["id"], "title": f"Post {n}", "html": "<p>Text.</p>", "primary_keyword": "post"},
            )
        )["data"]["id"]
        for n in range(3)
    ]
    images = await api.call("POST", "/api/v1/writer/images/generate_for_content/", json={"content_ids": ids}, as_=owner)
    assert images["data"]["job"]["credits_used"] == 12 and len(images["data"]["generated"]) == 3
    assert await Image.filter(content_id__in=ids, kind="in_article", status="generated").count() == 3
    optimized = await api.call("POST", "/api/v1/optimizer/batch_optimize/", json={"content_ids": ids}, as_=owner)
    assert [row["content_id"] for row in optimized["data"]["contents"]] == ids
    assert optimized["data"]["job"]["credits_used"] == 9 and optimized["data"]["job"]["progress"]["done"] == 3
    assert await ContentVersion.filter(content_id__in=ids).count() == 3
    assert await balance(owner.account["id"]) == 1000 - 12 - 9
    assert fake.count("/images/generations") == 3


async def test_image_prompts_given_as_a_bare_list_of_strings_are_prompts(
    api: Api, world: dict[str, Any], fake: FakeOpenAI
) -> None:
    owner, site = world["owner"], world["site"]
    content = (
        await api.call(
            "POST",
            "/api/v1/writer/content/",
            as_=owner,
            status=201,
            json={"site_id": site["id"], "title": "Trail shoes", "html": "<p>About trail shoes.</p>"},
        )
    )["data"]
    fake.responders["image_prompts"] = lambda body: ["A trail at dawn", "Muddy shoes", "A finish line"]
    body = await api.call("POST", f"/api/v1/writer/content/{content['id']}/generate_images/", as_=owner)
    assert body["data"]["job"]["status"] == "succeeded" and fake.count("/chat/completions") == 1
    images = await Image.filter(content_id=content["id"]).order_by("position")
    assert [(i.kind, i.prompt, i.alt_text) for i in images] == [
        ("featured", "A trail at dawn", ""),
        ("in_article", "Muddy shoes", ""),
        ("in_article", "A finish line", ""),
    ]


async def test_an_article_without_optional_fields_is_stored_with_the_tasks_keyword(
    api: Api, world: dict[str, Any], fake: FakeOpenAI
) -> None:
    owner, site = world["owner"], world["site"]
    task = (
        await api.call(
            "POST",
            "/api/v1/writer/tasks/",
            as_=owner,
            status=201,
            json={"site_id": site["id"], "title": "Trail shoes", "keywords": ["trail shoes"]},
        )
    )["data"]
    answer = {"title": " Trail Shoes ", "html": "<h2>Fit</h2><p>Trail shoes fit.</p>", "meta_title": None}
    fake.responders["content"] = lambda body: answer
    body = await api.call("POST", f"/api/v1/writer/tasks/{task['id']}/generate_content/", as_=owner)
    content = await Content.get(id=body["data"]["content_id"])
    assert (content.title, content.meta_title, content.meta_description) == ("Trail Shoes", "", "")
    assert (content.primary_keyword, content.secondary_keywords) == ("trail shoes", [])


async def test_an_article_for_a_task_without_keywords_takes_the_title_cut_to_a_keyword(
    api: Api, world: dict[str, Any], fake: FakeOpenAI
) -> None:
    owner, site = world["owner"], world["site"]
    title = "Trail shoes " * 25  # 300 characters, longer than a keyword may be
    task = (
        await api.call(
            "POST", "/api/v1/writer/tasks/", as_=owner, status=201, json={"site_id": site["id"], "title": title}
        )
    )["data"]
    fake.responders["content"] = lambda body: {"title": "Trail Shoes", "html": "<p>Trail shoes fit.</p>"}
    body = await api.call("POST", f"/api/v1/writer/tasks/{task['id']}/generate_content/", as_=owner)
    content = await Content.get(id=body["data"]["content_id"])
    assert content.primary_keyword == title[:255]
