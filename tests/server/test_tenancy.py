"""Accounts, users, roles, sites and sectors: isolation between tenants (CONTRACT §4)."""

from __future__ import annotations

import asyncio
from typing import Any

from models.accounts import Site, SiteSector, User
from models.jobs import Job
from tests.ai_helpers import TASKS, balance, site_with_tasks
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api

USERS = "/api/v1/auth/users/"
SITES = "/api/v1/auth/sites/"
SECTORS = "/api/v1/auth/sectors/"


async def test_groups_list_the_four_roles(api: Api) -> None:
    owner = await api.register()
    body = await api.call("GET", "/api/v1/auth/groups/", as_=owner)
    assert [row["name"] for row in body["results"]] == ["owner", "admin", "editor", "viewer"]
    assert body["count"] == 4


async def test_owner_creates_users_of_each_role_and_lists_them(api: Api) -> None:
    owner = await api.register()
    for role in ("admin", "editor", "viewer"):
        await api.member(owner, role)
    body = await api.call("GET", USERS, as_=owner, params={"role": "editor"})
    assert body["count"] == 1 and body["results"][0]["role"] == "editor"
    assert "password_hash" not in body["results"][0]
    every = await api.call("GET", USERS, as_=owner, params={"ordering": "email"})
    assert every["count"] == 4


async def test_every_user_site_sector_and_industry_filter_keeps_its_rows_and_hides_the_others(api: Api) -> None:
    owner = await api.register(first_name="Olive")
    editor = await api.member(owner, "editor", first_name="Eddie")
    viewer = await api.member(owner, "viewer")
    await api.call("PUT", f"{USERS}{viewer.user['id']}/", json={"is_active": False}, as_=owner)
    await api.assert_filters(
        USERS,
        owner,
        [
            ({"role": "editor"}, {editor.user["id"]}),
            ({"is_active": "false"}, {viewer.user["id"]}),
            ({"search": "EDDIE"}, {editor.user["id"]}),
            ({"search": owner.user["email"]}, {owner.user["id"]}),
        ],
    )
    industries = (await api.call("GET", "/api/v1/auth/industries/", as_=owner, params={"page_size": 500}))["results"]
    shop = await api.site(owner, name="Shop", domain="shop.example.com", industry_id=industries[0]["id"])
    blog = await api.site(owner, name="Blog", domain="words.example.org", is_active=False)
    await api.assert_filters(
        SITES,
        owner,
        [
            ({"industry_id": industries[0]["id"]}, {shop["id"]}),
            ({"is_active": "false"}, {blog["id"]}),
            ({"search": "shop"}, {shop["id"]}),
            ({"search": "WORDS.example"}, {blog["id"]}),
        ],
    )
    in_shop = await api.call("POST", SECTORS, json={"site_id": shop["id"], "name": "Shoes"}, as_=owner, status=201)
    in_blog = await api.call("POST", SECTORS, json={"site_id": blog["id"], "name": "Boots"}, as_=owner, status=201)
    await api.assert_filters(
        SECTORS,
        owner,
        [({"site_id": blog["id"]}, {in_blog["data"]["id"]}), ({"search": "SHOE"}, {in_shop["data"]["id"]})],
    )
    name = industries[1]["name"]
    found = await api.call("GET", "/api/v1/auth/industries/", as_=owner, params={"search": name.upper()})
    assert [row["id"] for row in found["results"]] == [industries[1]["id"]]


async def test_viewer_is_read_only(api: Api) -> None:
    owner = await api.register()
    viewer = await api.member(owner, "viewer")
    await api.call("GET", SITES, as_=viewer)
    body = await api.call("POST", SITES, json={"name": "V", "domain": "v.example.com"}, as_=viewer, status=403)
    assert body["code"] == "permission_denied"
    await api.call(
        "POST",
        USERS,
        json={"email": "x@example.com", "password": "long enough 1", "role": "viewer"},
        as_=viewer,
        status=403,
    )
    assert await Site.filter(account_id=owner.account["id"]).count() == 0
    assert await User.filter(account_id=owner.account["id"]).count() == 2


async def test_a_role_cannot_grant_a_role_above_its_own(api: Api) -> None:
    owner = await api.register()
    admin = await api.member(owner, "admin")
    body = await api.call(
        "POST",
        USERS,
        json={"email": "boss@example.com", "password": "long enough 1", "role": "owner"},
        as_=admin,
        status=403,
    )
    assert body["code"] == "permission_denied"
    editor = await api.member(owner, "editor")
    await api.call("PUT", f"{USERS}{editor.user['id']}/", json={"role": "owner"}, as_=admin, status=403)
    await api.call("PUT", f"{USERS}{owner.user['id']}/", json={"role": "viewer"}, as_=admin, status=403)
    changed = await api.call("PUT", f"{USERS}{editor.user['id']}/", json={"role": "viewer"}, as_=admin)
    assert changed["data"]["role"] == "viewer"


async def test_the_last_owner_cannot_be_demoted_deactivated_or_deleted(api: Api) -> None:
    owner = await api.register()
    path = f"{USERS}{owner.user['id']}/"
    for payload in ({"role": "admin"}, {"is_active": False}):
        body = await api.call("PUT", path, json=payload, as_=owner, status=409)
        assert body["code"] == "conflict"
    await api.call("DELETE", path, as_=owner, status=409)
    stored = await User.get(id=owner.user["id"])
    assert stored.role == "owner" and stored.is_active
    second = await api.member(owner, "owner")
    await api.call("PUT", path, json={"role": "admin"}, as_=second)


async def test_a_deactivated_user_can_no_longer_call_or_log_in(api: Api) -> None:
    owner = await api.register()
    editor = await api.member(owner, "editor")
    await api.call("PUT", f"{USERS}{editor.user['id']}/", json={"is_active": False}, as_=owner)
    await api.call("GET", SITES, as_=editor, status=401)
    await api.call(
        "POST", "/api/v1/auth/login/", json={"email": editor.user["email"], "password": editor.password}, status=401
    )


async def test_plan_limits_cap_sites_and_users(api: Api) -> None:
    owner = await api.register()
    for _ in range(3):
        await api.site(owner)
    body = await api.call("POST", SITES, json={"name": "Fourth", "domain": "four.example.com"}, as_=owner, status=403)
    assert body["code"] == "plan_limit"
    for _ in range(4):
        await api.member(owner, "viewer")
    body = await api.call(
        "POST",
        USERS,
        json={"email": "sixth@example.com", "password": "long enough 1", "role": "viewer"},
        as_=owner,
        status=403,
    )
    assert body["code"] == "plan_limit"


async def test_plan_limits_hold_for_sites_and_users_added_at_once(api: Api) -> None:
    """Each request counted the account's sites (users) before any of them was stored, so six at
    once made six sites on a plan of three (eight users on a plan of five). The account's row is
    now locked for the count and the insert."""
    owner = await api.register()

    async def post(path: str, body: dict[str, Any]) -> int:
        response = await api.client.post(path, json=body, headers=owner.headers)
        return response.status

    sites = [post(SITES, {"name": f"S{n}", "domain": f"s{n}.example.com"}) for n in range(6)]
    assert sorted(await asyncio.gather(*sites)) == [201] * 3 + [403] * 3
    people = [{"email": f"u{n}@example.com", "password": "long enough 1", "role": "viewer"} for n in range(8)]
    assert sorted(await asyncio.gather(*(post(USERS, body) for body in people))) == [201] * 4 + [403] * 4
    assert await Site.filter(account_id=owner.account["id"]).count() == 3
    assert await User.filter(account_id=owner.account["id"]).count() == 5


async def test_two_owners_demoting_or_deleting_each_other_at_once_leave_one_owner(api: Api) -> None:
    """Each request counted the other owner as the one left, so both went through and the account
    had no owner. A race is won or lost by timing: four rounds of each (one round on PostgreSQL
    caught it in about one run of three)."""
    for _ in range(4):
        first = await api.register()
        second = await api.member(first, "owner")
        demotions = await asyncio.gather(
            api.client.put(f"{USERS}{first.user['id']}/", json={"role": "admin"}, headers=second.headers),
            api.client.put(f"{USERS}{second.user['id']}/", json={"role": "admin"}, headers=first.headers),
        )
        # The one behind is refused: 409 when it counted the owners, 403 when its caller was an
        # admin by then.
        done, refused = sorted(answer.status for answer in demotions)
        assert done == 200 and refused in (403, 409), (done, refused)
        assert await User.filter(account_id=first.account["id"], role="owner").count() == 1

        first = await api.register()
        second = await api.member(first, "owner")
        deletions = await asyncio.gather(
            api.client.delete(f"{USERS}{first.user['id']}/", headers=second.headers),
            api.client.delete(f"{USERS}{second.user['id']}/", headers=first.headers),
        )
        # 409 when it counted the owners, 401 when its caller was deleted by then.
        done, refused = sorted((answer.status for answer in deletions), key=lambda status: status != 204)
        assert done == 204 and refused in (401, 409), (done, refused)
        assert await User.filter(account_id=first.account["id"], role="owner").count() == 1


async def test_the_same_sector_added_at_once_is_made_once_and_a_409_to_the_others(api: Api) -> None:
    owner = await api.register()
    site = (await api.site(owner))["id"]

    async def post() -> int:
        response = await api.client.post(SECTORS, json={"site_id": site, "name": "Same"}, headers=owner.headers)
        return response.status

    assert sorted(await asyncio.gather(*(post() for _ in range(4)))) == [201, 409, 409, 409]
    assert await SiteSector.filter(site_id=site).count() == 1


async def test_sites_get_unique_slugs_and_clean_domains(api: Api) -> None:
    owner = await api.register()
    other = await api.register()
    first = await api.site(owner, name="My Blog", domain="https://WWW.Example.com/some/path")
    second = await api.site(other, name="My Blog", domain="example.org")
    assert first["slug"] == "my-blog" and second["slug"] == "my-blog-2"
    assert first["domain"] == "www.example.com"
    for domain in ("not a domain", "http://", "x" * 300, "javascript:alert(1)", "[", "https://[example.com/"):
        body = await api.call("POST", SITES, json={"name": "Bad", "domain": domain}, as_=owner, status=400)
        assert body["code"] == "validation_error"
    updated = await api.call("PUT", f"{SITES}{first['id']}/", json={"name": "Renamed", "is_active": False}, as_=owner)
    assert updated["data"]["name"] == "Renamed" and updated["data"]["slug"] == "my-blog"
    body = await api.call("PUT", f"{SITES}{first['id']}/", json={"slug": "hijack"}, as_=owner, status=400)
    assert list(body["errors"]) == ["slug"] and body["errors"]["slug"][0].startswith("read_only")


async def test_site_slugs_are_transliterated_from_any_script_and_unique_across_accounts(api: Api) -> None:
    owner, other = await api.register(), await api.register()
    first = await api.site(owner, name="Привет, мир")
    second = await api.site(other, name="Привет, мир")
    assert (first["slug"], second["slug"]) == ("privet-mir", "privet-mir-2")
    assert (await api.site(owner, name="Café Crème"))["slug"] == "cafe-creme"
    assert (await api.site(owner, name="你好世界"))["slug"] == "ni-hao-shi-jie"
    assert (await api.site(other, name="!!!"))["slug"] == "site"
    long = await api.site(other, name="Mountain trail running " * 8)
    assert len(long["slug"]) <= 60 and long["slug"].startswith("mountain-trail-running-")
    assert sorted(await Site.all().values_list("slug", flat=True)) == sorted(
        ["privet-mir", "privet-mir-2", "cafe-creme", "ni-hao-shi-jie", "site", long["slug"]]
    )


async def test_every_detail_route_with_another_accounts_id_is_404(api: Api) -> None:
    mine, theirs = await api.register(), await api.register()
    site = await api.site(theirs)
    sector = (await api.call("POST", SECTORS, json={"site_id": site["id"], "name": "Fitness"}, as_=theirs, status=201))[
        "data"
    ]
    member = await api.member(theirs, "viewer")
    for path in (f"{SITES}{site['id']}/", f"{SECTORS}{sector['id']}/", f"{USERS}{member.user['id']}/"):
        for method, payload in (
            ("GET", None),
            ("PUT", {"name": "x"} if "users" not in path else {"role": "viewer"}),
            ("DELETE", None),
        ):
            body = await api.call(method, path, json=payload, as_=mine, status=404)
            assert body["code"] == "not_found"
    assert await Site.filter(id=site["id"]).exists()
    assert await SiteSector.filter(id=sector["id"], name="Fitness").exists()


async def test_lists_filtered_by_another_accounts_site_are_empty_and_creates_into_it_are_400(api: Api) -> None:
    mine, theirs = await api.register(), await api.register()
    site = await api.site(theirs)
    await api.call("POST", SECTORS, json={"site_id": site["id"], "name": "Theirs"}, as_=theirs, status=201)
    own_site = await api.site(mine)  # rows of mine that a site_id filter must hide
    await api.call("POST", SECTORS, json={"site_id": own_site["id"], "name": "Mine"}, as_=mine, status=201)
    body = await api.call("GET", SECTORS, as_=mine, params={"site_id": site["id"]})
    assert body["count"] == 0 and body["results"] == []
    body = await api.call("POST", SECTORS, json={"site_id": site["id"], "name": "Sneaky"}, as_=mine, status=400)
    assert body["errors"] == {"site_id": ["Site not found."]}
    assert not await SiteSector.filter(name="Sneaky").exists()


async def test_sectors_link_a_site_to_an_industry_sector(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    industries = await api.call("GET", "/api/v1/auth/industries/", as_=owner)
    industry_sector = industries["results"][0]["sectors"][0]
    body = await api.call(
        "POST",
        SECTORS,
        json={"site_id": site["id"], "industry_sector_id": industry_sector["id"]},
        as_=owner,
        status=201,
    )
    assert body["data"]["name"] == industry_sector["name"]
    dup = await api.call(
        "POST", SECTORS, json={"site_id": site["id"], "name": industry_sector["name"]}, as_=owner, status=409
    )
    assert dup["code"] == "duplicate"
    missing = await api.call("POST", SECTORS, json={"site_id": site["id"]}, as_=owner, status=400)
    assert "name" in missing["errors"]
    bad = await api.call(
        "POST", SECTORS, json={"site_id": site["id"], "industry_sector_id": 999999}, as_=owner, status=400
    )
    assert "industry_sector_id" in bad["errors"]


async def test_account_get_and_rename(api: Api) -> None:
    owner = await api.register(account_name="Before")
    body = await api.call("PUT", "/api/v1/auth/account/", json={"name": "After"}, as_=owner)
    assert body["data"]["name"] == "After"
    editor = await api.member(owner, "editor")
    await api.call("PUT", "/api/v1/auth/account/", json={"name": "Nope"}, as_=editor, status=403)
    for payload in ({"name": ""}, {"name": "x" * 201}, {"name": 5}, {"plan": "enterprise", "name": "x"}):
        await api.call("PUT", "/api/v1/auth/account/", json=payload, as_=owner, status=400)
    assert (await api.call("GET", "/api/v1/auth/account/", as_=editor))["data"]["name"] == "After"


async def test_a_site_with_an_unfinished_job_is_409_to_delete_until_the_job_ends(api: Api) -> None:
    """The site's rows go with it, its jobs too: deleting it mid-job left the running job's
    reserved credits unsettled for good and the queued one's unrefunded (seen: 10 credits gone,
    the job with them). Now 409 naming the job, nothing deleted; once the jobs end, 204."""
    async with FakeOpenAI() as fake:
        owner, site, tasks = await site_with_tasks(api, fake, 2)
        fake.always("slow", seconds=0.5)
        started = [
            (await api.call("POST", f"{TASKS}{task}/generate_content/", as_=owner, params={"wait": 0}, status=202))[
                "data"
            ]["job"]["id"]
            for task in tasks
        ]
        refused = await api.call("DELETE", f"/api/v1/auth/sites/{site}/", as_=owner, status=409)
        assert refused["code"] == "conflict" and f"Job {started[0]} " in refused["error"], refused
        assert await Site.filter(id=site).exists() and await Job.filter(id__in=started).count() == 2

        for _ in range(100):
            if await Job.filter(id__in=started, status="succeeded").count() == 2:
                break
            await asyncio.sleep(0.05)
        assert await balance(owner.account["id"]) == 1000 - 2 * 10, "each job charged once, nothing held"
        await api.call("DELETE", f"/api/v1/auth/sites/{site}/", as_=owner, status=204)
        assert not await Site.filter(id=site).exists() and not await Job.filter(id__in=started).exists()
