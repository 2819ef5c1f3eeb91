"""The same change sent by several requests at once: each is answered as it would be alone, one
after the other (a 409 for a name taken by the other, the next free slug), never a 500. A race is
won or lost by timing, so each case runs a few rounds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.helpers import Api, Caller

ROUNDS = 3
PATHS = {
    "cluster": ("/api/v1/planner/clusters/", "name"),
    "sector": ("/api/v1/auth/sectors/", "name"),
    "keyword": ("/api/v1/planner/keywords/", "keyword"),
    "content": ("/api/v1/writer/content/", "title"),
}


async def _make(api: Api, owner: Caller, site: int, kind: str, name: str) -> int:
    path, field = PATHS[kind]
    body: dict[str, Any] = {"site_id": site, field: name}
    if kind == "content":
        body["html"] = "<p>Text.</p>"
    made: int = (await api.call("POST", path, json=body, as_=owner, status=201))["data"]["id"]
    return made


@pytest.mark.parametrize("kind", sorted(PATHS))
async def test_two_rows_renamed_to_one_name_at_once(api: Api, kind: str) -> None:
    """The check for a name another row has passed for both, and the second write broke the
    unique name (500): now a 409 for clusters, sectors and keywords, and for contents (whose
    titles may repeat) the next free slug."""
    owner = await api.register()
    site = (await api.site(owner))["id"]
    path, field = PATHS[kind]
    for n in range(ROUNDS):
        rows = [await _make(api, owner, site, kind, f"{kind} {n} {side}") for side in "ab"]
        renames = [api.client.put(f"{path}{row}/", json={field: f"Same {n}"}, headers=owner.headers) for row in rows]
        answers = await asyncio.gather(*renames)
        statuses = sorted(answer.status for answer in answers)
        if kind == "content":
            assert statuses == [200, 200]
            slugs = sorted([(await answer.json())["data"]["slug"] for answer in answers])
            assert slugs == [f"same-{n}", f"same-{n}-2"]
        else:
            assert statuses == [200, 409]


async def test_contents_made_at_once_with_one_title_each_get_a_slug(api: Api) -> None:
    """Each insert that lost its slug to another chose again, three times at most: the fourth of
    four at once answered 409 "Could not find a free slug"."""
    owner = await api.register()
    site = (await api.site(owner))["id"]
    body = {"site_id": site, "title": "One title", "html": "<p>Text.</p>"}
    for _ in range(ROUNDS):
        made = [api.client.post(PATHS["content"][0], json=body, headers=owner.headers) for _ in range(6)]
        answers = await asyncio.gather(*made)
        assert [answer.status for answer in answers] == [201] * 6
    slugs = {row["slug"] for row in (await api.call("GET", PATHS["content"][0], as_=owner))["results"]}
    assert slugs == {"one-title", *(f"one-title-{n}" for n in range(2, 3 * 6 + 1))}
