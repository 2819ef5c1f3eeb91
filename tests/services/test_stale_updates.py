"""An update writes the fields it changes, not the whole row as its request read it: a column a
job or another request changed in between (a status, a count, a mapping, a password hash, a
WordPress address) keeps its new value. On both backends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from tortoise.models import Model

from models.accounts import Site, User
from models.planner import Cluster, ContentIdea, Keyword
from models.writer import Task
from server.keys import EVENTS
from services import planner, tenancy, writer
from services.principal import Principal
from tests.helpers import Api, Caller

Update = Callable[[Api, Principal, Any, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Row:
    model: type[Model]
    make: Callable[[Api, Caller, int], Awaitable[int]]  # the row's id
    behind: dict[str, Any]  # what a job or another request writes meanwhile
    update: Update
    data: dict[str, Any]  # what the stale update changes


async def _post(api: Api, owner: Caller, path: str, body: dict[str, Any]) -> int:
    made: int = (await api.call("POST", path, json=body, as_=owner, status=201))["data"]["id"]
    return made


async def _cluster(api: Api, owner: Caller, site: int) -> int:
    return await _post(api, owner, "/api/v1/planner/clusters/", {"site_id": site, "name": "Shoes"})


async def _keyword(api: Api, owner: Caller, site: int) -> int:
    return await _post(api, owner, "/api/v1/planner/keywords/", {"site_id": site, "keyword": "trail shoes"})


async def _idea(api: Api, owner: Caller, site: int) -> int:
    return await _post(api, owner, "/api/v1/planner/ideas/", {"site_id": site, "title": "An idea"})


async def _task(api: Api, owner: Caller, site: int) -> int:
    return await _post(api, owner, "/api/v1/writer/tasks/", {"site_id": site, "title": "A task"})


async def _site(api: Api, owner: Caller, site: int) -> int:
    return site


async def _user(api: Api, owner: Caller, site: int) -> int:
    made: int = owner.user["id"]
    return made


async def _update_user(api: Api, caller: Principal, user: User, data: dict[str, Any]) -> User:
    return await tenancy.update_user(api.client.app[EVENTS], caller, user, data)


ROWS = {
    "task status": Row(
        Task,
        _task,
        {"status": "completed"},
        lambda api, caller, row, data: writer.update_task(caller, row, data),
        {"title": "Renamed"},
    ),
    "cluster counts": Row(
        Cluster,
        _cluster,
        {"keywords_count": 7, "volume": 700, "status": "ideas_generated"},
        lambda api, caller, row, data: planner.update_cluster(caller, row, data),
        {"name": "Running shoes"},
    ),
    "idea status": Row(
        ContentIdea,
        _idea,
        {"status": "queued"},
        lambda api, caller, row, data: planner.update_idea(caller, row, data),
        {"title": "A better idea"},
    ),
    "keyword mapping": Row(
        Keyword,
        _keyword,
        {"status": "mapped"},
        lambda api, caller, row, data: planner.update_keyword(caller, row, data),
        {"volume": 900},
    ),
    "site's WordPress": Row(
        Site,
        _site,
        {"wordpress_url": "https://wp.example.com"},
        lambda api, caller, row, data: tenancy.update_site(row, data),
        {"name": "Renamed site"},
    ),
    "user's password": Row(User, _user, {"password_hash": "changed meanwhile"}, _update_user, {"first_name": "Ada"}),
}


@pytest.mark.parametrize("name", sorted(ROWS))
async def test_an_update_made_from_an_older_read_keeps_what_changed_meanwhile(api: Api, name: str) -> None:
    row = ROWS[name]
    owner = await api.register()
    site = (await api.site(owner))["id"]
    row_id = await row.make(api, owner, site)
    caller = Principal(kind="user", account_id=owner.account["id"], role="owner", user_id=owner.user["id"])
    stale = await row.model.get(id=row_id)

    await row.model.filter(id=row_id).update(**row.behind)
    await row.update(api, caller, stale, dict(row.data))

    now = await row.model.get(id=row_id)
    assert {field: getattr(now, field) for field in row.behind} == row.behind
    assert {field: getattr(now, field) for field in row.data} == row.data
