"""`optimizer/analyze/`: the deterministic SEO score of a content, free of charge (CONTRACT §10)."""

from __future__ import annotations

from models.accounts import Account
from models.writer import Content
from tests.helpers import Api

ANALYZE = "/api/v1/optimizer/analyze/"


async def test_analyze_scores_named_checks_stores_the_score_and_costs_nothing(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    html = "<h2>Trail running basics</h2><p>" + "Trail running is fun and easy to start. " * 40 + "</p>"
    content = (
        await api.call(
            "POST",
            "/api/v1/writer/content/",
            as_=owner,
            status=201,
            json={
                "site_id": site["id"],
                "title": "Trail running for beginners",
                "html": html,
                "primary_keyword": "trail running",
                "meta_title": "Trail running for beginners: a guide",
            },
        )
    )["data"]
    first = (await api.call("POST", ANALYZE, json={"content_id": content["id"]}, as_=owner))["data"]
    second = (await api.call("POST", ANALYZE, json={"content_id": content["id"]}, as_=owner))["data"]
    assert first == second
    checks = {check["id"]: check for check in first["checks"]}
    assert len(checks) == 14 and sum(check["weight"] for check in checks.values()) == 100
    assert checks["keyword_in_title"]["passed"] and checks["keyword_in_h2"]["passed"]
    assert not checks["internal_links"]["passed"] and not checks["meta_description_length"]["passed"]
    assert first["score"] == sum(c["weight"] for c in checks.values() if c["passed"])
    assert (await Content.get(id=content["id"])).seo_score == first["score"]
    assert (await Account.get(id=owner.account["id"])).credits == 1000


async def test_analyze_refuses_other_accounts_content_and_bad_input(api: Api) -> None:
    owner, stranger = await api.register(), await api.register()
    site = await api.site(owner)
    content = (
        await api.call(
            "POST", "/api/v1/writer/content/", json={"site_id": site["id"], "title": "T"}, as_=owner, status=201
        )
    )["data"]
    await api.call("POST", ANALYZE, json={"content_id": content["id"]}, as_=stranger, status=404)
    for bad in ({}, {"content_id": "x"}, {"content_id": 0}, {"content_id": 1, "extra": 1}):
        await api.call("POST", ANALYZE, json=bad, as_=owner, status=400)


async def test_a_disabled_module_answers_403_module_disabled_and_health_stays_open(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    await api.call("PUT", "/api/v1/system/modules/", json={"planner": False, "optimizer": False}, as_=owner)
    body = await api.call("GET", "/api/v1/planner/keywords/", as_=owner, status=403)
    assert body["code"] == "module_disabled"
    await api.call(
        "POST", "/api/v1/planner/keywords/", json={"site_id": site["id"], "keyword": "x"}, as_=owner, status=403
    )
    await api.call("POST", ANALYZE, json={"content_id": 1}, as_=owner, status=403)
    await api.call("GET", "/api/v1/writer/content/", as_=owner)
    await api.call("GET", "/api/v1/system/health/")
    other = await api.register()
    await api.call("GET", "/api/v1/planner/keywords/", as_=other)
    await api.call("PUT", "/api/v1/system/modules/", json={"planner": True}, as_=owner)
    await api.call("GET", "/api/v1/planner/keywords/", as_=owner)
