"""The local mirror of a WordPress site: one post, page or term as WordPress describes it,
applied to the site's Content or Taxonomy. Used by the sync job (pages of 100) and by the
webhook (one object), so both write the same rows the same way.

Accepts both shapes WordPress sends: the REST API's (`title: {"rendered": …, "raw": …}`) and
the plugin's webhook payload (`title: "…"`).

Rules:
- A post or page is keyed by `(site, external_id)`; WordPress's posts and pages share one id
  sequence, so one key covers both. Only rows with `source="wordpress"` are written: a local
  content that was *published to* WordPress (same `external_id`, source `ai`/`manual`) is the
  site's own text and is left alone.
- Deleted in WordPress (or trashed, which hides it from the REST listing) → the local row is
  **kept and marked** `status="archived"`: nothing that points at it (links, versions) breaks,
  and it comes back as it is when the post is restored.
- A term is keyed by `(site, kind, external_id)`, else adopted by `(site, kind, slug)` (a local
  term of the same slug is the same term). Deleted in WordPress → the local row is removed
  (terms carry nothing of their own) and its id taken out of the contents that named it.
- An older read never overwrites a newer one: a post whose `modified_gmt` is earlier than the one
  the mirror last wrote (a sync page read before a webhook brought an edit, a delivery retried
  after a later one) changes nothing (`stale`).
- Outcomes: `created`, `updated`, `deleted`, `unchanged` (nothing to write), `skipped` (a local
  content we don't overwrite), `stale` (older than the mirror); only the first three count in
  `sync_status.items`/`terms`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from models.writer import Content, Taxonomy
from services.seo import count_words
from services.slugs import readable_slug
from services.writer import (
    CONTENT_SLUG_FALLBACK,
    CONTENT_SLUG_LENGTH,
    content_slug,
    previous_version,
    sanitise_html,
    wordpress_collection,
)

Outcome = Literal["created", "updated", "deleted", "unchanged", "skipped", "stale"]
COUNTED: tuple[Outcome, ...] = ("created", "updated", "deleted")

# WordPress post status → Content status. `private` posts aren't public, so not `published`;
# `trash` is what deletion looks like before it's final.
POST_STATUSES = {
    "publish": "published",
    "future": "review",
    "pending": "review",
    "draft": "draft",
    "auto-draft": "draft",
    "private": "draft",
    "inherit": "draft",
    "trash": "archived",
}
TERM_KINDS = {"category": "category", "post_tag": "tag"}  # WordPress taxonomy → Taxonomy.kind
COLLECTION_KINDS = {"categories": "category", "tags": "tag"}  # REST base → Taxonomy.kind
TITLE_LENGTH = 300
TERM_NAME_LENGTH = 200
URL_LENGTH = 2000


@dataclass
class Tally:
    """Counts of what a sync (or part of it) changed, as `sync_status` shows them."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0

    def add(self, outcome: Outcome, n: int = 1) -> None:
        if outcome in COUNTED:
            setattr(self, outcome, getattr(self, outcome) + n)

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted, "failed": self.failed}

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> Tally:
        data = data or {}
        return cls(**{name: int(data.get(name, 0)) for name in ("created", "updated", "deleted", "failed")})


@dataclass(frozen=True)
class MirrorSite:
    """Whose rows the mirror writes."""

    account_id: int
    site_id: int


@dataclass
class Applied:
    outcome: Outcome
    content: Content | None = None
    term: Taxonomy | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def rendered(value: Any) -> str:
    """A WordPress text field in either shape: `{"rendered": …, "raw": …}` or a plain string."""
    if isinstance(value, Mapping):
        for key in ("rendered", "raw"):
            if isinstance(value.get(key), str):
                return str(value[key])
        return ""
    return value if isinstance(value, str) else ""


def _ids(value: Any) -> list[str]:
    return [str(v) for v in value if isinstance(v, int) and not isinstance(v, bool)] if isinstance(value, list) else []


def modified_gmt(post: Mapping[str, Any]) -> datetime | None:
    """WordPress's `modified_gmt` of a post (GMT, written without an offset), or None when it is
    missing or unreadable (then the post is applied whatever the mirror holds)."""
    value = post.get("modified_gmt")
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _post_values(post: Mapping[str, Any], term_ids: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    """The Content columns a WordPress post sets (all but the slug, which must be unique locally,
    and its modification time, which `apply_posts` compares first)."""
    html = sanitise_html(rendered(post.get("content")))
    named = [("category", ext) for ext in _ids(post.get("categories"))]
    named += [("tag", ext) for ext in _ids(post.get("tags"))]
    taxonomy_ids = [term_ids[key] for key in named if key in term_ids]
    link = post.get("link")
    return {
        "title": rendered(post.get("title"))[:TITLE_LENGTH] or f"(untitled {post['id']})",
        "html": html,
        "word_count": count_words(html),
        "status": POST_STATUSES.get(str(post.get("status") or ""), "draft"),
        "external_url": link[:URL_LENGTH] if isinstance(link, str) and link else None,
        "taxonomy_ids": taxonomy_ids,
        "content_type": "page" if post.get("type") == "page" else "post",
    }


def _kept_type(local: str, wp_type: str) -> str:
    """The type a mirrored row keeps: its own while WordPress keeps it in the same collection (a
    post typed `product` here is still a post there), else WordPress's `page` or `post`."""
    return local if wordpress_collection(local) == wordpress_collection(wp_type) else wp_type


def _wanted_slug(post: Mapping[str, Any], title: str) -> str:
    slug = post.get("slug")
    if isinstance(slug, str) and slug:
        return readable_slug(slug, CONTENT_SLUG_LENGTH, CONTENT_SLUG_FALLBACK)
    return readable_slug(title, CONTENT_SLUG_LENGTH, CONTENT_SLUG_FALLBACK)


async def _term_map(site: MirrorSite, posts: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """Local ids of the terms `posts` name, by (kind, WordPress id): one query for the batch."""
    wanted = {ext for post in posts for name in ("categories", "tags") for ext in _ids(post.get(name))}
    if not wanted:
        return {}
    rows = await Taxonomy.filter(site_id=site.site_id, external_id__in=sorted(wanted)).values(
        "id", "kind", "external_id"
    )
    return {(row["kind"], row["external_id"]): row["id"] for row in rows}


async def apply_posts(site: MirrorSite, posts: Sequence[Mapping[str, Any]]) -> list[Applied]:
    """Create or update the local mirror of each post or page (in the caller's transaction)."""
    by_ext = {str(post["id"]): post for post in posts}
    # Locked (PostgreSQL) until the caller's transaction ends: a sync page and a webhook applying
    # the same post compare their modification times with what the other committed, in turn.
    same_posts = Content.filter(site_id=site.site_id, external_id__in=list(by_ext)).order_by("id")
    existing: dict[str, Content] = {row.external_id or "": row for row in await same_posts.select_for_update()}
    term_ids = await _term_map(site, posts)
    wanted_slugs = [_wanted_slug(p, rendered(p.get("title"))) for p in posts]
    same_slug = Content.filter(site_id=site.site_id, slug__in=wanted_slugs)
    taken = set(cast("list[str]", await same_slug.values_list("slug", flat=True)))
    results: list[Applied] = []
    for ext, post in by_ext.items():
        values = _post_values(post, term_ids)
        wanted = _wanted_slug(post, values["title"])
        modified = modified_gmt(post)
        row = existing.get(ext)
        if row is not None and row.source != "wordpress":
            results.append(Applied("skipped", row))
            continue
        known = row.external_modified if row is not None else None
        if row is not None and modified is not None and known is not None and modified < known:
            results.append(Applied("stale", row))
            continue
        if modified is not None:
            values["external_modified"] = modified
        if row is None:
            slug = wanted if wanted not in taken else await content_slug(site.site_id, wanted)
            taken.add(slug)
            row = await Content.create(
                account_id=site.account_id,
                site_id=site.site_id,
                source="wordpress",
                external_id=ext,
                slug=slug,
                **values,
            )
            results.append(Applied("created", row))
            continue
        values["content_type"] = _kept_type(row.content_type, values["content_type"])
        changes = {name: value for name, value in values.items() if getattr(row, name) != value}
        if wanted != row.slug and not row.slug.startswith(f"{wanted}-"):
            changes["slug"] = wanted if wanted not in taken else await content_slug(site.site_id, wanted, row.id)
            taken.add(changes["slug"])
        if changes.keys() <= {"external_modified"}:  # WordPress saved it with nothing the mirror keeps changed
            if changes:
                row.external_modified = changes["external_modified"]
                await row.save(update_fields=["external_modified"])
            results.append(Applied("unchanged", row))
            continue
        if "title" in changes or "html" in changes:  # the text is replaced: keep what it was
            await previous_version(row).save()
            row.version += 1
        row.update_from_dict(changes)
        await row.save()
        results.append(Applied("updated", row))
    return results


async def apply_post(site: MirrorSite, post: Mapping[str, Any]) -> Applied:
    return (await apply_posts(site, [post]))[0]


async def _archive(rows: Iterable[Content]) -> list[Content]:
    archived = []
    for row in rows:
        if row.status != "archived":
            row.status = "archived"
            await row.save(update_fields=["status", "updated_at"])
            archived.append(row)
    return archived


async def remove_post(site: MirrorSite, external_id: int | str, deleted_at: datetime | None = None) -> Applied:
    """WordPress deleted the post: mark the local mirror archived (see the module docstring).

    `deleted_at` (the webhook's `occurred_at`, WordPress's clock) becomes the row's modification
    time when later: an update of the post from before its deletion, delivered after it, is then
    stale instead of bringing the post back. A restore in WordPress is a later edit, so it does."""
    found = Content.filter(site_id=site.site_id, external_id=str(external_id), source="wordpress")
    row = await found.select_for_update().first()
    if row is None:
        return Applied("unchanged")
    if deleted_at is not None and (row.external_modified is None or deleted_at > row.external_modified):
        row.external_modified = deleted_at
        await row.save(update_fields=["external_modified"])
    return Applied("deleted" if await _archive([row]) else "unchanged", row)


async def unmirrored(site: MirrorSite, external_ids: Sequence[int]) -> list[int]:
    """Those of `external_ids` that no content of the site carries (any source, any status)."""
    wanted = [str(i) for i in external_ids]
    known: set[str] = set()
    for start in range(0, len(wanted), 1000):  # bounded statements, whatever the backlog
        rows = Content.filter(site_id=site.site_id, external_id__in=wanted[start : start + 1000])
        known.update(cast("list[str]", await rows.values_list("external_id", flat=True)))
    return [i for i in external_ids if str(i) not in known]


async def reconcile_posts(site: MirrorSite, present: Mapping[str, set[str]], listed_from: datetime) -> list[Content]:
    """Archive the mirrored posts and pages WordPress no longer lists (`present`: every id it had,
    by collection, when listed from `listed_from` on), and type each that it lists as what it is
    there: a page mirrored before content had a type was stored as a post, and would be published
    back as one. A row written since the listing began (a webhook's post, made after the listing
    passed its place) is left as it is: the listing can't speak for it."""
    # A mirrored row carries its WordPress id; one unlinked from an earlier WordPress doesn't.
    mirrored = Content.filter(
        site_id=site.site_id, source="wordpress", external_id__not_isnull=True, updated_at__lt=listed_from
    )
    rows = await mirrored.exclude(status="archived").order_by("id").select_for_update()
    listed = {ext: "page" if collection == "pages" else "post" for collection, ids in present.items() for ext in ids}
    retype: dict[str, list[int]] = {}
    for row in rows:
        wp_type = listed.get(row.external_id or "")
        if wp_type is not None and _kept_type(row.content_type, wp_type) != row.content_type:
            retype.setdefault(wp_type, []).append(row.id)
    for content_type, ids in retype.items():
        await Content.filter(id__in=ids).update(content_type=content_type)
    return await _archive(row for row in rows if row.external_id not in listed)


# --- terms -----------------------------------------------------------------------------------------


def term_kind(term: Mapping[str, Any]) -> str | None:
    return TERM_KINDS.get(str(term.get("taxonomy") or ""))


async def apply_terms(
    site: MirrorSite, kind: str, terms: Sequence[Mapping[str, Any]], *, listed_from: datetime | None = None
) -> list[Applied]:
    """Create or update the local terms of one kind (in the caller's transaction), then link
    parents (a parent may come after its child in WordPress's order, so parents are resolved once
    every term of the batch exists).

    `listed_from`: the terms come from a listing that began then. WordPress gives terms no
    modification time, so a term written since (by a webhook about an edit the listing may
    predate) is left as it is (`stale`); the next listing brings whatever WordPress has then."""
    exts = [str(term["id"]) for term in terms]
    slugs = [readable_slug(rendered(t.get("slug")) or rendered(t.get("name")), 200, "term") for t in terms]
    # Locked (PostgreSQL) until the caller's transaction ends: a webhook's write of one of these
    # terms comes before the listing's look at it, or after its commit.
    same_terms = Taxonomy.filter(site_id=site.site_id, kind=kind, external_id__in=exts).order_by("id")
    by_ext = {row.external_id or "": row for row in await same_terms.select_for_update()}
    by_slug = {row.slug: row for row in await Taxonomy.filter(site_id=site.site_id, kind=kind, slug__in=slugs)}
    results: list[Applied] = []
    for term, ext, slug in zip(terms, exts, slugs, strict=True):
        name = rendered(term.get("name"))[:TERM_NAME_LENGTH] or slug
        row = by_ext.get(ext) or by_slug.get(slug)
        if row is not None and listed_from is not None and row.updated_at > listed_from:
            results.append(Applied("stale", term=row))
            continue
        if row is None:
            row = await Taxonomy.create(
                account_id=site.account_id, site_id=site.site_id, kind=kind, name=name, slug=slug, external_id=ext
            )
            by_slug[slug] = row
            results.append(Applied("created", term=row))
            continue
        changes = {
            name_: value
            for name_, value in {"name": name, "slug": slug, "external_id": ext}.items()
            if getattr(row, name_) != value
        }
        if "slug" in changes and changes["slug"] in by_slug and by_slug[changes["slug"]].id != row.id:
            changes.pop("slug")  # another local term has that slug: keep ours rather than collide
        if changes:
            row.update_from_dict(changes)
            await row.save()
        by_slug[row.slug] = row
        results.append(Applied("updated" if changes else "unchanged", term=row))
    await _link_parents(site, kind, terms, results)
    return results


async def _link_parents(
    site: MirrorSite, kind: str, terms: Sequence[Mapping[str, Any]], results: list[Applied]
) -> None:
    parents = {str(term.get("parent")) for term in terms if isinstance(term.get("parent"), int) and term["parent"]}
    local = {
        row["external_id"]: row["id"]
        for row in await Taxonomy.filter(site_id=site.site_id, kind=kind, external_id__in=sorted(parents)).values(
            "id", "external_id"
        )
    }
    for term, applied in zip(terms, results, strict=True):
        row = applied.term
        assert row is not None
        if applied.outcome == "stale":
            continue
        parent = term.get("parent")
        parent_id = local.get(str(parent)) if isinstance(parent, int) and parent else None
        if parent_id == row.id:
            parent_id = None
        if row.parent_id != parent_id:
            row.parent_id = parent_id
            await row.save(update_fields=["parent_id", "updated_at"])
            if applied.outcome == "unchanged":
                applied.outcome = "updated"


async def apply_term(site: MirrorSite, term: Mapping[str, Any]) -> Applied:
    kind = term_kind(term)
    if kind is None:
        return Applied("skipped")
    return (await apply_terms(site, kind, [term]))[0]


async def _delete_terms(site: MirrorSite, rows: Sequence[Taxonomy]) -> int:
    if not rows:
        return 0
    gone = {row.id for row in rows}
    # Contents keep term ids in a JSON list: take the deleted ones out so nothing names a ghost.
    for content in await Content.filter(site_id=site.site_id).exclude(taxonomy_ids=[]).only("id", "taxonomy_ids"):
        kept = [i for i in content.taxonomy_ids or [] if i not in gone]
        if kept != content.taxonomy_ids:
            await Content.filter(id=content.id).update(taxonomy_ids=kept)
    await Taxonomy.filter(id__in=sorted(gone)).delete()
    return len(gone)


async def remove_term(site: MirrorSite, kind: str, external_id: int | str) -> Applied:
    row = await Taxonomy.get_or_none(site_id=site.site_id, kind=kind, external_id=str(external_id))
    if row is None:
        return Applied("unchanged")
    await _delete_terms(site, [row])
    return Applied("deleted", term=row)


async def remove_missing_terms(site: MirrorSite, kind: str, present: set[str], listed_from: datetime) -> int:
    """Remove the mirrored terms of `kind` WordPress no longer has (`present`: every id it had when
    listed from `listed_from` on). A term written since (a webhook's, made in WordPress after the
    listing passed it) is kept: the listing can't speak for it."""
    rows = (
        await Taxonomy.filter(site_id=site.site_id, kind=kind, external_id__isnull=False, updated_at__lt=listed_from)
        .order_by("id")
        .select_for_update()
    )
    return await _delete_terms(site, [row for row in rows if row.external_id not in present])
