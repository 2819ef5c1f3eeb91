"""Semantics a user trips over: regenerating content, a keyword's status following its cluster,
case-insensitive search beyond ASCII, and PUT accepting what GET returned."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.operations.writer import GenerateContent
from models.accounts import Site
from models.billing import UsageLog
from models.jobs import Job
from models.planner import Cluster, Keyword
from models.writer import Content, ContentVersion, Task
from server.app import create_app
from tests.ai_helpers import balance, configure_ai
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api, Caller

KEYWORDS = "/api/v1/planner/keywords/"
CLUSTERS = "/api/v1/planner/clusters/"
TASKS = "/api/v1/writer/tasks/"
CONTENT = "/api/v1/writer/content/"
SITES = "/api/v1/auth/sites/"


async def _openapi(aiohttp_client: Any, settings: Any) -> dict[str, Any]:
    """The OpenAPI document, its paths keyed with a plain `{id}`."""
    client = await aiohttp_client(create_app(settings))
    doc: dict[str, Any] = await (await client.get("/api/docs/openapi.json")).json()
    doc["paths"] = {re.sub(r"{id[^}]*}", "{id}", path): item for path, item in doc["paths"].items()}
    return doc


def _body_schema(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


async def _create(api: Api, owner: Caller, path: str, **payload: Any) -> dict[str, Any]:
    return (await api.call("POST", path, json=payload, as_=owner, status=201))["data"]


# --- generate_content on a task that already has content --------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def written(api: Api, fake: FakeOpenAI) -> dict[str, Any]:
    """A task whose article has been generated once."""
    owner = await api.register()
    site = await api.site(owner)
    await configure_ai(api, owner, fake)
    task = await _create(api, owner, TASKS, site_id=site["id"], title="Trail running", keywords=["trail running"])
    first = (await api.call("POST", f"{TASKS}{task['id']}/generate_content/", as_=owner))["data"]
    return {"owner": owner, "site": site, "task": task, "first": first}


async def test_generating_again_without_regenerate_is_a_conflict_that_reserves_and_calls_nothing(
    api: Api, written: dict[str, Any], fake: FakeOpenAI
) -> None:
    owner, task = written["owner"], written["task"]
    calls, credits, jobs = len(fake.calls), await balance(owner.account["id"]), await Job.all().count()
    for body in (None, {}, {"regenerate": False}):
        answer = await api.call("POST", f"{TASKS}{task['id']}/generate_content/", json=body, as_=owner, status=409)
        assert answer["code"] == "conflict" and "regenerate" in answer["error"]
    assert len(fake.calls) == calls and await balance(owner.account["id"]) == credits
    assert await Job.all().count() == jobs
    assert await Content.filter(task_id=task["id"]).count() == 1


async def test_regenerate_stores_the_new_text_as_the_next_version_of_the_same_content(
    api: Api, written: dict[str, Any], fake: FakeOpenAI
) -> None:
    owner, task, first = written["owner"], written["task"], written["first"]
    before = await Content.get(id=first["content_id"])
    credits = await balance(owner.account["id"])
    html = "<h2>Again</h2><p>" + "word " * 1450 + "</p>"
    fake.responders["content"] = lambda body: {"title": "Trail Running, Again", "html": html}
    body = await api.call("POST", f"{TASKS}{task['id']}/generate_content/", json={"regenerate": True}, as_=owner)
    data = body["data"]
    assert data["content_id"] == first["content_id"]
    assert await Content.filter(task_id=task["id"]).count() == 1
    content = await Content.get(id=first["content_id"])
    assert content.version == before.version + 1 and content.title == "Trail Running, Again"
    assert "Again" in content.html and content.word_count == data["word_count"] > before.word_count
    kept = await ContentVersion.get(content_id=content.id)
    assert (kept.version, kept.title, kept.html, kept.word_count) == (
        before.version,
        before.title,
        before.html,
        before.word_count,
    )
    # Charged like a generation: reserved for the task's words, charged for the words written.
    assert data["job"]["credits_used"] > 0
    assert await balance(owner.account["id"]) == credits - data["job"]["credits_used"]
    assert await UsageLog.filter(job_id=data["job"]["id"], operation="generate_content").count() == 1
    assert (await Job.get(id=data["job"]["id"])).params["regenerate"] is True
    stored_task = await Task.get(id=task["id"])
    assert stored_task.status == "completed" and stored_task.content_id == content.id


async def test_content_made_for_the_task_while_its_article_is_written_gets_the_article_as_its_next_version(
    api: Api, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await api.register()
    site = await api.site(owner)
    await configure_ai(api, owner, fake)
    task = await _create(api, owner, TASKS, site_id=site["id"], title="Trail running", keywords=["trail running"])
    chat = GenerateContent.chat
    racing: list[Content] = []

    async def chat_then_a_racing_request(self: GenerateContent, *args: Any, **kwargs: Any) -> Any:
        answer = await chat(self, *args, **kwargs)
        # Another request stores content for the task after the plan saw none.
        racing.append(await _create_content(owner, site["id"], task["id"]))
        return answer

    monkeypatch.setattr(GenerateContent, "chat", chat_then_a_racing_request)
    data = (await api.call("POST", f"{TASKS}{task['id']}/generate_content/", as_=owner))["data"]
    assert data["content_id"] == racing[0].id  # the article became its next version
    assert await Content.filter(task_id=task["id"]).count() == 1
    content = await Content.get(id=racing[0].id)
    assert content.version == 2 and content.source == "manual" and content.word_count == data["word_count"]
    assert (await ContentVersion.get(content_id=content.id)).title == "Written by hand"
    stored_task = await Task.get(id=task["id"])
    assert stored_task.status == "completed" and stored_task.content_id == content.id


async def _create_content(owner: Caller, site_id: int, task_id: int) -> Content:
    return await Content.create(
        account_id=owner.account["id"], site_id=site_id, task_id=task_id, title="Written by hand", slug="by-hand"
    )


async def test_regenerate_must_be_a_boolean_and_the_body_knows_no_other_field(
    api: Api, written: dict[str, Any]
) -> None:
    owner, task = written["owner"], written["task"]
    for body, field in (({"regenerate": "yes"}, "regenerate"), ({"regenerate": 1}, "regenerate"), ({"x": 1}, "x")):
        answer = await api.call("POST", f"{TASKS}{task['id']}/generate_content/", json=body, as_=owner, status=400)
        assert answer["code"] == "validation_error" and field in answer["errors"], answer
    assert await ContentVersion.all().count() == 0


async def test_regenerate_on_a_task_without_content_writes_its_first_content(api: Api, fake: FakeOpenAI) -> None:
    owner = await api.register()
    site = await api.site(owner)
    await configure_ai(api, owner, fake)
    task = await _create(api, owner, TASKS, site_id=site["id"], title="Fresh")
    body = await api.call("POST", f"{TASKS}{task['id']}/generate_content/", json={"regenerate": True}, as_=owner)
    content = await Content.get(id=body["data"]["content_id"])
    assert content.version == 1 and await ContentVersion.filter(content_id=content.id).count() == 0


async def test_the_409_and_the_regenerate_body_are_in_the_openapi_document(aiohttp_client: Any, settings: Any) -> None:
    doc = await _openapi(aiohttp_client, settings)
    operation = doc["paths"]["/api/v1/writer/tasks/{id}/generate_content/"]["post"]
    assert "409" in operation["responses"] and "regenerate" in operation["responses"]["409"]["description"]
    assert not operation["requestBody"].get("required", False)
    body = _body_schema(doc, operation)
    assert body["properties"]["regenerate"]["type"] == "boolean"
    assert body["properties"]["regenerate"]["default"] is False


# --- a keyword's status follows its cluster -----------------------------------------------------------


async def test_joining_a_cluster_maps_a_keyword_and_leaving_it_makes_it_new(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    cluster = await _create(api, owner, CLUSTERS, site_id=site["id"], name="Shoes")
    other = await _create(api, owner, CLUSTERS, site_id=site["id"], name="Socks")
    kw = await _create(api, owner, KEYWORDS, site_id=site["id"], keyword="trail shoes", volume=100)
    assert kw["status"] == "new"

    joined = (await api.call("PUT", f"{KEYWORDS}{kw['id']}/", json={"cluster_id": cluster["id"]}, as_=owner))["data"]
    assert joined["status"] == "mapped" and (await Keyword.get(id=kw["id"])).status == "mapped"
    assert (await Cluster.get(id=cluster["id"])).keywords_count == 1

    moved = (await api.call("PUT", f"{KEYWORDS}{kw['id']}/", json={"cluster_id": other["id"]}, as_=owner))["data"]
    assert moved["status"] == "mapped"
    assert [(await Cluster.get(id=c["id"])).keywords_count for c in (cluster, other)] == [0, 1]

    left = (await api.call("PUT", f"{KEYWORDS}{kw['id']}/", json={"cluster_id": None}, as_=owner))["data"]
    assert left["status"] == "new" and (await Keyword.get(id=kw["id"])).status == "new"
    assert (await Cluster.get(id=other["id"])).keywords_count == 0


async def test_a_status_sent_with_the_cluster_wins_unless_it_is_the_unchanged_one_get_returned(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    cluster = await _create(api, owner, CLUSTERS, site_id=site["id"], name="Shoes")
    kw = await _create(api, owner, KEYWORDS, site_id=site["id"], keyword="trail shoes")
    path = f"{KEYWORDS}{kw['id']}/"

    archived = {"cluster_id": cluster["id"], "status": "archived"}
    assert (await api.call("PUT", path, json=archived, as_=owner))["data"]["status"] == "archived"
    await api.call("PUT", path, json={"cluster_id": None, "status": "new"}, as_=owner)

    # GET → set the cluster → PUT back: the echoed `status: new` is not a choice, so it is mapped.
    shown = (await api.call("GET", path, as_=owner))["data"]
    assert shown["status"] == "new"
    put = (await api.call("PUT", path, json={**shown, "cluster_id": cluster["id"]}, as_=owner))["data"]
    assert put["status"] == "mapped"

    # A status change alone leaves the cluster alone.
    alone = (await api.call("PUT", path, json={"status": "archived"}, as_=owner))["data"]
    assert (alone["status"], alone["cluster_id"]) == ("archived", cluster["id"])


async def test_a_keyword_created_in_a_cluster_is_mapped_unless_a_status_is_given(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    cluster = await _create(api, owner, CLUSTERS, site_id=site["id"], name="Shoes")
    mapped = await _create(api, owner, KEYWORDS, site_id=site["id"], keyword="a", cluster_id=cluster["id"])
    chosen = await _create(
        api, owner, KEYWORDS, site_id=site["id"], keyword="b", cluster_id=cluster["id"], status="archived"
    )
    assert (mapped["status"], chosen["status"]) == ("mapped", "archived")
    assert (await Cluster.get(id=cluster["id"])).keywords_count == 2


# --- case-insensitive search beyond ASCII -------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "searched"),
    [
        ("ünïcode shoes", "ÜNÏ"),
        ("ÜNÏCODE SHOES", "ünï"),
        ("café crème", "CAFÉ CRÈME"),
        ("Кроссовки для бега", "кроссовки"),
    ],
)
async def test_search_folds_case_beyond_ascii_on_every_backend(api: Api, stored: str, searched: str) -> None:
    owner = await api.register()
    site = await api.site(owner, name=stored)
    await _create(api, owner, KEYWORDS, site_id=site["id"], keyword=stored)
    await _create(api, owner, KEYWORDS, site_id=site["id"], keyword="unrelated")
    await _create(api, owner, CLUSTERS, site_id=site["id"], name=stored)
    for path, params in ((KEYWORDS, {"site_id": site["id"]}), (CLUSTERS, {}), (SITES, {})):
        body = await api.call("GET", path, params={**params, "search": searched}, as_=owner)
        assert body["count"] == 1, (path, body)
    body = await api.call("GET", KEYWORDS, params={"search": "ÿ" + searched}, as_=owner)
    assert body["count"] == 0


# --- PUT accepts what GET returned --------------------------------------------------------------------


@pytest.fixture
async def objects(api: Api) -> dict[str, Any]:
    """A site with one of each editable resource; `paths` maps a name to its detail path."""
    owner = await api.register()
    site = await api.site(owner)
    other_site = await api.site(owner)
    cluster = await _create(api, owner, CLUSTERS, site_id=site["id"], name="Shoes")
    keyword = await _create(api, owner, KEYWORDS, site_id=site["id"], keyword="trail shoes", cluster_id=cluster["id"])
    task = await _create(api, owner, TASKS, site_id=site["id"], title="Trail shoes", keywords=["trail shoes"])
    content = await _create(api, owner, CONTENT, site_id=site["id"], title="Trail shoes", html="<p>Fit well.</p>")
    return {
        "owner": owner,
        "other_site": other_site,
        "paths": {
            "keyword": f"{KEYWORDS}{keyword['id']}/",
            "cluster": f"{CLUSTERS}{cluster['id']}/",
            "task": f"{TASKS}{task['id']}/",
            "content": f"{CONTENT}{content['id']}/",
            "site": f"{SITES}{site['id']}/",
        },
    }


EDITS = {
    "keyword": ("volume", 700),
    "cluster": ("description", "All about shoes"),
    "task": ("brief", "Cover fit and grip."),
    "content": ("meta_title", "Trail shoes that fit"),
    "site": ("name", "Renamed site"),
}


@pytest.mark.parametrize("resource", sorted(EDITS))
async def test_get_edit_one_field_put_back_round_trips(api: Api, objects: dict[str, Any], resource: str) -> None:
    owner, path = objects["owner"], objects["paths"][resource]
    shown = (await api.call("GET", path, as_=owner))["data"]
    name, value = EDITS[resource]
    put = (await api.call("PUT", path, json={**shown, name: value}, as_=owner))["data"]
    assert put[name] == value
    again = (await api.call("GET", path, as_=owner))["data"]
    ignore = {name, "updated_at"}
    assert {k: v for k, v in again.items() if k not in ignore} == {k: v for k, v in shown.items() if k not in ignore}
    assert again[name] == value


def _changed(resource: str, shown: dict[str, Any], objects: dict[str, Any]) -> list[tuple[str, Any]]:
    changes: list[tuple[str, Any]] = [("id", shown["id"] + 1000), ("created_at", "2001-01-01T00:00:00Z")]
    if "site_id" in shown:  # moving to another site of the same account must stay impossible
        changes.append(("site_id", objects["other_site"]["id"]))
    return changes


@pytest.mark.parametrize("resource", sorted(EDITS))
async def test_changing_a_read_only_field_is_a_400_naming_it_and_stores_nothing(
    api: Api, objects: dict[str, Any], resource: str
) -> None:
    owner, path = objects["owner"], objects["paths"][resource]
    shown = (await api.call("GET", path, as_=owner))["data"]
    name, value = EDITS[resource]
    for field, changed in _changed(resource, shown, objects):
        body = await api.call("PUT", path, json={**shown, name: value, field: changed}, as_=owner, status=400)
        assert body["code"] == "validation_error" and list(body["errors"]) == [field], body
        assert body["errors"][field][0].startswith("read_only"), body
        assert field in body["error"]
    assert (await api.call("GET", path, as_=owner))["data"] == shown


@pytest.mark.parametrize("resource", sorted(EDITS))
async def test_an_unknown_field_in_a_put_is_still_a_400(api: Api, objects: dict[str, Any], resource: str) -> None:
    owner, path = objects["owner"], objects["paths"][resource]
    shown = (await api.call("GET", path, as_=owner))["data"]
    name, value = EDITS[resource]
    body = await api.call("PUT", path, json={**shown, name: value, "colour": "red"}, as_=owner, status=400)
    assert body["code"] == "validation_error" and "colour" in body["errors"]
    assert (await api.call("GET", path, as_=owner))["data"] == shown


async def test_a_counted_field_that_changed_since_the_get_names_itself(api: Api, objects: dict[str, Any]) -> None:
    owner, path = objects["owner"], objects["paths"]["cluster"]
    shown = (await api.call("GET", path, as_=owner))["data"]
    body = await api.call("PUT", path, json={**shown, "keywords_count": 99}, as_=owner, status=400)
    assert list(body["errors"]) == ["keywords_count"]
    assert (await Cluster.get(id=shown["id"])).keywords_count == 1
    site = await Site.get(id=objects["other_site"]["id"])
    assert await Keyword.filter(site_id=site.id).count() == 0


async def test_the_put_body_documents_read_only_fields(aiohttp_client: Any, settings: Any) -> None:
    doc = await _openapi(aiohttp_client, settings)
    properties = _body_schema(doc, doc["paths"]["/api/v1/planner/keywords/{id}/"]["put"])["properties"]
    assert properties["site_id"]["readOnly"] is True and properties["created_at"]["readOnly"] is True
    assert not properties["volume"].get("readOnly", False)
