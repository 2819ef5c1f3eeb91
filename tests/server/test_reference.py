"""Industries, sectors and the seed-keyword library (CONTRACT §5), and list mechanics (§1)."""

from __future__ import annotations

from tests.helpers import Api

SEED = "/api/v1/auth/seed-keywords/"


async def test_industries_list_nested_sectors_from_the_shipped_data(api: Api) -> None:
    owner = await api.register()
    body = await api.call("GET", "/api/v1/auth/industries/", as_=owner, params={"page_size": 100})
    assert body["count"] >= 10
    sectors = [sector for industry in body["results"] for sector in industry["sectors"]]
    assert len(sectors) >= 40
    assert {"id", "name", "slug"} <= set(sectors[0])
    seeds = await api.call("GET", SEED, as_=owner)
    assert seeds["count"] >= 1000


async def test_seed_keywords_filter_by_sector_volume_difficulty_intent_and_search(api: Api) -> None:
    owner = await api.register()
    industries = await api.call("GET", "/api/v1/auth/industries/", as_=owner)
    sector_id = industries["results"][0]["sectors"][0]["id"]
    params = {
        "sector_id": sector_id,
        "volume_min": 100,
        "volume_max": 50000,
        "difficulty_max": 80,
        "intent": "informational",
        "page_size": 500,
    }
    body = await api.call("GET", SEED, as_=owner, params=params)
    assert body["count"] > 0
    for row in body["results"]:
        assert row["sector_id"] == sector_id
        assert 100 <= row["volume"] <= 50000 and row["difficulty"] <= 80
        assert row["intent"] == "informational"
    word = body["results"][0]["keyword"].split()[0]
    found = await api.call("GET", SEED, as_=owner, params={"search": word.upper()})
    assert found["count"] > 0 and all(word in r["keyword"] for r in found["results"])


async def test_pagination_ordering_and_their_bad_values(api: Api) -> None:
    owner = await api.register()
    first = await api.call("GET", SEED, as_=owner, params={"page_size": 10, "ordering": "-volume"})
    volumes = [row["volume"] for row in first["results"]]
    assert volumes == sorted(volumes, reverse=True) and len(volumes) == 10
    assert "page=2" in first["next"] and first["previous"] is None
    second = await api.call("GET", SEED, as_=owner, params={"page": 2, "page_size": 10, "ordering": "-volume"})
    assert second["results"][0]["volume"] <= volumes[-1]
    assert "page=1" in second["previous"]
    past = await api.call("GET", SEED, as_=owner, params={"page": 10_000, "page_size": 10})
    assert past["results"] == [] and past["count"] == first["count"] and past["next"] is None
    for params in (
        {"page": 0},
        {"page": "abc"},
        {"page": -1},
        {"page_size": 0},
        {"page_size": 501},
        {"ordering": "password"},
        {"intent": "weird"},
        {"volume_min": "lots"},
        {"volume_min": 10, "volume_max": 5},
        {"difficulty_min": 90, "difficulty_max": 10},
        {"unknown_filter": 1},
    ):
        body = await api.call("GET", SEED, as_=owner, params=params, status=400)
        assert body["code"] == "validation_error", params
