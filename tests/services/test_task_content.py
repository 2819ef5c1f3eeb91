"""Which content is a task's (`services/writer.task_content` and the plan's one-read lookup), and a
task's first content stored with the task marked completed (`store_first_content`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from models.accounts import Account, Site
from models.writer import Content, Task
from services import writer
from services.errors import NotFound
from services.principal import Principal
from tests.conftest import BACKEND


async def _site(account: Account, n: int) -> Site:
    return await Site.create(
        account_id=account.id, name=f"S{n}", domain=f"s{n}.example.com", slug=f"s-{account.id}-{n}"
    )


async def _content(site: Site, slug: str, task: Task | None = None) -> Content:
    return await Content.create(
        account_id=site.account_id, site_id=site.id, title=slug, slug=slug, task_id=task.id if task else None
    )


def _caller(account: Account, site_id: int | None = None) -> Principal:
    return Principal(kind="user" if site_id is None else "apikey", account_id=account.id, role="owner", site_id=site_id)


@pytest.mark.usefixtures("client")
async def test_the_content_a_task_names_comes_first_else_the_newest_naming_the_task_on_its_site() -> None:
    account = await Account.create(name="A")
    site, other_site = await _site(account, 1), await _site(account, 2)
    task = await Task.create(account_id=account.id, site_id=site.id, title="T")
    caller = _caller(account)

    assert await writer.task_content(task.id) is None
    assert (await writer.owned_task_and_content_id(caller, task.id))[1] is None
    await _content(other_site, "elsewhere", task)  # names the task, but on another site: not its
    assert await writer.task_content(task.id) is None
    older, newer = await _content(site, "older", task), await _content(site, "newer", task)
    assert (await writer.task_content(task.id)).id == newer.id  # type: ignore[union-attr]
    assert (await writer.owned_task_and_content_id(caller, task.id))[1] == newer.id
    named = await _content(site, "named")  # names no task, but the task names it
    await Task.filter(id=task.id).update(content_id=named.id)
    assert (await writer.task_content(task.id)).id == named.id  # type: ignore[union-attr]
    found, content_id = await writer.owned_task_and_content_id(caller, task.id)
    assert (found.id, found.title, content_id) == (task.id, "T", named.id)
    assert older.id < newer.id


@pytest.mark.usefixtures("client")
async def test_the_plans_lookup_is_404_for_another_accounts_task_and_for_a_key_of_another_site() -> None:
    account, stranger = await Account.create(name="A"), await Account.create(name="B")
    site, other_site = await _site(account, 1), await _site(account, 2)
    task = await Task.create(account_id=account.id, site_id=site.id, title="T")
    for caller in (_caller(stranger), _caller(account, site_id=other_site.id)):
        with pytest.raises(NotFound, match=r"Task not found\."):
            await writer.owned_task_and_content_id(caller, task.id)
    assert (await writer.owned_task_and_content_id(_caller(account, site_id=site.id), task.id))[0].id == task.id


@pytest.mark.usefixtures("client")
async def test_a_first_content_is_stored_as_the_orm_stores_it_and_completes_its_task() -> None:
    account = await Account.create(name="A")
    site = await _site(account, 1)
    task = await Task.create(account_id=account.id, site_id=site.id, title="T", status="in_progress", error={"x": 1})
    made = await writer.store_first_content(
        Content(
            account_id=account.id,
            site_id=site.id,
            task_id=task.id,
            title="Trail",
            slug="trail",
            html="<p>a b</p>",
            secondary_keywords=["x", "y"],
            word_count=2,
            source="ai",
        )
    )
    stored = await Content.get(id=made.id)
    for field in ("title", "slug", "html", "secondary_keywords", "word_count", "source", "status", "version"):
        assert getattr(made, field) == getattr(stored, field), field
    assert (stored.secondary_keywords, stored.status, stored.version, stored.task_id) == (
        ["x", "y"],
        "draft",
        1,
        task.id,
    )
    assert made.created_at == stored.created_at and stored.created_at is not None
    task = await Task.get(id=task.id)
    assert (task.status, task.content_id, task.error) == ("completed", made.id, None)


async def _rows_read(sql: str, values: list[Any]) -> int:
    """Rows PostgreSQL reads to answer `sql` with the generic plan (the one a connection keeps
    for a statement it has run a few times): every node's rows, those its filter dropped too."""
    async with in_transaction() as conn:
        await conn.execute_script("SET LOCAL plan_cache_mode = force_generic_plan")
        marks = [f"${n + 1}" for n in range(len(values))]
        _, rows = await conn.execute_query(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql.format(*marks)}", values)
    plan = json.loads(rows[0][0])[0]["Plan"]

    def read(node: dict[str, Any]) -> int:
        here = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * node.get("Actual Loops", 1)
        return int(here) + sum(read(child) for child in node.get("Plans", []))

    return read(plan)


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL's planner and its generic plans")
@pytest.mark.usefixtures("client")
async def test_finding_a_tasks_content_reads_a_few_rows_however_many_contents_its_site_has() -> None:
    account = await Account.create(name="A")
    site = await _site(account, 1)
    await Content.bulk_create(
        Content(account_id=account.id, site_id=site.id, title=f"c{n}", slug=f"c{n}") for n in range(400)
    )
    fresh = await Task.create(account_id=account.id, site_id=site.id, title="T")  # names no content yet
    written = await Task.create(account_id=account.id, site_id=site.id, title="W")
    await _content(site, "written", written)
    for task in (fresh, written):
        assert await _rows_read(writer._TASK_CONTENT, [task.id]) < 10
        assert await _rows_read(writer._TASK_AND_CONTENT_ID, [task.id]) < 10


@pytest.mark.usefixtures("client")
async def test_a_first_content_for_a_task_that_has_content_by_now_stores_nothing() -> None:
    account = await Account.create(name="A")
    site = await _site(account, 1)
    task = await Task.create(account_id=account.id, site_id=site.id, title="T", status="in_progress")
    earlier = await _content(site, "earlier", task)  # made meanwhile, by another request
    late = Content(account_id=account.id, site_id=site.id, task_id=task.id, title="Late", slug="late", source="ai")
    assert await writer.store_first_content(late) is None
    assert [c.id for c in await Content.filter(task_id=task.id)] == [earlier.id]
    assert (await Task.get(id=task.id)).status == "in_progress"  # not completed by the refused insert


@pytest.mark.usefixtures("client")
async def test_a_first_content_without_a_slug_gets_the_first_free_one_of_its_site_past_ten_collisions() -> None:
    """The slug `content_slug` would give, chosen by the insert itself (PostgreSQL): another
    site's slugs don't count; the eleventh collision falls back to reading the stem's slugs."""
    account = await Account.create(name="A")
    site, other = await _site(account, 1), await _site(account, 2)
    for slug in ("trail-guide-2", "trail-guide-3"):
        await _content(other, slug)
    await _content(site, "trail-guide")
    await _content(site, "trail-guide-3")

    async def first(title: str) -> Content:
        task = await Task.create(account_id=account.id, site_id=site.id, title=title, status="in_progress")
        content = Content(account_id=account.id, site_id=site.id, task_id=task.id, title=title, slug="", source="ai")
        made = await writer.store_first_content(content)
        assert made is not None and (await Task.get(id=task.id)).content_id == made.id
        assert (await Content.get(id=made.id)).slug == made.slug
        return made

    assert (await first("Trail guide")).slug == "trail-guide-2"  # the first free, not the other site's
    assert (await first("Trail guide")).slug == "trail-guide-4"  # -3 is taken here
    for n in range(5, 11):
        await _content(site, f"trail-guide-{n}")
    assert (await first("Trail guide")).slug == "trail-guide-11"  # all ten candidates taken
    assert (await first("Trail guide")).slug == "trail-guide-12"
    assert (await first("Brand new")).slug == "brand-new"
    assert (await first("!!!")).slug == "content"  # nothing readable: the fallback


@pytest.mark.usefixtures("client")
async def test_a_first_content_without_a_slug_for_a_task_that_has_content_by_now_stores_nothing() -> None:
    account = await Account.create(name="A")
    site = await _site(account, 1)
    task = await Task.create(account_id=account.id, site_id=site.id, title="T", status="in_progress")
    for n in range(1, 11):  # every candidate taken too: still nothing stored, no fallback slug read
        await _content(site, "late" if n == 1 else f"late-{n}")
    earlier = await _content(site, "earlier", task)
    late = Content(account_id=account.id, site_id=site.id, task_id=task.id, title="Late", slug="", source="ai")
    assert await writer.store_first_content(late) is None
    assert [c.id for c in await Content.filter(task_id=task.id)] == [earlier.id]
