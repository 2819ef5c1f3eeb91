"""A content edited or deleted while a job works on it: the edit is never written over, and what
is deleted leaves nothing behind (images' files included), on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from actors.operations import linker
from models.linker import Link
from models.writer import Content, ContentVersion, Image
from server.keys import SETTINGS
from services import writer
from services.principal import Principal
from tests.actors.test_faults import _until_ended, _until_the_model_is_called
from tests.ai_helpers import balance, configure_ai
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import Api, Caller

OPTIMIZE = "/api/v1/optimizer/optimize/"
ORIGINAL = "<p>" + "word " * 300 + "</p>"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def _content(api: Api, owner: Caller, site: int, **fields: Any) -> int:
    body = {"site_id": site, "title": "T", "html": ORIGINAL, **fields}
    return (await api.call("POST", "/api/v1/writer/content/", json=body, as_=owner, status=201))["data"]["id"]


async def _optimizing(api: Api, fake: FakeOpenAI) -> tuple[Caller, int, int, int]:
    """An owner, a content, an optimize job of it whose model call is under way and the
    account's balance before the job."""
    owner = await api.register()
    site = (await api.site(owner))["id"]
    await configure_ai(api, owner, fake)
    content = await _content(api, owner, site)
    before = await balance(owner.account["id"])
    fake.always("slow", seconds=0.4)
    body = {"content_id": content}
    job = (await api.call("POST", OPTIMIZE, json=body, as_=owner, params={"wait": 0}, status=202))["data"]["job"]
    await _until_the_model_is_called(fake)
    return owner, content, job["id"], before


EDITS = {
    "PUT html": ("PUT", "", {"html": "<h2>Mine</h2><p>my own words</p>"}),
    "PUT primary keyword": ("PUT", "", {"primary_keyword": "my keyword"}),
    "update_content title": ("POST", "update_content/", {"title": "My title"}),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
async def test_an_edit_of_the_text_while_optimize_rewrites_it_is_kept_and_not_charged(
    api: Api, fake: FakeOpenAI, edit: str
) -> None:
    """The rewrite was made from the text as it was: stored, it would throw the edit away (it
    did, and reverted the other fields with it). The item ends as one whose content is gone:
    nothing written, nothing charged, and the job's result names the content as `changed`."""
    method, action, body = EDITS[edit]
    owner, content, job_id, before = await _optimizing(api, fake)
    await api.call(method, f"/api/v1/writer/content/{content}/{action}", json=body, as_=owner)
    versions_after_edit = await ContentVersion.filter(content_id=content).count()

    job = await _until_ended(job_id)
    assert (job.status, job.credits_used) == ("succeeded", 0), (job.status, job.error)
    got = await api.call("GET", f"/api/v1/jobs/{job_id}/", as_=owner)
    assert got["data"]["result"] == {"contents": [], "changed": [content]}
    assert await balance(owner.account["id"]) == before
    row = await Content.get(id=content)
    assert {name: getattr(row, name) for name in body} == body
    assert "Introduction" not in row.html  # the fake's rewrite
    assert await ContentVersion.filter(content_id=content).count() == versions_after_edit


async def test_a_status_changed_while_optimize_rewrites_stays_and_the_rewrite_is_stored(
    api: Api, fake: FakeOpenAI
) -> None:
    """Only the text counts as the rewrite's ground: a status (or a slug) changed meanwhile is
    kept as it was changed, not reverted by the rewrite."""
    owner, content, job_id, _ = await _optimizing(api, fake)
    await api.call("PUT", f"/api/v1/writer/content/{content}/", json={"status": "review"}, as_=owner)

    job = await _until_ended(job_id)
    assert (job.status, job.credits_used) == ("succeeded", 3), (job.status, job.error)
    row = await Content.get(id=content)
    assert (row.status, row.version) == ("review", 2)
    assert "Introduction" in row.html
    assert await ContentVersion.filter(content_id=content).values_list("version", "html") == [(1, ORIGINAL)]


async def test_an_edit_read_before_a_job_stored_its_rewrite_applies_to_the_rewrite(api: Api, fake: FakeOpenAI) -> None:
    """An edit whose request read the content before an optimization committed (the request's
    read and its write are apart): it changes the fields it gives on the row as it is, instead
    of writing its older copy over the rewrite (and, with a kept version, failing on the
    version number the rewrite took)."""
    owner = await api.register()
    site = (await api.site(owner))["id"]
    await configure_ai(api, owner, fake)
    content = await _content(api, owner, site)
    caller = Principal(kind="user", account_id=owner.account["id"], role="owner", user_id=owner.user["id"])
    stale = await Content.get(id=content)
    await api.call("POST", OPTIMIZE, json={"content_id": content}, as_=owner)
    rewritten = (await Content.get(id=content)).html
    assert "Introduction" in rewritten

    stored = await writer.update_content(caller, stale, {"status": "review"})
    assert (stored.html, stored.status, stored.version) == (rewritten, "review", 2)
    stale = await Content.get(id=content)
    await api.call("POST", OPTIMIZE, json={"content_id": content}, as_=owner)
    revised, _ = await writer.revise_content(caller, stale, {"meta_title": "Mine"})
    assert (revised.meta_title, revised.version) == ("Mine", 4)
    row = await Content.get(id=content)
    assert (row.meta_title, row.status, row.version) == ("Mine", "review", 4)
    assert await ContentVersion.filter(content_id=content).order_by("version").values_list("version", flat=True) == [
        1,
        2,
        3,
    ]


async def test_a_link_target_deleted_while_links_are_chosen_is_left_out(
    api: Api, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The linker chooses its targets, then stores links to them; a target deleted in between
    failed the job on the link's foreign key (`server_error`). Now the chosen targets are locked
    and, one being gone, the links are chosen again without it."""
    owner = await api.register()
    site = (await api.site(owner))["id"]
    filler = " ".join(["word"] * 300)
    source = await _content(api, owner, site, title="Guide", html=f"<p>About trail shoes and yoga mats. {filler}</p>")
    shoes = await _content(api, owner, site, title="Trail shoes", primary_keyword="trail shoes", html="<p>x</p>")
    mats = await _content(api, owner, site, title="Yoga mats", primary_keyword="yoga mats", html="<p>y</p>")
    choose = linker._links
    calls = 0

    async def deleting_a_chosen_target(content: Content, leave_out: set[int]) -> Any:
        nonlocal calls
        calls += 1
        chosen = await choose(content, leave_out)
        if calls == 1:  # deleted once the links are chosen, as by a request in that moment
            assert {link.target_id for link in chosen[1]} == {shoes, mats}
            await Content.filter(id=shoes).delete()
        return chosen

    monkeypatch.setattr(linker, "_links", deleting_a_chosen_target)
    body = await api.call("POST", "/api/v1/linker/process/", json={"content_id": source}, as_=owner)

    assert body["data"]["job"]["status"] == "succeeded", body["data"]["job"]
    assert [link["target_id"] for link in body["data"]["contents"][0]["links"]] == [mats]
    assert await Link.filter(source_id=source).values_list("target_id", flat=True) == [mats]
    html = (await Content.get(id=source)).html
    assert '<a href="/yoga-mats/">yoga mats</a>' in html and "/trail-shoes/" not in html


# --- images' files -------------------------------------------------------------------------------


async def _drawn(api: Api, owner: Caller, site: int, title: str) -> tuple[int, list[Path]]:
    """A content of `site` with its images drawn: its id and its images' files."""
    content = await _content(api, owner, site, title=title)
    body = {"content_ids": [content]}
    await api.call("POST", "/api/v1/writer/images/generate_for_content/", json=body, as_=owner)
    media = api.client.app[SETTINGS].media_dir
    files = [media / path for path in await Image.filter(content_id=content).values_list("file_path", flat=True)]
    assert files and all(path.is_file() for path in files)
    return content, files


async def test_a_deleted_content_s_or_site_s_image_files_go_with_it(api: Api, fake: FakeOpenAI) -> None:
    """The image rows went by cascade and their files stayed on disk, still served at their
    addresses; now a content's files go with it, a site's with the site, and no one else's."""
    owner = await api.register()
    site = (await api.site(owner))["id"]
    other_site = (await api.site(owner))["id"]
    await configure_ai(api, owner, fake)
    gone, gone_files = await _drawn(api, owner, site, "Gone")
    kept, kept_files = await _drawn(api, owner, site, "Kept")
    _, other_files = await _drawn(api, owner, other_site, "Elsewhere")
    address = (await Image.filter(content_id=gone).first().values("url"))["url"]
    assert (await api.client.get(address)).status == 200

    await api.call("DELETE", f"/api/v1/writer/content/{gone}/", as_=owner, status=204)
    assert not any(path.exists() for path in gone_files)
    assert (await api.client.get(address)).status == 404
    assert all(path.is_file() for path in kept_files + other_files)
    assert await Image.filter(content_id=kept).count() == len(kept_files)

    await api.call("DELETE", f"/api/v1/auth/sites/{site}/", as_=owner, status=204)
    assert not any(path.exists() for path in kept_files)
    assert all(path.is_file() for path in other_files)


async def test_an_image_deleted_while_it_is_drawn_again_fails_the_job_not_found_and_refunds(
    api: Api, fake: FakeOpenAI
) -> None:
    """regenerate_image of an image whose content is deleted while the model draws: the job
    succeeded, charged, and named an image that no longer existed, its new file left on disk.
    Now it ends as a generate_content whose task is deleted: `not_found`, all refunded."""
    owner = await api.register()
    site = (await api.site(owner))["id"]
    await configure_ai(api, owner, fake)
    content, _ = await _drawn(api, owner, site, "Drawn")
    image = await Image.filter(content_id=content).first().values_list("id", flat=True)
    before = await balance(owner.account["id"])
    fake.always("slow", seconds=0.4)
    body = {"image_id": image}
    started = await api.call(
        "POST", "/api/v1/writer/images/regenerate/", json=body, params={"wait": 0}, as_=owner, status=202
    )
    await _until_the_model_is_called(fake, "/images/generations")
    await api.call("DELETE", f"/api/v1/writer/content/{content}/", as_=owner, status=204)

    job = await _until_ended(started["data"]["job"]["id"])
    assert (job.status, job.error and job.error["code"], job.credits_used) == ("failed", "not_found", 0)
    assert await balance(owner.account["id"]) == before
    media = api.client.app[SETTINGS].media_dir / str(owner.account["id"])
    assert not any(media.iterdir()), "a file outlived its image"
