"""Planner: keywords, clusters, ideas, bulk operations and their tenancy (CONTRACT §6)."""

from __future__ import annotations

import asyncio
from typing import Any

from models.planner import Cluster, ContentIdea, Keyword
from models.writer import Task
from tests.helpers import Api, Caller

KEYWORDS = "/api/v1/planner/keywords/"
CLUSTERS = "/api/v1/planner/clusters/"
IDEAS = "/api/v1/planner/ideas/"


async def _keyword(api: Api, owner: Caller, site_id: int, **overrides: Any) -> dict[str, Any]:
    payload = {"site_id": site_id, "keyword": "best running shoes", "volume": 1000, "difficulty": 40, **overrides}
    return (await api.call("POST", KEYWORDS, json=payload, as_=owner, status=201))["data"]


async def _cluster(api: Api, owner: Caller, site_id: int, **overrides: Any) -> dict[str, Any]:
    payload = {"site_id": site_id, "name": "Running", **overrides}
    return (await api.call("POST", CLUSTERS, json=payload, as_=owner, status=201))["data"]


async def test_keywords_are_normalised_and_unique_per_site_case_insensitively(api: Api) -> None:
    owner = await api.register()
    site, other_site = await api.site(owner), await api.site(owner)
    kw = await _keyword(api, owner, site["id"], keyword="  Best   Running\tShoes ")
    assert kw["keyword"] == "Best Running Shoes" and kw["status"] == "new" and kw["intent"] == "informational"
    dup = await api.call(
        "POST", KEYWORDS, json={"site_id": site["id"], "keyword": "best running shoes"}, as_=owner, status=409
    )
    assert dup["code"] == "duplicate"
    await _keyword(api, owner, other_site["id"], keyword="best running shoes")
    assert await Keyword.filter(site_id=site["id"]).count() == 1


async def _planner_rows(api: Api, owner: Caller) -> dict[str, Any]:
    """Two sites of one account, planner rows that differ in every filtered field."""
    site, other = await api.site(owner), await api.site(owner)
    sector = (
        await api.call(
            "POST", "/api/v1/auth/sectors/", json={"site_id": site["id"], "name": "Trail"}, as_=owner, status=201
        )
    )["data"]
    trail = await _cluster(api, owner, site["id"], name="Trail", sector_id=sector["id"])
    archived = await _cluster(api, owner, site["id"], name="Old", status="archived", description="retired shoes")
    roads = await _cluster(api, owner, other["id"], name="Roads")
    alpha = await _keyword(
        api,
        owner,
        site["id"],
        keyword="alpha shoes",
        volume=10,
        difficulty=5,
        intent="commercial",
        sector_id=sector["id"],
        cluster_id=trail["id"],
    )
    beta = await _keyword(api, owner, site["id"], keyword="beta shoes", volume=500, difficulty=50)
    gamma = await _keyword(
        api,
        owner,
        other["id"],
        keyword="gamma boots",
        volume=5000,
        difficulty=90,
        intent="transactional",
        status="archived",
        cluster_id=roads["id"],
    )
    ideas = {}
    for name, overrides in {
        "guide": {"site_id": site["id"], "cluster_id": trail["id"], "sector_id": sector["id"]},
        "page": {"site_id": site["id"], "content_type": "page", "status": "completed"},
        "boots": {"site_id": other["id"], "cluster_id": roads["id"]},
    }.items():
        body = await api.call("POST", IDEAS, json={"title": f"The {name} idea", **overrides}, as_=owner, status=201)
        ideas[name] = body["data"]["id"]
    return {
        "site": site["id"],
        "other": other["id"],
        "sector": sector["id"],
        "trail": trail["id"],
        "archived": archived["id"],
        "roads": roads["id"],
        "alpha": alpha["id"],
        "beta": beta["id"],
        "gamma": gamma["id"],
        **ideas,
    }


async def test_every_keyword_filter_keeps_its_rows_and_hides_the_others(api: Api) -> None:
    owner = await api.register()
    r = await _planner_rows(api, owner)
    await api.assert_filters(
        KEYWORDS,
        owner,
        [
            ({"site_id": r["site"]}, {r["alpha"], r["beta"]}),
            ({"site_id": r["other"]}, {r["gamma"]}),
            ({"sector_id": r["sector"]}, {r["alpha"]}),
            ({"cluster_id": r["roads"]}, {r["gamma"]}),
            ({"status": "archived"}, {r["gamma"]}),
            ({"intent": "commercial"}, {r["alpha"]}),
            ({"volume_min": 100}, {r["beta"], r["gamma"]}),
            ({"volume_max": 100}, {r["alpha"]}),
            ({"difficulty_min": 60}, {r["gamma"]}),
            ({"difficulty_max": 10}, {r["alpha"]}),
            ({"search": "SHOES"}, {r["alpha"], r["beta"]}),
            ({"search": "shoes", "volume_min": 100}, {r["beta"]}),
        ],
    )


async def test_every_cluster_and_idea_filter_keeps_its_rows_and_hides_the_others(api: Api) -> None:
    owner = await api.register()
    r = await _planner_rows(api, owner)
    await api.assert_filters(
        CLUSTERS,
        owner,
        [
            ({"site_id": r["site"]}, {r["trail"], r["archived"]}),
            ({"sector_id": r["sector"]}, {r["trail"]}),
            ({"status": "archived"}, {r["archived"]}),
            ({"volume_min": 100}, {r["roads"]}),
            ({"volume_max": 100}, {r["trail"], r["archived"]}),
            ({"search": "RETIRED"}, {r["archived"]}),
            ({"search": "trail"}, {r["trail"]}),
        ],
    )
    await api.assert_filters(
        IDEAS,
        owner,
        [
            ({"site_id": r["other"]}, {r["boots"]}),
            ({"sector_id": r["sector"]}, {r["guide"]}),
            ({"cluster_id": r["trail"]}, {r["guide"]}),
            ({"status": "completed"}, {r["page"]}),
            ({"content_type": "page"}, {r["page"]}),
            ({"search": "BOOTS"}, {r["boots"]}),
        ],
    )


async def test_keyword_ordering_and_bad_filter_values(api: Api) -> None:
    owner = await api.register()
    r = await _planner_rows(api, owner)
    body = await api.call("GET", KEYWORDS, as_=owner, params={"ordering": "-volume"})
    assert [row["id"] for row in body["results"]] == [r["gamma"], r["beta"], r["alpha"]]
    default = await api.call("GET", KEYWORDS, as_=owner)
    assert [row["id"] for row in default["results"]] == [r["gamma"], r["beta"], r["alpha"]]
    by_name = await api.call("GET", KEYWORDS, as_=owner, params={"ordering": "keyword"})
    assert [row["id"] for row in by_name["results"]] == [r["alpha"], r["beta"], r["gamma"]]
    for params in ({"status": "weird"}, {"volume_min": 10, "volume_max": 1}, {"ordering": "site"}, {"site_id": "x"}):
        await api.call("GET", KEYWORDS, as_=owner, params=params, status=400)


async def test_cluster_totals_follow_keywords_moving_changing_and_being_deleted(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    cluster = await _cluster(api, owner, site["id"])
    a = await _keyword(api, owner, site["id"], keyword="a shoes", volume=100, cluster_id=cluster["id"])
    b = await _keyword(api, owner, site["id"], keyword="b shoes", volume=200, cluster_id=cluster["id"])
    c = await _keyword(api, owner, site["id"], keyword="c shoes", volume=400)

    async def totals() -> tuple[int, int]:
        row = await Cluster.get(id=cluster["id"])
        return row.keywords_count, row.volume

    assert await totals() == (2, 300)
    await api.call("PUT", f"{KEYWORDS}{c['id']}/", json={"cluster_id": cluster["id"]}, as_=owner)
    assert await totals() == (3, 700)
    await api.call("PUT", f"{KEYWORDS}{a['id']}/", json={"volume": 150}, as_=owner)
    assert await totals() == (3, 750)
    await api.call("PUT", f"{KEYWORDS}{b['id']}/", json={"cluster_id": None}, as_=owner)
    assert await totals() == (2, 550)
    await api.call("DELETE", f"{KEYWORDS}{a['id']}/", as_=owner, status=204)
    assert await totals() == (1, 400)
    body = await api.call("POST", f"{KEYWORDS}bulk_delete/", json={"ids": [c["id"]]}, as_=owner)
    assert body["data"] == {"deleted": 1, "not_found": []}
    assert await totals() == (0, 0)
    shown = await api.call("GET", f"{CLUSTERS}{cluster['id']}/", as_=owner)
    assert shown["data"]["keywords_count"] == 0 and shown["data"]["volume"] == 0


async def test_bulk_operations_leave_other_accounts_ids_alone(api: Api) -> None:
    mine, theirs = await api.register(), await api.register()
    my_site, their_site = await api.site(mine), await api.site(theirs)
    my_kw = await _keyword(api, mine, my_site["id"], keyword="mine")
    their_kw = await _keyword(api, theirs, their_site["id"], keyword="theirs")
    body = await api.call(
        "POST", f"{KEYWORDS}bulk_status/", json={"ids": [my_kw["id"], their_kw["id"]], "status": "archived"}, as_=mine
    )
    assert body["data"] == {"updated": 1, "not_found": [their_kw["id"]]}
    body = await api.call("POST", f"{KEYWORDS}bulk_delete/", json={"ids": [their_kw["id"], 999999]}, as_=mine)
    assert body["data"] == {"deleted": 0, "not_found": [their_kw["id"], 999999]}
    assert (await Keyword.get(id=their_kw["id"])).status == "new"
    too_many = await api.call(
        "POST", f"{KEYWORDS}bulk_delete/", json={"ids": list(range(1, 1002))}, as_=mine, status=400
    )
    assert "ids" in too_many["errors"]
    for payload in ({"ids": []}, {"ids": ["a"]}, {"ids": [1], "status": "gone"}, {"ids": [-1], "status": "new"}):
        await api.call("POST", f"{KEYWORDS}bulk_status/", json=payload, as_=mine, status=400)
    assert await Keyword.filter(status="archived").count() == 1


async def test_ideas_turned_into_tasks_by_four_requests_at_once_get_one_task_each(api: Api) -> None:
    """Each request read the ideas as `new` before writing: those running beside the first made
    a second (third, fourth) task of every idea. Now each idea gets one task, and the other
    requests list it as skipped."""
    owner = await api.register()
    site = (await api.site(owner))["id"]
    ideas = []
    for n in range(5):
        body = {"site_id": site, "title": f"Idea {n}"}
        ideas.append((await api.call("POST", IDEAS, json=body, as_=owner, status=201))["data"]["id"])

    async def create() -> Any:
        response = await api.client.post(f"{IDEAS}create_tasks/", json={"ids": ideas}, headers=owner.headers)
        assert response.status == 201
        return (await response.json())["data"]

    answers = await asyncio.gather(*(create() for _ in range(4)))
    assert sorted(answer["created"] for answer in answers) == [0, 0, 0, 5]
    assert sorted(len(answer["skipped"]) for answer in answers) == [0, 5, 5, 5]
    assert sorted(await Task.filter(site_id=site).values_list("idea_id", flat=True)) == ideas


async def test_add_to_workflow_copies_seed_keywords_and_skips_duplicates(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    seeds = (await api.call("GET", "/api/v1/auth/seed-keywords/", as_=owner, params={"page_size": 3}))["results"]
    ids = [seed["id"] for seed in seeds]
    body = await api.call(
        "POST",
        f"{KEYWORDS}add_to_workflow/",
        json={"site_id": site["id"], "seed_keyword_ids": ids},
        as_=owner,
        status=201,
    )
    assert body["data"]["created"] == 3 and body["data"]["skipped"] == 0
    assert len(body["data"]["keyword_ids"]) == 3
    again = await api.call(
        "POST",
        f"{KEYWORDS}add_to_workflow/",
        json={"site_id": site["id"], "seed_keyword_ids": [*ids, 99999999]},
        as_=owner,
        status=201,
    )
    assert again["data"] == {"created": 0, "skipped": 3, "keyword_ids": [], "not_found": [99999999]}
    stored = await Keyword.filter(site_id=site["id"]).order_by("id").values("keyword", "volume", "seed_keyword_id")
    assert [row["seed_keyword_id"] for row in stored] == ids
    assert stored[0]["keyword"] == seeds[0]["keyword"] and stored[0]["volume"] == seeds[0]["volume"]


async def test_the_same_seeds_added_four_times_at_once_are_added_once_and_skipped_three_times(api: Api) -> None:
    """Each add read the site's keywords before taking the site's keyword room: those running
    beside the first inserted the same keywords again and answered 500 (a unique violation)."""
    owner = await api.register()
    site = (await api.site(owner))["id"]
    seeds = (await api.call("GET", "/api/v1/auth/seed-keywords/", as_=owner, params={"page_size": 20}))["results"]
    body = {"site_id": site, "seed_keyword_ids": [seed["id"] for seed in seeds]}

    async def add() -> tuple[int, Any]:
        response = await api.client.post(f"{KEYWORDS}add_to_workflow/", json=body, headers=owner.headers)
        return response.status, await response.json()

    answers = await asyncio.gather(*(add() for _ in range(4)))
    assert [status for status, _ in answers] == [201] * 4, answers
    assert sorted(answer["data"]["created"] for _, answer in answers) == [0, 0, 0, 20]
    assert await Keyword.filter(site_id=site).count() == 20


async def test_clusters_have_unique_names_and_deleting_one_unmaps_its_keywords(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    cluster = await _cluster(api, owner, site["id"], name="Trail Running")
    dup = await api.call("POST", CLUSTERS, json={"site_id": site["id"], "name": "trail running"}, as_=owner, status=409)
    assert dup["code"] == "duplicate"
    kw = await _keyword(api, owner, site["id"], cluster_id=cluster["id"], status="mapped")
    await api.call("DELETE", f"{CLUSTERS}{cluster['id']}/", as_=owner, status=204)
    stored = await Keyword.get(id=kw["id"])
    assert stored.cluster_id is None and stored.status == "new"  # type: ignore[attr-defined]


async def test_ideas_become_tasks_once(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    cluster = await _cluster(api, owner, site["id"])
    payload = {
        "site_id": site["id"],
        "cluster_id": cluster["id"],
        "title": "How to choose running shoes",
        "description": [{"heading": "Fit", "notes": "Toe room"}, {"heading": "Cushioning"}],
        "content_structure": "how_to",
        "target_keywords": ["running shoes", "shoe fit"],
        "estimated_word_count": 1500,
    }
    idea = (await api.call("POST", IDEAS, json=payload, as_=owner, status=201))["data"]
    assert idea["description"] == [{"heading": "Fit", "notes": "Toe room"}, {"heading": "Cushioning", "notes": ""}]
    body = await api.call("POST", f"{IDEAS}create_tasks/", json={"ids": [idea["id"], 424242]}, as_=owner, status=201)
    assert body["data"]["created"] == 1 and body["data"]["not_found"] == [424242]
    task = await Task.get(id=body["data"]["task_ids"][0])
    assert (task.title, task.word_count, task.keywords) == (payload["title"], 1500, ["running shoes", "shoe fit"])
    assert task.status == "queued" and task.idea_id == idea["id"]  # type: ignore[attr-defined]
    assert (await ContentIdea.get(id=idea["id"])).status == "queued"
    again = await api.call("POST", f"{IDEAS}create_tasks/", json={"ids": [idea["id"]]}, as_=owner, status=201)
    assert again["data"]["created"] == 0 and again["data"]["skipped"] == [idea["id"]]
    for bad in (
        {"description": "not a list"},
        {"description": [{"notes": "no heading"}]},
        {"content_structure": "poem"},
        {"estimated_word_count": 5},
        {"target_keywords": [1]},
    ):
        await api.call("POST", IDEAS, json={**payload, **bad}, as_=owner, status=400)


async def test_planner_writes_need_editor_and_respect_tenancy(api: Api) -> None:
    owner, stranger = await api.register(), await api.register()
    site = await api.site(owner)
    viewer = await api.member(owner, "viewer")
    await api.call("POST", KEYWORDS, json={"site_id": site["id"], "keyword": "x"}, as_=viewer, status=403)
    editor = await api.member(owner, "editor")
    kw = await _keyword(api, editor, site["id"])
    body = await api.call("POST", KEYWORDS, json={"site_id": site["id"], "keyword": "y"}, as_=stranger, status=400)
    assert body["errors"] == {"site_id": ["Site not found."]}
    for method in ("GET", "DELETE"):
        await api.call(method, f"{KEYWORDS}{kw['id']}/", as_=stranger, status=404)
    await api.call("PUT", f"{KEYWORDS}{kw['id']}/", json={"volume": 1}, as_=stranger, status=404)
    assert (await api.call("GET", KEYWORDS, as_=stranger, params={"site_id": site["id"]}))["count"] == 0
    stranger_site = await api.site(stranger)
    their_cluster = await _cluster(api, stranger, stranger_site["id"])
    body = await api.call(
        "PUT", f"{KEYWORDS}{kw['id']}/", json={"cluster_id": their_cluster["id"]}, as_=owner, status=400
    )
    assert "cluster_id" in body["errors"]


async def test_a_full_site_refuses_a_new_keyword_but_a_duplicate_is_still_409(
    aiohttp_client: Any, make_settings: Any
) -> None:
    from config.settings import PlanLimits
    from server.app import create_app

    settings = make_settings(plan=PlanLimits(keywords_per_site=2))
    api = Api(await aiohttp_client(create_app(settings, docs=False)))
    owner = await api.register()
    site, other = await api.site(owner), await api.site(owner)
    await _keyword(api, owner, site["id"], keyword="one")
    await _keyword(api, owner, site["id"], keyword="two")
    full = await api.call("POST", KEYWORDS, json={"site_id": site["id"], "keyword": "three"}, as_=owner, status=403)
    assert full["code"] == "plan_limit" and "2 keywords per site" in full["error"]
    dup = await api.call("POST", KEYWORDS, json={"site_id": site["id"], "keyword": "ONE"}, as_=owner, status=409)
    assert dup["code"] == "duplicate"
    await _keyword(api, owner, other["id"], keyword="three")  # the limit is per site
    assert await Keyword.filter(site_id=site["id"]).count() == 2
