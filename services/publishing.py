"""Publishing content to WordPress (CONTRACT §9.4, §16.23): the post, its images, its terms and
its SEO meta, then the post read back and checked.

Never a second post. Every publish of a content records its intent first (a `PublishingRecord`
holding the content's **marker**, committed before WordPress is called), and every post it writes
carries the marker as an HTML comment at the end of its content (`<!-- inkflow:ink… -->`).
Before any create the post is looked up by the marker (`search=<marker>&status=any`, which finds
drafts too; checked against WordPress 6.1): so a retry after a timeout, a job resumed after a
crash between WordPress's create and our save, or a second publish request finds the post and
updates it. A write whose answer was lost (timeout, dropped connection, 5xx) is followed by the
same lookup at once; when the post isn't found the item fails rather than risk a second create,
and the next attempt looks again. The marker is derived from the content (its account, site, id
and creation time), so every attempt for one content uses the same one. Two publishes of one
site never run at once: they are jobs of the site's actor, one item at a time.

Images are found again the same way: their files have unguessable names (`<hex>.png`), which
become the media's slug and title in WordPress, so an upload whose answer was lost is found by
`search=<hex>` instead of being uploaded twice.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise.expressions import Q, Subquery

from config.settings import Settings
from models.accounts import Site
from models.base import Tenant, scoped
from models.integration import Integration
from models.jobs import Job
from models.publisher import POST_STATUSES, Deployment, PublishingRecord
from models.writer import Content, Image, Taxonomy
from services import jobs
from services.errors import DomainError, NotFound, ValidationFailed
from services.events import EventBus
from services.integration import client_for, remember_api_style
from services.modules import enabled_modules
from services.outbound import Outbound
from services.principal import Principal
from services.security import Crypto, utcnow
from services.tenancy import get_owned
from services.wordpress import (
    WordPressClient,
    WordPressError,
    WordPressNotFound,
    WordPressServerError,
    WordPressTimeout,
    WordPressUnreachable,
)
from services.writer import wordpress_collection

log = logging.getLogger("inkflow.publishing")

KIND = "publish"
DESTINATION = "wordpress"
PUBLISH_STATUSES = POST_STATUSES
MARKER_PREFIX = "inkflow:"
# Attempts per WordPress request of a publish (429s and reads; a write is sent once).
PUBLISH_ATTEMPTS = 4
# A write whose answer never came: WordPress may or may not have carried it out.
AMBIGUOUS = (WordPressTimeout, WordPressUnreachable, WordPressServerError)
# Yoast SEO keeps its fields in post meta; WordPress writes them through `meta` where they are
# registered for the REST API (and ignores them, answering 200, where they are not).
YOAST_META = {"_yoast_wpseo_title": "meta_title", "_yoast_wpseo_metadesc": "meta_description"}
YOAST_FOCUS = "_yoast_wpseo_focuskw"
# Rank Math's own endpoint for its fields (the one its editor sidebar uses).
RANK_MATH_ROUTE = "/rankmath/v1/updateMeta"


class NoIntegration(ValidationFailed):
    code = "integration_not_configured"
    message = "The site has no active WordPress integration."


class ImageFileMissing(ValidationFailed):
    code = "image_file_missing"
    message = "An image file of the content is missing."


class PostNotFoundAfterWrite(WordPressError):
    code = "wordpress_write_unconfirmed"
    message = "WordPress did not confirm the write."


# --- what is published and where ---------------------------------------------------------------


async def active_integration(site_id: int) -> Integration:
    """The site's active WordPress integration (the oldest, when there are several); 400 if none."""
    integration = await Integration.filter(site_id=site_id, is_active=True, platform="wordpress").order_by("id").first()
    if integration is None:
        raise NoIntegration(
            "The site has no active WordPress integration: connect one with POST /api/v1/integration/ "
            "(or set is_active on the existing one) before publishing.",
            errors={"site_id": ["No active WordPress integration."]},
        )
    return integration


async def has_integration(site_id: int) -> bool:
    return await Integration.filter(site_id=site_id, is_active=True, platform="wordpress").exists()


def content_marker(content: Content) -> str:
    """The marker of every post written for `content`: the same for every attempt, different for
    every content of every Inkflow server (its creation time is part of it)."""
    created = ""
    if isinstance(content.created_at, datetime):  # the same instant however the driver returns it
        moment = content.created_at
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        created = str(round(moment.timestamp() * 1_000_000))
    seed = f"{content.account_id}:{content.site_id}:{content.id}:{created}"
    return "ink" + hashlib.sha256(seed.encode()).hexdigest()[:29]


def marker_comment(marker: str) -> str:
    return f"<!-- {MARKER_PREFIX}{marker} -->"


# A marker already in the HTML (content synced back from WordPress carries the one we wrote).
_MARKER_IN_HTML = re.compile(r"\s*<!-- " + re.escape(MARKER_PREFIX) + r"[A-Za-z0-9]+ -->")


def without_markers(html: str) -> str:
    return _MARKER_IN_HTML.sub("", html)


async def images_of(content: Content) -> list[Image]:
    """The content's images that exist (generated), featured first, then in article order."""
    images = await Image.filter(content_id=content.id, status="generated").order_by("position", "id")
    return sorted(images, key=lambda image: 0 if _is_featured(content, image) else 1)


def _is_featured(content: Content, image: Image) -> bool:
    if content.featured_image_id is not None:
        return image.id == content.featured_image_id
    return image.kind == "featured"


def image_path(settings: Settings, image: Image) -> Path | None:
    if not image.file_path:
        return None
    return settings.media_dir / image.file_path


def missing_files(settings: Settings, content: Content, images: Sequence[Image]) -> dict[str, list[str]]:
    """Each image whose file is gone, by field name (`images[<id>].file_path`)."""
    errors: dict[str, list[str]] = {}
    for image in images:
        path = image_path(settings, image)
        if path is None or not path.is_file():
            what = "featured image" if _is_featured(content, image) else "image"
            errors[f"images[{image.id}].file_path"] = [
                f"Content {content.id}: the file of its {what} {image.id} ({image.file_path or 'no file'}) is "
                "missing; regenerate it (POST /api/v1/writer/images/regenerate/) and publish again."
            ]
    return errors


async def check_image_files(settings: Settings, contents: Sequence[Content]) -> None:
    """400 `image_file_missing` naming each image whose file is gone, before WordPress is called."""
    errors: dict[str, list[str]] = {}
    for content in contents:
        errors.update(missing_files(settings, content, await images_of(content)))
    if errors:
        first = next(iter(errors.values()))[0]
        raise ImageFileMissing(first, errors=errors)


# --- reading records -----------------------------------------------------------------------------


async def content_of(caller: Principal, content_id: int) -> Content:
    """The caller's content, or 404 (another account's or, for a site key, another site's)."""
    content: Content = await get_owned(Content, caller, content_id, "content")
    return content


async def records_of_job(caller: Tenant, job: Job) -> list[PublishingRecord]:
    """The records of a publish job, newest first; 404 for a job that publishes nothing."""
    records = await scoped(PublishingRecord, caller).filter(job_id=job.id).order_by("-id")
    if not records and job.kind != KIND:
        raise NotFound("Publish job not found.")
    return list(records)


async def latest_of_content(caller: Tenant, content: Content) -> tuple[PublishingRecord | None, Job | None]:
    record = await scoped(PublishingRecord, caller).filter(content_id=content.id).order_by("-id").first()
    job = await Job.get_or_none(id=record.job_id) if record is not None and record.job_id is not None else None
    return record, job


# --- the intent --------------------------------------------------------------------------------


async def record_intent(content: Content, *, job_id: int, post_status: str) -> PublishingRecord:
    """The job's record for `content` (made when the job was, or now), marked `publishing` with
    the content's marker, and committed: from here on a post with the marker may exist."""
    record = await PublishingRecord.filter(job_id=job_id, content_id=content.id).order_by("-id").first()
    if record is None:
        record = await PublishingRecord.create(
            account_id=content.account_id,
            site_id=content.site_id,
            content_id=content.id,
            destination=DESTINATION,
            job_id=job_id,
            post_status=post_status,
        )
    record.status = "publishing"
    record.marker = content_marker(content)
    record.error = None
    await record.save(update_fields=["status", "marker", "error", "updated_at"])
    return record


# --- talking to WordPress ----------------------------------------------------------------------


@dataclass
class Published:
    """What one publish did: the post, and how its read-back compared with what was sent."""

    collection: str
    post_id: int
    link: str
    status: str
    created: bool
    checks: dict[str, Any] = field(default_factory=dict)
    seo: dict[str, Any] = field(default_factory=dict)
    media_ids: list[int] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(check["ok"] for check in self.checks.values())

    def verification(self) -> dict[str, Any]:
        return {"checks": self.checks, "seo": self.seo, "collection": self.collection, "media_ids": self.media_ids}


class WordPressPublisher:
    """Publishes contents of one site through one integration's client."""

    def __init__(self, client: WordPressClient, integration: Integration, settings: Settings) -> None:
        self.client = client
        self.integration = integration
        self.settings = settings
        self.seo_plugins = set((integration.structure or {}).get("seo_plugins") or [])

    async def publish(self, content: Content, record: PublishingRecord) -> Published:
        """Write the post for `content` (created or updated, never twice) and read it back."""
        images = await images_of(content)
        missing = missing_files(self.settings, content, images)
        if missing:  # before WordPress is called: nothing half-done there
            raise ImageFileMissing(next(iter(missing.values()))[0], errors=missing)
        assert record.marker is not None
        known = await self._known_post(wordpress_collection(content.content_type), content, record.marker)
        collection = known[0] if known is not None else wordpress_collection(content.content_type)
        media = await self._upload_images(images)
        featured = next((media[i.id]["id"] for i in images if _is_featured(content, i) and i.id in media), 0)
        # Pages have no categories or tags.
        terms = await self._map_terms(content) if collection == "posts" else None
        fields = self._fields(content, record, media, images, featured, terms)
        post, created = await self._write(collection, record.marker, fields, None if known is None else known[1])
        post_id = int(post["id"])
        seo = await self._rank_math(post_id, content) if "rankmath" in self.seo_plugins else {}
        if "yoast" in self.seo_plugins:
            seo["yoast"] = {"sent": sorted(fields.get("meta", {}))}
        back = await self.client.get_object(collection, post_id, context="edit")
        checks = _verify(back, content, record.post_status, featured, terms)
        return Published(
            collection=collection,
            post_id=post_id,
            link=str(back.get("link") or post.get("link") or ""),
            status=str(back.get("status") or ""),
            created=created,
            checks=checks,
            seo=seo,
            media_ids=[int(m["id"]) for m in media.values()],
        )

    # --- the post ---

    def _fields(
        self,
        content: Content,
        record: PublishingRecord,
        media: dict[int, dict[str, Any]],
        images: Sequence[Image],
        featured: int,
        terms: dict[str, list[int]] | None,
    ) -> dict[str, Any]:
        body = without_markers(content.html)
        for image in images:  # in-article images point at the media library, not at this server
            if image.url and image.id in media and media[image.id].get("source_url"):
                body = body.replace(image.url, str(media[image.id]["source_url"]))
        assert record.marker is not None
        fields: dict[str, Any] = {
            "title": content.title,
            "content": f"{body}\n{marker_comment(record.marker)}",
            "status": record.post_status,
            "slug": content.slug,
            "excerpt": content.meta_description,
            "featured_media": featured,
        }
        if terms is not None:
            if terms["categories"]:  # none sent: WordPress files the post under its default category
                fields["categories"] = terms["categories"]
            fields["tags"] = terms["tags"]
        if "yoast" in self.seo_plugins:
            meta = {key: getattr(content, name) for key, name in YOAST_META.items()}
            meta[YOAST_FOCUS] = content.primary_keyword
            fields["meta"] = meta
        return fields

    async def _write(
        self, collection: str, marker: str, fields: dict[str, Any], known: int | None
    ) -> tuple[dict[str, Any], bool]:
        """Update the `known` post, else the one carrying the marker, else create one; answers the
        post and whether it was created."""
        if known is not None:
            return await self.client.update(collection, known, fields), False
        existing = await self.find_by_marker(collection, marker)
        if existing is not None:
            return await self.client.update(collection, int(existing["id"]), fields), False
        try:
            return await self.client.create(collection, fields), True
        except AMBIGUOUS as exc:
            found = await self.find_by_marker(collection, marker)
            if found is None:
                raise PostNotFoundAfterWrite(
                    f"WordPress did not confirm creating the post ({exc.message}) and no post with its marker "
                    "exists yet; publishing again looks for it first, so it can't make a second post.",
                    status=exc.status,
                ) from exc
            log.info("the create's answer was lost; found post %s by its marker %s", found["id"], marker)
            return await self.client.update(collection, int(found["id"]), fields), True

    async def _known_post(self, collection: str, content: Content, marker: str) -> tuple[str, int] | None:
        """The collection and id of the post `external_id` names, if it is still there and is this
        content's: it carries the marker, or the content came from this WordPress (a sync). A post
        that isn't (the integration now points at another site, whose post has that id) is never
        overwritten."""
        if not (content.external_id and content.external_id.isdigit()):
            return None
        try:
            post = await self.client.get_object(collection, int(content.external_id), context="edit")
        except WordPressNotFound:
            if await self._synced_page_typed_post(collection, content):
                return "pages", int(content.external_id)
            log.info("content %s: post %s is gone from WordPress; publishing anew", content.id, content.external_id)
            return None
        body = post.get("content")
        raw = body.get("raw") if isinstance(body, dict) else None
        if (isinstance(raw, str) and marker_comment(marker) in raw) or content.source == "wordpress":
            return collection, int(post["id"])
        log.warning(
            "content %s: post %s on %s is not this content's (no marker); looking for its own",
            content.id,
            content.external_id,
            self.client.host,
        )
        return None

    async def _synced_page_typed_post(self, collection: str, content: Content) -> bool:
        """A synced content whose id is no post in WordPress but a page: it was mirrored before
        contents had types (migration 10 typed them all `post`) and no sync has typed it since. It
        is typed `page` now, and published as the page it is rather than as a new post."""
        if content.source != "wordpress" or collection != "posts":
            return False
        try:
            await self.client.get_object("pages", int(str(content.external_id)), context="edit")
        except WordPressNotFound:
            return False
        content.content_type = "page"
        await Content.filter(id=content.id).update(content_type="page")
        log.info("content %s: WordPress has %s as a page; typed page", content.id, content.external_id)
        return True

    async def find_by_marker(self, collection: str, marker: str) -> dict[str, Any] | None:
        """The post whose content carries `marker` (drafts, pending and private ones included)."""
        found = await self.client.get(
            f"/wp/v2/{collection}", search=marker, status="any", context="edit", per_page=10, orderby="id", order="asc"
        )
        comment = marker_comment(marker)
        for post in found if isinstance(found, list) else []:
            raw = (post.get("content") or {}).get("raw") if isinstance(post.get("content"), dict) else None
            if isinstance(raw, str) and comment in raw:
                return dict(post)
        return None

    # --- media ---

    async def _upload_images(self, images: Sequence[Image]) -> dict[int, dict[str, Any]]:
        """Each image in the media library (found by its file's unguessable name, else uploaded),
        with its alt text; by image id."""
        media: dict[int, dict[str, Any]] = {}
        for image in images:
            path = image_path(self.settings, image)
            assert path is not None
            existing = await self._find_media(path.stem)
            if existing is None:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                try:
                    existing = await self.client.upload_media(
                        path.name, path.read_bytes(), content_type, alt_text=image.alt_text or None
                    )
                except AMBIGUOUS:
                    existing = await self._find_media(path.stem)
                    if existing is None:
                        raise
            if image.alt_text and existing.get("alt_text") != image.alt_text:
                existing = await self.client.update("media", int(existing["id"]), {"alt_text": image.alt_text})
            media[image.id] = existing
        return media

    async def _find_media(self, stem: str) -> dict[str, Any] | None:
        found = await self.client.get("/wp/v2/media", search=stem, context="edit", per_page=10)
        for item in found if isinstance(found, list) else []:
            if stem in str(item.get("source_url") or "") or item.get("slug") == stem:
                return dict(item)
        return None

    # --- terms ---

    async def _map_terms(self, content: Content) -> dict[str, list[int]]:
        ids = [int(i) for i in content.taxonomy_ids or [] if isinstance(i, int) or str(i).isdigit()]
        rows = await Taxonomy.filter(id__in=ids, site_id=content.site_id) if ids else []
        terms: dict[str, list[int]] = {"categories": [], "tags": []}
        for row in sorted(rows, key=lambda r: ids.index(r.id)):
            rest = "categories" if row.kind == "category" else "tags"
            term_id = await self._term_id(row)
            if term_id not in terms[rest]:
                terms[rest].append(term_id)
        return terms

    async def _term_id(self, row: Taxonomy, depth: int = 0) -> int:
        """The WordPress term of a local taxonomy: by its id, then its slug, then its name, and
        only then created — a name WordPress already has answers `term_exists` with its id."""
        rest = "categories" if row.kind == "category" else "tags"
        term_id = await self._find_term(rest, row)
        if term_id is None:
            body: dict[str, Any] = {"name": row.name, "slug": row.slug}
            if rest == "categories" and row.parent_id is not None and depth < 10:
                parent = await Taxonomy.get_or_none(id=row.parent_id, site_id=row.site_id)
                if parent is not None:
                    body["parent"] = await self._term_id(parent, depth + 1)
            term_id = await self._create_term(rest, row, body)
        if row.external_id != str(term_id):
            row.external_id = str(term_id)
            await row.save(update_fields=["external_id", "updated_at"])
        return term_id

    async def _find_term(self, rest: str, row: Taxonomy) -> int | None:
        if row.external_id and row.external_id.isdigit():
            try:
                return int((await self.client.get_object(rest, int(row.external_id)))["id"])
            except WordPressNotFound:
                pass  # deleted in WordPress: look for it by slug and name
        by_slug = await self.client.get(f"/wp/v2/{rest}", slug=row.slug, per_page=10)
        for term in by_slug if isinstance(by_slug, list) else []:
            return int(term["id"])
        by_name = await self.client.get(f"/wp/v2/{rest}", search=row.name, per_page=100)
        wanted = row.name.strip().casefold()
        for term in by_name if isinstance(by_name, list) else []:
            # WordPress answers names HTML-escaped ("Food &amp; Drink").
            if htmllib.unescape(str(term.get("name") or "")).strip().casefold() == wanted:
                return int(term["id"])
        return None

    async def _create_term(self, rest: str, row: Taxonomy, body: dict[str, Any]) -> int:
        try:
            return int((await self.client.create(rest, body))["id"])
        except WordPressError as exc:
            if exc.wp_code == "term_exists" and str(exc.data.get("term_id", "")).isdigit():
                return int(exc.data["term_id"])
            if isinstance(exc, AMBIGUOUS):
                found = await self._find_term(rest, row)
                if found is not None:
                    return found
            raise

    # --- SEO plugins ---

    async def _rank_math(self, post_id: int, content: Content) -> dict[str, Any]:
        meta = {
            "rank_math_title": content.meta_title,
            "rank_math_description": content.meta_description,
            "rank_math_focus_keyword": content.primary_keyword,
        }
        try:
            await self.client.request(
                "POST", RANK_MATH_ROUTE, json={"objectType": "post", "objectID": post_id, "meta": meta}
            )
        except WordPressError as exc:  # the post is published; the SEO fields are reported missing
            return {"rankmath": {"ok": False, "error": exc.message}}
        return {"rankmath": {"ok": True, "sent": sorted(meta)}}


def _check(expected: Any, found: Any) -> dict[str, Any]:
    return {"ok": expected == found, "expected": expected, "found": found}


def _verify(
    post: dict[str, Any],
    content: Content,
    status: str,
    featured: int,
    terms: dict[str, list[int]] | None,
) -> dict[str, dict[str, Any]]:
    """Compare the post WordPress shows with what was sent."""
    title = post.get("title")
    raw_title = title.get("raw") if isinstance(title, dict) else title
    checks = {
        "title": _check(content.title, raw_title),
        "status": _check(status, post.get("status")),
        "featured_media": _check(featured, post.get("featured_media", 0)),
    }
    if terms is not None:
        if terms["categories"]:
            checks["categories"] = _check(sorted(terms["categories"]), sorted(post.get("categories") or []))
        checks["tags"] = _check(sorted(terms["tags"]), sorted(post.get("tags") or []))
    return checks


# --- saving the outcome ------------------------------------------------------------------------


async def save_published(content: Content, record: PublishingRecord, published: Published) -> None:
    """Store the post on the content and the record (inside the item's transaction)."""
    content.external_id = str(published.post_id)
    content.external_url = published.link
    if record.post_status == "publish":
        content.status = "published"
    await content.save(update_fields=["external_id", "external_url", "status", "updated_at"])
    record.status = "published"
    record.external_id = content.external_id
    record.external_url = published.link
    record.published_at = utcnow()
    record.error = None
    record.verified = published.verified
    record.verification = published.verification()
    await record.save()


async def save_failed(record: PublishingRecord, message: str) -> None:
    record.status = "failed"
    record.error = message
    await record.save(update_fields=["status", "error", "updated_at"])


def record_dict(record: PublishingRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "content_id": record.content_id,
        "site_id": record.site_id,
        "destination": record.destination,
        "status": record.status,
        "post_status": record.post_status,
        "external_id": record.external_id,
        "external_url": record.external_url,
        "error": record.error,
        "job_id": record.job_id,
        "verified": record.verified,
        "verification": record.verification,
        "scheduled_at": record.scheduled_at,
        "published_at": record.published_at,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


# --- one content, start to end (what a job's item does) ------------------------------------------


@dataclass(frozen=True)
class PublishContext:
    settings: Settings
    crypto: Crypto
    outbound: Outbound


@dataclass
class Delivery:
    """An item's outcome: `write` stores it (inside the item's transaction), `entry` reports it."""

    status: str  # published | failed | review
    write: Callable[[], Awaitable[None]]
    entry: dict[str, Any]
    error: str | None = None


async def deliver_content(context: PublishContext, job_id: int, content: Content, post_status: str) -> Delivery:
    """Publish one content as an item of job `job_id`: the intent is committed first; a failure
    (WordPress, a missing image file, no integration) is a failed record, not a crash."""
    record = await record_intent(content, job_id=job_id, post_status=post_status)
    base = {"content_id": content.id, "record_id": record.id, "post_status": post_status}
    try:
        integration = await active_integration(content.site_id)
        client = client_for(
            integration,
            context.crypto,
            context.outbound,
            timeout=context.settings.wordpress_timeout,
            max_attempts=PUBLISH_ATTEMPTS,
        )
        published = await WordPressPublisher(client, integration, context.settings).publish(content, record)
        await remember_api_style(integration, client)
    except DomainError as exc:  # WordPressError is one
        log.warning("content %s: publishing failed: %s", content.id, exc.message)
        message = exc.message

        async def write_failed() -> None:
            await save_failed(record, message)

        entry = {**base, "status": "failed", "error": {"code": exc.code, "message": message}}
        return Delivery("failed", write_failed, entry, error=message)

    async def write() -> None:
        await save_published(content, record, published)

    entry = {
        **base,
        "status": "published",
        "post_id": published.post_id,
        "url": published.link,
        "created": published.created,
        "verified": published.verified,
    }
    return Delivery("published", write, entry)


# --- jobs, deployments, schedules ----------------------------------------------------------------


async def attach_job(job: Job, records: dict[str, int] | None = None) -> None:
    """In the job's creating transaction: its deployment, and a pending record per content that
    has none yet (a scheduled record is claimed instead: `claim_records`)."""
    params = job.params
    await Deployment.create(
        account_id=job.account_id, site_id=job.site_id, job_id=job.id, content_ids=params["content_ids"]
    )
    claimed = {int(cid) for cid in (records or {})}
    contents = await Content.filter(id__in=[c for c in params["content_ids"] if c not in claimed])
    for content in contents:
        await PublishingRecord.create(
            account_id=content.account_id,
            site_id=content.site_id,
            content_id=content.id,
            destination=DESTINATION,
            job_id=job.id,
            post_status=params["status"],
        )


async def claim_records(job: Job, record_ids: Sequence[int]) -> int:
    """Give pending, unclaimed records to `job` (conditional: each record to one job, ever)."""
    return await PublishingRecord.filter(id__in=list(record_ids), status="pending", job_id=None).update(job_id=job.id)


async def due_records(now: datetime, limit: int = 200) -> list[PublishingRecord]:
    """Pending records not yet given to a job whose time has come, oldest first."""
    return (
        await PublishingRecord.filter(status="pending", job_id=None)
        .filter(Q(scheduled_at__lte=now) | Q(scheduled_at=None))
        .order_by("scheduled_at", "id")
        .limit(limit)
    )


async def _close_deployment(job: Job) -> None:
    """In the job's finishing transaction: the deployment's status and summary; records the job
    never got to (cancelled, failed before their turn) end `failed` with the reason."""
    records = await PublishingRecord.filter(job_id=job.id)
    unfinished = [r for r in records if r.status in ("pending", "publishing")]
    reason = (job.error or {}).get("message") or f"The publish job was {job.status} before this content's turn."
    for record in unfinished:
        await save_failed(record, reason)
    summary = {
        "published": sum(1 for r in records if r.status == "published"),
        "failed": sum(1 for r in records if r.status == "failed"),
        "verified": sum(1 for r in records if r.verified),
        "not_found": list((job.params or {}).get("not_found") or []),
    }
    deployment = await Deployment.get_or_none(job_id=job.id)
    if deployment is not None:
        deployment.status = job.status
        deployment.started_at = job.started_at
        deployment.finished_at = job.finished_at
        deployment.summary = summary
        await deployment.save()


async def _closed(events: EventBus, job: Job) -> None:
    """Nothing to announce beyond `job.<status>`."""


jobs.FINISH_HOOKS[KIND] = jobs.FinishHooks(closing=_close_deployment, closed=_closed)


def deployment_dict(deployment: Deployment, job: Job | None) -> dict[str, Any]:
    status = deployment.status
    if job is not None and job.status in jobs.ACTIVE:
        status = job.status  # the deployment row is closed with its job; until then the job tells
    return {
        "id": deployment.id,
        "site_id": deployment.site_id,
        "job_id": deployment.job_id,
        "content_ids": deployment.content_ids,
        "status": status,
        "started_at": job.started_at if job is not None else deployment.started_at,
        "finished_at": deployment.finished_at,
        "summary": deployment.summary,
        "created_at": deployment.created_at,
    }


# --- the public site definition ----------------------------------------------------------------


async def site_definition(slug: str) -> dict[str, Any]:
    """What a headless front end needs to render the site: published content only.

    404 for an unknown or inactive site, and for one whose account switched the publisher off
    (a public endpoint never says which)."""
    site = await Site.get_or_none(slug=slug, is_active=True)
    if site is None or not (await enabled_modules(site.account_id)).get("publisher", True):
        raise NotFound("Site not found.")
    published = Content.filter(site_id=site.id, status="published")
    contents = await published.order_by("-created_at", "-id")
    images: dict[int, list[Image]] = {}
    # By a subquery, not a list of ids: a site may publish more contents than a statement can
    # take parameters.
    of_published = Subquery(published.values("id"))
    for image in await Image.filter(content_id__in=of_published, status="generated").order_by("position", "id"):
        images.setdefault(image.content_id, []).append(image)
    taxonomies = await Taxonomy.filter(site_id=site.id).order_by("name", "id")
    by_id = {t.id: t for t in taxonomies}
    posts_out: list[dict[str, Any]] = []
    pages_out: list[dict[str, Any]] = []
    for content in contents:
        entry = _content_entry(content, images.get(content.id, []), by_id)
        (pages_out if content.content_type == "page" else posts_out).append(entry)
    return {
        "site": {"name": site.name, "domain": site.domain, "slug": site.slug},
        "navigation": _navigation([t for t in taxonomies if t.kind == "category"]),
        "posts": posts_out,
        "pages": pages_out,
    }


def _image_entry(image: Image) -> dict[str, Any]:
    return {
        "id": image.id,
        "kind": image.kind,
        "url": image.url,
        "alt_text": image.alt_text,
        "width": image.width,
        "height": image.height,
    }


def _content_entry(content: Content, images: list[Image], taxonomies: dict[int, Taxonomy]) -> dict[str, Any]:
    terms = [taxonomies[i] for i in content.taxonomy_ids or [] if isinstance(i, int) and i in taxonomies]
    featured = next((i for i in images if _is_featured(content, i)), None)
    return {
        "id": content.id,
        "slug": content.slug,
        "title": content.title,
        "html": content.html,
        "meta": {
            "title": content.meta_title or content.title,
            "description": content.meta_description,
            "keywords": [k for k in [content.primary_keyword, *(content.secondary_keywords or [])] if k],
        },
        "url": content.external_url,
        "categories": [t.slug for t in terms if t.kind == "category"],
        "tags": [t.slug for t in terms if t.kind == "tag"],
        "featured_image": _image_entry(featured) if featured is not None else None,
        "images": [_image_entry(i) for i in images if i is not featured],
        "created_at": content.created_at,
        "updated_at": content.updated_at,
    }


def _navigation(categories: list[Taxonomy]) -> list[dict[str, Any]]:
    """The categories as a tree (parents first, children nested, by name)."""
    children: dict[int | None, list[Taxonomy]] = {}
    known = {c.id for c in categories}
    for category in categories:
        parent = category.parent_id if category.parent_id in known else None
        children.setdefault(parent, []).append(category)

    def branch(parent: int | None, depth: int) -> list[dict[str, Any]]:
        return [
            {
                "name": c.name,
                "slug": c.slug,
                "children": branch(c.id, depth + 1) if depth < 10 else [],
            }
            for c in children.get(parent, [])
        ]

    return branch(None, 0)


def definition_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
