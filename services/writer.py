"""Writer rules: task checks, all-or-nothing bulk creation, content sanitising and versions."""

from __future__ import annotations

import re
from typing import Any

import nh3
from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from config.settings import Settings
from models.base import scope_of
from models.db import insert_select, on_postgres, raw_query, save_changes
from models.planner import ContentIdea
from models.writer import Content, ContentVersion, Task, Taxonomy
from services.errors import Duplicate, ValidationFailed
from services.media import delete_images, remove
from services.planner import check_refs, site_and_refs_or_400
from services.principal import Principal
from services.seo import count_words
from services.slugs import ATTEMPTS, create_with_unique_slug, slug_candidates, unique_slug
from services.tenancy import not_found, row_or_404

H2 = re.compile(r"<h2[\s>]", re.IGNORECASE)


def sanitise_html(html: str) -> str:
    """Remove scripts, event handlers and `javascript:` URLs (ammonia's safe defaults)."""
    return nh3.clean(html)


# --- tasks -------------------------------------------------------------------------------------


async def _check_task_refs(caller: Principal, data: dict[str, Any]) -> None:
    site = await site_and_refs_or_400(caller, data)
    idea_id = data.get("idea_id")
    if idea_id is not None and not await ContentIdea.exists(id=idea_id, site_id=site.id):
        raise ValidationFailed("Idea not found on this site.", errors={"idea_id": ["Idea not found."]})


async def create_task(caller: Principal, data: dict[str, Any]) -> Task:
    await _check_task_refs(caller, data)
    return await Task.create(account_id=caller.account_id, **data)


async def update_task(caller: Principal, task: Task, data: dict[str, Any]) -> Task:
    await check_refs(caller, task.site_id, data)
    return await save_changes(task, data)


async def bulk_create_tasks(caller: Principal, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Create every task or none: the first invalid item is named by its index."""
    errors: dict[str, Any] = {}
    for index, item in enumerate(items):
        try:
            await _check_task_refs(caller, item)
        except ValidationFailed as exc:
            errors[str(index)] = exc.errors
    if errors:
        raise ValidationFailed(f"Item {next(iter(errors))} is invalid; nothing was created.", errors={"tasks": errors})
    async with in_transaction():
        tasks = [await Task.create(account_id=caller.account_id, **item) for item in items]
    return {"created": len(tasks), "task_ids": [task.id for task in tasks]}


# --- content -----------------------------------------------------------------------------------


CONTENT_SLUG_LENGTH = 300
CONTENT_SLUG_FALLBACK = "content"  # the slug of a title with nothing readable in it


def _slug_scope(site_id: int, exclude_id: int | None = None) -> QuerySet[Content]:
    """Content slugs are unique per site (CONTRACT §16.17)."""
    query = Content.filter(site_id=site_id)
    return query.exclude(id=exclude_id) if exclude_id is not None else query


async def content_slug(site_id: int, title: str, exclude_id: int | None = None) -> str:
    """A slug for `title` that no other content of the site has."""

    async def taken(candidates: list[str]) -> list[str]:  # every article written asks: no ORM
        marks = ", ".join(f"{{{n}}}" for n in range(2, len(candidates) + 2))
        sql = f'SELECT "slug" FROM "content" WHERE "site_id" = {{0}} AND "id" <> {{1}} AND "slug" IN ({marks})'
        return [row["slug"] for row in await raw_query(sql, [site_id, exclude_id or 0, *candidates])]

    return await unique_slug(
        title,
        _slug_scope(site_id, exclude_id),
        max_length=CONTENT_SLUG_LENGTH,
        fallback=CONTENT_SLUG_FALLBACK,
        taken=taken,
    )


async def _check_taxonomies(site_id: int, ids: list[int] | None) -> None:
    if not ids:
        return
    found = set(await Taxonomy.filter(site_id=site_id, id__in=ids).values_list("id", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed("Taxonomy not found on this site.", errors={"taxonomy_ids": [f"Not found: {missing}"]})


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    if "html" in data:
        data["html"] = sanitise_html(data["html"])
        data["word_count"] = count_words(data["html"])
    return data


async def create_content(caller: Principal, data: dict[str, Any]) -> Content:
    site = await site_and_refs_or_400(caller, data)
    await _check_taxonomies(site.id, data.get("taxonomy_ids"))
    task_id = data.get("task_id")
    if task_id is not None:
        task_types = await Task.filter(id=task_id, site_id=site.id).values_list("content_type", flat=True)
        if not task_types:
            raise ValidationFailed("Task not found on this site.", errors={"task_id": ["Task not found."]})
        data.setdefault("content_type", task_types[0])
    data = _clean(data)
    return await create_with_unique_slug(
        Content,
        data["title"],
        _slug_scope(site.id),
        max_length=CONTENT_SLUG_LENGTH,
        fallback=CONTENT_SLUG_FALLBACK,
        account_id=caller.account_id,
        source="manual",
        **data,
    )


def wordpress_collection(content_type: str) -> str:
    """Where WordPress keeps content of this type: `pages` for a page, `posts` for everything else."""
    return "pages" if content_type == "page" else "posts"


def _check_collection_kept(content: Content, content_type: str) -> None:
    """A content on WordPress is a post or a page there, and its `external_id` names it in that
    collection only: a change of type that would move it is refused rather than published anew."""
    if wordpress_collection(content_type) != wordpress_collection(content.content_type):
        was = "page" if content.content_type == "page" else "post"
        raise ValidationFailed(
            f"The content is a {was} on WordPress; its type can't change between a page and a post.",
            errors={"content_type": [f"Keep a {was} type: the content is a {was} on WordPress (external_id)."]},
        )


async def _apply(caller: Principal, content: Content, data: dict[str, Any]) -> None:
    site_id: int = content.site_id
    await check_refs(caller, site_id, data)
    await _check_taxonomies(site_id, data.get("taxonomy_ids"))
    if "content_type" in data and content.external_id is not None:
        _check_collection_kept(content, data["content_type"])
    data = _clean(data)
    if "title" in data and data["title"] != content.title:
        content.slug = await content_slug(site_id, data["title"], exclude_id=content.id)
    content.update_from_dict(data)


async def _current(content: Content) -> Content:
    """`content`'s row as it is now, locked until the caller's transaction ends (PostgreSQL; SQLite
    runs one transaction at a time): an edit applies to what a job stored meanwhile (an
    optimization, a regenerated article, links) instead of writing an older copy over it."""
    return await row_or_404(Content.select_for_update(), content.id, "content")


async def _save_content(content: Content) -> None:
    """Save `content` (in a savepoint): if its new slug was taken meanwhile by another content (a
    request renaming or creating one at the same time, after this one chose), choose again."""
    for _attempt in range(ATTEMPTS):
        try:
            async with in_transaction():
                await content.save()
            return
        except IntegrityError:
            if not await Content.filter(site_id=content.site_id, slug=content.slug).exclude(id=content.id).exists():
                raise
            content.slug = await content_slug(content.site_id, content.title, exclude_id=content.id)
    raise Duplicate("Could not find a free slug; try again.")


async def update_content(caller: Principal, content: Content, data: dict[str, Any]) -> Content:
    """PUT: replace the editable fields given."""
    async with in_transaction():
        content = await _current(content)
        await _apply(caller, content, data)
        await _save_content(content)
    return content


async def delete_content(settings: Settings, content: Content) -> None:
    """Delete the content, its images and their files (its other rows go by cascade)."""
    async with in_transaction():
        files = await delete_images(settings, "content_id", content.id)
        await content.delete()
    remove(files)


# A content's text: what a kept version holds (with the word count, which follows the html).
TEXT_FIELDS = ("title", "html", "meta_title", "meta_description")


def previous_version(content: Content) -> ContentVersion:
    """The content as it is now, as an unsaved version row: take it before changing the content,
    save it with the change (and bump `content.version`)."""
    return ContentVersion(
        content_id=content.id,
        version=content.version,
        title=content.title,
        html=content.html,
        meta_title=content.meta_title,
        meta_description=content.meta_description,
        word_count=content.word_count,
    )


# The id of the task's content, on the task's site (`t` the task row): the one the task names,
# else the newest that names the task. Every generate_content looks it up twice: in its plan
# (with the task) and in its item's transaction. The site is compared in the SELECT lists, not in
# the WHERE clauses, so that the only index either subquery can use is the one on its own column
# (the primary key; content's "task_id" index): with "site_id" in a WHERE, a plan made while the
# table's statistics are thin (and kept by the connection for the statement) walks every content
# of the site instead. A task's contents are few (its versions are ContentVersion rows).
_CONTENT_ID_OF_TASK = """COALESCE(
    (SELECT CASE WHEN c."site_id" = t."site_id" THEN c."id" END FROM "content" c WHERE c."id" = t."content_id"),
    (SELECT MAX(CASE WHEN c."site_id" = t."site_id" THEN c."id" END) FROM "content" c WHERE c."task_id" = t."id"))"""
_TASK_CONTENT = f"""SELECT * FROM "content"
    WHERE "id" = (SELECT {_CONTENT_ID_OF_TASK} FROM "task" t WHERE t."id" = {{0}})"""
_TASK_AND_CONTENT_ID = f"""SELECT t.*, {_CONTENT_ID_OF_TASK} AS "__content_id" FROM "task" t WHERE t."id" = {{0}}"""


async def task_content(task_id: int) -> Content | None:
    """The content written for the task: the one it names, else the newest that names the task."""
    rows = await raw_query(_TASK_CONTENT, [task_id])
    return Content._init_from_db(**rows[0]) if rows else None


async def owned_task_and_content_id(caller: Principal, task_id: int) -> tuple[Task, int | None]:
    """The caller's task (else 404) and the id of its content (`task_content`), in one read."""
    scope = scope_of(caller)
    conditions = "".join(f' AND t."{column}" = {{{n}}}' for n, column in enumerate(scope, start=1))
    rows = await raw_query(_TASK_AND_CONTENT_ID + conditions, [task_id, *scope.values()])
    if not rows:
        raise not_found("task")
    content_id = rows[0].pop("__content_id")
    return Task._init_from_db(**rows[0]), content_id


# What a task whose article is written becomes, up to its content's id (which follows).
_COMPLETED = """"status" = 'completed', "error" = NULL, "content_id" = """
# PostgreSQL: a task's first content and the task marked completed with it, as `WITH` steps:
# "made" inserts the content, nothing if the task has content by then (`insert_select` writes it
# as the ORM would; {task} is the task's parameter), "done" completes the task with it.
_FIRST_CONTENT_STEPS = f""""made" AS ({{insert}}),
    "done" AS (UPDATE "task" SET {_COMPLETED}"made"."id"
               FROM "made" WHERE "task"."id" = "made"."task_id")"""
_TASK_WITHOUT_CONTENT = (
    '(SELECT t."sector_id", t."cluster_id" FROM "task" t WHERE t."id" = {task} AND '
    + _CONTENT_ID_OF_TASK
    + ' IS NULL) AS "task_now"'
)
# The content takes its task's sector and cluster as they are when it is stored: either may have
# been deleted (the task's set to NULL) while the model wrote.
_FROM_TASK_NOW = {"sector_id": '"task_now"."sector_id"', "cluster_id": '"task_now"."cluster_id"'}
# The first of the content's slug candidates ({candidates}, in `content_slug`'s order) that no
# content of its site ({site}) has, by the (site, slug) index; no row when all are taken.
_FREE_SLUG = """CROSS JOIN LATERAL (SELECT s."slug" FROM unnest({candidates}::text[]) WITH ORDINALITY AS s("slug", "n")
    WHERE NOT EXISTS (SELECT 1 FROM "content" c WHERE c."site_id" = {site} AND c."slug" = s."slug")
    ORDER BY s."n" LIMIT 1) AS "free"
"""


def first_content_steps(content: Content, *, first: int = 0, gate: str = "") -> tuple[str, list[Any]]:
    """PostgreSQL: `store_first_content`'s writes as `WITH` steps ("made", "done") and their
    parameters, numbered from `first`. `gate`: a row source the insert selects from as well, so
    that nothing is made when it has no row (a job's row while its actor's token holds)."""
    assert content.task_id is not None, "a task's content names its task"
    source, computed, extra = _TASK_WITHOUT_CONTENT, dict(_FROM_TASK_NOW), []
    if gate:
        source = f"{gate}, {source}"
    if not content.slug:  # the insert picks the first free candidate
        candidates = slug_candidates(content.title, max_length=CONTENT_SLUG_LENGTH, fallback=CONTENT_SLUG_FALLBACK)
        source, extra = f"{source} {_FREE_SLUG}", [candidates, content.site_id]
        computed["slug"] = '"free"."slug"'
    insert, values = insert_select(content, source, first, computed)
    steps = _FIRST_CONTENT_STEPS.replace("{insert}", insert)
    for n, name in enumerate(("task", "candidates", "site")):  # after the insert's own parameters
        steps = steps.replace(f"{{{name}}}", f"{{{first + len(values) + n}}}")
    return steps, [*values, content.task_id, *extra]


async def store_first_content(content: Content) -> Content | None:
    """Insert the unsaved `content` of a task and mark the task completed with it, unless the
    task has content by then (None: a request made some meanwhile); in the caller's
    transaction. A content without a slug gets `content_slug`'s for its title. One statement on
    PostgreSQL (the check and the slug's included), up to four elsewhere."""
    assert content.task_id is not None, "a task's content names its task"
    if not on_postgres():
        # The task as it is now: deleted meanwhile (no content for it then), or its sector or
        # cluster deleted (set to NULL) while the model wrote; the insert would break a foreign key.
        now = await Task.filter(id=content.task_id).first().values("sector_id", "cluster_id")
        if now is None or await task_content(content.task_id) is not None:
            return None
        content.sector_id, content.cluster_id = now["sector_id"], now["cluster_id"]
        content.slug = content.slug or await content_slug(content.site_id, content.title)
        await content.save()
        await complete_task(content.task_id, content.id)
        return content
    steps, values = first_content_steps(content)
    rows = await raw_query(f'WITH {steps} SELECT * FROM "made"', values)
    if rows:
        return Content._init_from_db(**rows[0])
    if not content.slug and await task_content(content.task_id) is None:  # every candidate was taken
        content.slug = await content_slug(content.site_id, content.title)
        return await store_first_content(content)
    return None


# What a task whose article is being written becomes (on start and on resume).
_IN_PROGRESS = """UPDATE "task" SET "status" = 'in_progress', "error" = NULL"""


async def start_task(task_id: int) -> Task | None:
    """Mark the task in progress and read it, in one statement; None if it is gone."""
    rows = await raw_query(_IN_PROGRESS + ' WHERE "id" = {0} RETURNING *', [task_id])
    return Task._init_from_db(**rows[0]) if rows else None


def task_in_progress_over(job_row: str) -> str:
    """PostgreSQL: `start_task` as a statement over a generate_content job's row source."""
    return f"""{_IN_PROGRESS} FROM {job_row}
        WHERE "task"."id" = ({job_row}."params"->>'task_id')::int RETURNING "task".*"""


async def complete_task(task_id: int, content_id: int) -> None:
    """Mark the task completed with its content (its article is written)."""
    await raw_query(f'UPDATE "task" SET {_COMPLETED}{{1}} WHERE "id" = {{0}}', [task_id, content_id])


async def store_next_version(content: Content, changes: dict[str, Any]) -> Content:
    """Keep the content as it is as a version, then apply `changes` (a new title gets a new
    slug, as in `revise_content`) and bump the version; in the caller's transaction. Onto the
    row as it is then: the returned content, not `content`, is what was stored."""
    content = await _current(content)
    await previous_version(content).save()
    if "title" in changes and changes["title"] != content.title:
        content.slug = await content_slug(content.site_id, changes["title"], exclude_id=content.id)
    content.update_from_dict(changes)
    content.version += 1
    await _save_content(content)
    return content


async def revise_content(caller: Principal, content: Content, data: dict[str, Any]) -> tuple[Content, list[str]]:
    """`update_content`: keep the previous version, apply, bump the version, report warnings."""
    async with in_transaction():
        content = await _current(content)
        await previous_version(content).save()
        await _apply(caller, content, data)
        content.version += 1
        await _save_content(content)
    return content, content_warnings(content)


def content_warnings(content: Content) -> list[str]:
    warnings = []
    if len(content.meta_title) > 60:
        warnings.append(f"Meta title is {len(content.meta_title)} characters; keep it to 60.")
    if len(content.meta_description) > 160:
        warnings.append(f"Meta description is {len(content.meta_description)} characters; keep it to 160.")
    if not H2.search(content.html):
        warnings.append("The article has no H2 heading.")
    keyword = content.primary_keyword.strip().lower()
    if keyword and keyword not in content.title.lower():
        warnings.append("The primary keyword is missing from the title.")
    return warnings
