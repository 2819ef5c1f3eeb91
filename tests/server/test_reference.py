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
    industry = industries["results"][0]
    sector_id = industry["sectors"][0]["id"]
    in_sector = (await api.call("GET", SEED, as_=owner, params={"sector_id": sector_id, "page_size": 500}))["results"]
    assert in_sector and all(row["sector_id"] == sector_id for row in in_sector)
    volume = sorted(row["volume"] for row in in_sector)[len(in_sector) // 2]
    difficulty = sorted(row["difficulty"] for row in in_sector)[len(in_sector) // 2]
    intent = in_sector[0]["intent"]
    word = in_sector[0]["keyword"].split()[0]
    # Within one sector, each filter keeps exactly the rows it describes and hides some others.
    cases = [
        ({"volume_min": volume}, lambda row: row["volume"] >= volume),
        ({"volume_max": volume - 1}, lambda row: row["volume"] <= volume - 1),
        ({"difficulty_min": difficulty}, lambda row: row["difficulty"] >= difficulty),
        ({"difficulty_max": difficulty - 1}, lambda row: row["difficulty"] <= difficulty - 1),
        ({"intent": intent}, lambda row: row["intent"] == intent),
        ({"search": word.upper()}, lambda row: word.lower() in row["keyword"].lower()),
    ]
    everything = {row["id"] for row in in_sector}
    for params, keeps in cases:
        expected = {row["id"] for row in in_sector if keeps(row)}
        assert expected and expected < everything, f"{params} must keep some rows and hide others"
        body = await api.call("GET", SEED, as_=owner, params={"sector_id": sector_id, "page_size": 500, **params})
        assert {row["id"] for row in body["results"]} == expected, params
    by_industry = await api.call("GET", SEED, as_=owner, params={"industry_id": industry["id"]})
    everywhere = await api.call("GET", SEED, as_=owner)
    assert 0 < by_industry["count"] < everywhere["count"]


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
