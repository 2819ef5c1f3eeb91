"""The mirror's reads of a post or term (services/wp_mirror.py) against each other: a sync page
and a webhook applying the same post take its row in turn, so each compares its modification time
with what the other committed; a term likewise, so a listing sees the time a webhook wrote it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from models.accounts import Account, Site
from models.writer import Content, Taxonomy
from services.security import utcnow
from services.wp_mirror import Applied, MirrorSite, apply_post, apply_term, apply_terms, modified_gmt
from tests.conftest import BACKEND

POST = {"id": 7, "title": "As written", "content": "<p>x</p>", "status": "publish", "slug": "as-written"}


def test_modified_gmt_reads_wordpress_times_as_utc() -> None:
    assert modified_gmt({"modified_gmt": "2026-11-29T10:00:00"}).isoformat() == "2026-11-29T10:00:00+00:00"  # type: ignore[union-attr]
    assert modified_gmt({"modified_gmt": "2026-11-29T11:00:00+01:00"}).isoformat() == "2026-11-29T10:00:00+00:00"  # type: ignore[union-attr]
    for unreadable in ("", "0000-00-00T00:00:00", "yesterday", 1764410400, None):
        assert modified_gmt({"modified_gmt": unreadable}) is None
    assert modified_gmt({}) is None


async def _apply_in_transaction(site: MirrorSite, post: dict[str, Any]) -> Applied:
    async with in_transaction():
        return await apply_post(site, post)


@pytest.mark.skipif(BACKEND != "postgres", reason="row locks: SQLite runs one writer at a time anyway")
@pytest.mark.usefixtures("client")
async def test_a_post_being_applied_is_held_until_its_transaction_ends() -> None:
    """Without the lock, a webhook could commit a later edit between a sync page's read of the row
    and its write, and the page (read from WordPress before the edit) would overwrite it."""
    account = await Account.create(name="A")
    site = await Site.create(account_id=account.id, name="S", domain="s.example.com", slug=f"s-{account.id}")
    mirror = MirrorSite(account.id, site.id)
    page_version = {**POST, "modified_gmt": "2026-11-29T10:00:00"}
    assert (await apply_post(mirror, page_version)).outcome == "created"

    holding, release = asyncio.Event(), asyncio.Event()

    async def sync_page() -> None:
        async with in_transaction():
            # Nothing to write: only the lock holds the row.
            assert (await apply_post(mirror, page_version)).outcome == "unchanged"
            holding.set()
            await release.wait()

    page = asyncio.create_task(sync_page())
    await holding.wait()
    later_edit = {**POST, "title": "Edited", "modified_gmt": "2026-11-29T10:05:00"}
    webhook = asyncio.create_task(_apply_in_transaction(mirror, later_edit))
    await asyncio.sleep(0.5)
    assert not webhook.done()  # waiting for the page's transaction
    release.set()
    await page
    assert (await webhook).outcome == "updated"
    assert (await Content.get(site_id=site.id, external_id="7")).title == "Edited"


@pytest.mark.skipif(BACKEND != "postgres", reason="row locks: SQLite runs one writer at a time anyway")
@pytest.mark.usefixtures("client")
async def test_a_term_being_applied_by_a_listing_is_held_until_its_transaction_ends() -> None:
    """A webhook's rename waits for the listing's transaction, then wins; one committed before the
    listing looks at the row leaves it stale for the listing (which began before it)."""
    account = await Account.create(name="A")
    site = await Site.create(account_id=account.id, name="S", domain="s.example.com", slug=f"s-{account.id}")
    mirror = MirrorSite(account.id, site.id)
    listed = {"id": 9, "taxonomy": "category", "name": "Mammals", "slug": "mammals", "parent": 0}
    assert (await apply_term(mirror, listed)).outcome == "created"

    holding, release = asyncio.Event(), asyncio.Event()

    async def listing() -> None:
        async with in_transaction():
            assert (await apply_terms(mirror, "category", [listed], listed_from=utcnow()))[0].outcome == "unchanged"
            holding.set()
            await release.wait()

    sync = asyncio.create_task(listing())
    await holding.wait()

    async def webhook() -> Applied:
        async with in_transaction():
            return await apply_term(mirror, {**listed, "name": "Marine mammals"})

    rename = asyncio.create_task(webhook())
    await asyncio.sleep(0.5)
    assert not rename.done()  # waiting for the listing's transaction
    release.set()
    await sync
    assert (await rename).outcome == "updated"

    began = utcnow()
    await asyncio.sleep(0.01)
    await apply_term(mirror, {**listed, "name": "Sea mammals"})  # after the listing began
    async with in_transaction():
        assert (await apply_terms(mirror, "category", [listed], listed_from=began))[0].outcome == "stale"
    assert (await Taxonomy.get(site_id=site.id, external_id="9")).name == "Sea mammals"
