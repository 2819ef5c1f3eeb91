"""/api/v1/integration/: site integrations (WordPress), their keys and connection checks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from schemas.common import (
    INT64_MAX,
    Bool,
    Id,
    Int,
    ListQuery,
    QueryBool,
    QueryId,
    StrictSchema,
    Text,
    Url,
    optional,
    ordering_field,
    search_field,
    trimmed,
)
from schemas.jobs import JobOut, OperationResult, WaitQuery

PLATFORMS = ("wordpress",)
SYNC_STATUSES = ("idle", "syncing", "error")
COLLECTIONS = ("posts", "pages", "categories", "tags", "media", "types")
MAX_CONFIG_BYTES = 64 * 1024


HOME_URL = (
    "The address WordPress gives itself (Settings → General → Site Address), when it is not on `base_url`'s "
    "host — WordPress behind a proxy, or reached here by an internal name; null otherwise. The webhook takes "
    "deliveries whose `site_url` is on `base_url`'s host or on this one's (a staging copy of the site, which "
    "holds the same key, is refused)"
)


class IntegrationOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    platform = fields.String()
    base_url = fields.String()
    username = fields.String()
    app_password_set = fields.Boolean(metadata={"description": "The application password is never shown"})
    is_active = fields.Boolean()
    sync_enabled = fields.Boolean()
    last_sync_at = fields.DateTime(allow_none=True)
    sync_status = fields.String(metadata={"description": "idle | syncing | error"})
    structure = fields.Dict(
        metadata={"description": "From WordPress by update_structure/: api_style, site, post_types, taxonomies"}
    )
    config = fields.Dict()
    plugin_site_url = fields.String(
        allow_none=True,
        metadata={"description": "The `site_url` of the last webhook the plugin signed (null before the first)"},
    )
    plugin_site_url_matches = fields.Boolean(
        allow_none=True,
        metadata={
            "description": "Whether that address is on `base_url`'s host (or `home_url`'s): the webhook takes "
            "deliveries only from there; null before the first webhook"
        },
    )
    home_url = fields.String(allow_none=True, metadata={"description": HOME_URL})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class IntegrationSecretsOut(IntegrationOut):
    api_key = fields.String(
        metadata={"description": "`ink_…` for `Authorization: ApiKey`: shown only now, stored hashed"}
    )
    webhook_secret = fields.String(
        metadata={"description": "`whsec_…` (Standard Webhooks) to sign webhooks: shown only now"}
    )


def _clean_base_url(value: str) -> str:
    """The site's address without a trailing slash, query or fragment (WordPress routes hang off it)."""
    parts = urlsplit(value.strip())
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError("Give the site's address only, e.g. https://example.com (no query, #fragment or login).")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


class _IntegrationFields(StrictSchema):
    base_url = Url(
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=2000),
        metadata={"description": "The WordPress site's address (its home page), http or https"},
    )
    username = trimmed(200, min_length=1, metadata={"description": "The WordPress user the application password is of"})
    app_password = Text(
        load_only=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "An application password (Users → Profile); write-only, stored encrypted"},
    )
    is_active = Bool()
    sync_enabled = Bool()
    config = fields.Dict(keys=Text(validate=validate.Length(min=1, max=100)))
    home_url = Url(
        schemes={"http", "https"},
        require_tld=False,
        allow_none=True,
        validate=validate.Length(max=2000),
        metadata={"description": HOME_URL},
    )
    same_wordpress = Bool(
        load_only=True,
        metadata={
            "description": "Write-only, not stored: `base_url` is the WordPress the site's content is already "
            "linked to, at a new address (a moved domain), so its posts' links stay. Without it, an active "
            "integration for another WordPress than that one is 409 while the site has published or synced "
            "content: another WordPress's posts would overwrite it by id"
        },
    )
    unlink_content = Bool(
        load_only=True,
        metadata={
            "description": "Write-only, not stored: `base_url` is another WordPress than the one the site's "
            "content is linked to, and that content lets go of it, in the same transaction: published content "
            "becomes `draft`, every content and term of the site drops its WordPress id and URL (publishing "
            "sends it to the new WordPress as new posts, finding or creating its terms there) and the next "
            "sync is a full one. Nothing is deleted, here or in either WordPress. Only acts when the site's "
            "WordPress changes; can't be sent with `same_wordpress: true`"
        },
    )

    @validates("username")
    def _no_colon(self, value: str, **kwargs: Any) -> None:
        if ":" in value:
            raise ValidationError("A WordPress username can't contain ':'.")

    @validates("config")
    def _storable_config(self, value: dict[str, Any], **kwargs: Any) -> None:
        text = json.dumps(value)
        if len(text.encode()) > MAX_CONFIG_BYTES:
            raise ValidationError(f"Must be at most {MAX_CONFIG_BYTES} bytes as JSON.")
        if "\\u0000" in text:
            raise ValidationError("Must not contain NUL characters.")

    @validates_schema
    def _one_kind_of_move(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("same_wordpress") and data.get("unlink_content"):
            message = "same_wordpress (the same WordPress) and unlink_content (another one) exclude each other."
            raise ValidationError({"same_wordpress": [message], "unlink_content": [message]})

    @post_load
    def _normalise(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        for name in ("base_url", "home_url"):
            if data.get(name) is not None:
                try:
                    data[name] = _clean_base_url(data[name])
                except ValidationError as exc:
                    raise ValidationError({name: exc.messages}) from None
        if "username" in data:
            data["username"] = data["username"].strip()
        return data


class IntegrationIn(_IntegrationFields):
    site_id = Id(required=True)
    platform = Text(load_default="wordpress", validate=validate.OneOf(PLATFORMS))
    base_url = Url(
        schemes={"http", "https"},
        require_tld=False,
        required=True,
        validate=validate.Length(max=2000),
        metadata={"description": "The WordPress site's address (its home page), http or https"},
    )
    username = trimmed(200, min_length=1, required=True, metadata={"description": "The WordPress user"})
    app_password = Text(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "An application password (Users → Profile); write-only, stored encrypted"},
    )


class IntegrationUpdateIn(_IntegrationFields):
    """Every field optional; `app_password` replaces the stored one, a new `base_url` clears `structure`."""


class IntegrationQuery(ListQuery):
    site_id = QueryId()
    platform = Text(validate=validate.OneOf(PLATFORMS))
    is_active = QueryBool()
    sync_status = Text(validate=validate.OneOf(SYNC_STATUSES))
    search = search_field("base_url", "username")
    ordering = ordering_field("created_at", "base_url", "last_sync_at")


class CollectionTestIn(StrictSchema):
    collection = Text(required=True, validate=validate.OneOf(COLLECTIONS))


class _CheckOut(Schema):
    ok = fields.Boolean()
    error = optional(fields.String(metadata={"description": "Why it failed, in plain words (only when ok is false)"}))
    code = optional(
        fields.String(
            metadata={
                "description": "Only when ok is false: wordpress_auth_failed, wordpress_app_passwords_unavailable, "
                "not_wordpress, wordpress_unreachable, wordpress_timeout, wordpress_forbidden, wordpress_error, …"
            }
        )
    )
    latency_ms = optional(fields.Float(metadata={"description": "When WordPress was called"}))


class ConnectionTestOut(_CheckOut):
    site_name = optional(fields.String())
    site_url = optional(fields.String())
    home = optional(
        fields.String(
            allow_none=True,
            metadata={"description": "The address WordPress gives itself: the `site_url` its plugin's webhooks carry"},
        )
    )
    webhooks_accepted = optional(
        fields.Boolean(
            allow_none=True,
            metadata={
                "description": "Whether the webhook would take this WordPress's deliveries (`home` on `base_url`'s "
                "host or the integration's `home_url`'s); false: set `home_url` to `home`"
            },
        )
    )
    wp_version = optional(
        fields.String(metadata={"description": "When the site reveals it (WordPress's REST API doesn't)"})
    )
    user = optional(fields.Dict(metadata={"description": "id, username, name, slug, roles"}))
    capabilities = optional(fields.List(fields.String(), metadata={"description": "The capabilities the user has"}))
    api_style = optional(fields.String(metadata={"description": "wp-json (pretty permalinks) or rest_route"}))


class CollectionTestOut(_CheckOut):
    collection = fields.String()
    total = optional(fields.Integer(allow_none=True, metadata={"description": "X-WP-Total (types: how many)"}))


class StructureOut(_CheckOut):
    structure = optional(fields.Dict(metadata={"description": "When WordPress could be read"}))


class ContentTypesOut(_CheckOut):
    content_types = optional(
        fields.List(fields.Dict(), metadata={"description": "slug, name, rest_base, hierarchical, taxonomies"})
    )
    refreshed = optional(
        fields.Boolean(metadata={"description": "Whether the structure was read from WordPress just now"})
    )


# --- sync ------------------------------------------------------------------------------------------


class Counts(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    deleted = fields.Integer(metadata={"description": "Posts/pages: archived locally; terms: removed"})
    failed = fields.Integer()


class SyncResult(OperationResult):
    integration_id = fields.Integer()
    sync_run_id = fields.Integer()
    modified_after = fields.String(
        allow_none=True, metadata={"description": "The incremental window's start (null on a first, full sync)"}
    )
    items = fields.Nested(Counts, metadata={"description": "Posts and pages (CONTRACT §16.18)"})
    terms = fields.Nested(Counts, metadata={"description": "Categories and tags"})
    pages = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "WordPress list pages read, by list"}
    )
    done = fields.Integer(metadata={"description": "WordPress objects processed"})
    total = fields.Integer(metadata={"description": "WordPress objects found (X-WP-Total of each list)"})


class SyncStatusOut(Schema):
    integration_id = fields.Integer()
    status = fields.String(metadata={"description": "idle | syncing | error"})
    stage = fields.String(
        metadata={"description": "queued, categories, tags, posts, pages, deletions, done, failed or cancelled"}
    )
    done = fields.Integer(metadata={"description": "WordPress objects processed by the latest sync"})
    total = fields.Integer(metadata={"description": "WordPress objects the latest sync has found so far"})
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    last_sync_at = fields.DateTime(allow_none=True, metadata={"description": "End of the last successful sync"})
    items = fields.Nested(Counts, metadata={"description": "Posts and pages of the latest sync"})
    terms = fields.Nested(Counts, metadata={"description": "Categories and tags of the latest sync"})
    last_error = fields.String(allow_none=True, metadata={"description": "Why the latest sync failed"})
    job_id = fields.Integer(allow_none=True)
    sync_run_id = fields.Integer(allow_none=True)


class SyncHealthOut(Schema):
    integration_id = fields.Integer()
    days = fields.Integer()
    syncs = fields.Integer(metadata={"description": "Syncs finished in the window"})
    succeeded = fields.Integer()
    failed = fields.Integer()
    success_rate = fields.Float(allow_none=True, metadata={"description": "0..1; null without finished syncs"})
    mean_duration_s = fields.Float(allow_none=True)
    p95_duration_s = fields.Float(allow_none=True)
    items_synced = fields.Integer(metadata={"description": "Posts, pages and terms created, updated or deleted"})
    last_success_at = fields.DateTime(allow_none=True)
    last_failure_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    webhooks_received = fields.Integer(metadata={"description": "Deliveries processed (duplicates excluded)"})
    webhooks_rejected = fields.Integer(metadata={"description": "Bad signature or timestamp out of tolerance"})


FULL_SYNC = (
    "Read every post and page, not only those changed since the last successful sync (terms are always "
    "read in full): what is missing here (deleted on this side, say) is mirrored again. Without it, a sync "
    "after a failed one goes on from the failed one's pages"
)


class SyncQuery(WaitQuery):
    full = QueryBool(load_default=False, metadata={"description": FULL_SYNC})


class SiteSyncIn(StrictSchema):
    site_id = Id(required=True)
    full = Bool(load_default=False, metadata={"description": FULL_SYNC})


class SiteSyncOut(Schema):
    site_id = fields.Integer()
    jobs = fields.List(fields.Nested(JobOut), metadata={"description": "One sync job per active integration"})
    skipped = fields.List(fields.Dict(), metadata={"description": "`{integration_id, reason}`: a sync already running"})


# --- webhook ---------------------------------------------------------------------------------------

WP_POST_TYPES = ("post", "page")
WP_TAXONOMIES = ("category", "post_tag")
WEBHOOK_EVENT_NAMES = (
    "post.created",
    "post.updated",
    "post.published",
    "post.deleted",
    "term.created",
    "term.updated",
    "term.deleted",
)


def _wp_id() -> Int:
    return Int(minimum=1, maximum=INT64_MAX, strict=True, required=True, metadata={"description": "WordPress id"})


def _ids() -> fields.List:
    item = Int(minimum=1, maximum=INT64_MAX, strict=True)
    return fields.List(item, load_default=list, validate=validate.Length(max=1000))


def _wordpress_time(value: str) -> None:
    """`modified_gmt`: empty (unknown), or a time `datetime.fromisoformat` reads."""
    if value:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("A time such as 2026-11-29T10:00:00 (GMT), or empty.") from None


class WebhookPostData(StrictSchema):
    id = _wp_id()
    type = Text(required=True, validate=validate.OneOf(WP_POST_TYPES))
    status = Text(required=True, validate=validate.Length(min=1, max=20))
    slug = Text(load_default="", validate=validate.Length(max=200))
    link = Text(load_default="", validate=validate.Length(max=2000))
    title = Text(load_default="", validate=validate.Length(max=1000))
    content = Text(load_default="")
    excerpt = Text(load_default="")
    modified_gmt = Text(
        load_default="",
        validate=[validate.Length(max=40), _wordpress_time],
        metadata={
            "description": "GMT, as WordPress writes it (2026-11-29T10:00:00); an older one than the "
            "content holds changes nothing (`stale`)"
        },
    )
    categories = _ids()
    tags = _ids()


class WebhookPostDeletedData(StrictSchema):
    id = _wp_id()
    type = Text(required=True, validate=validate.OneOf(WP_POST_TYPES))


class WebhookTermData(StrictSchema):
    id = _wp_id()
    taxonomy = Text(required=True, validate=validate.OneOf(WP_TAXONOMIES))
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    slug = Text(load_default="", validate=validate.Length(max=200))
    parent = Int(minimum=0, maximum=INT64_MAX, strict=True, load_default=0)
    description = Text(load_default="")


class WebhookTermDeletedData(StrictSchema):
    id = _wp_id()
    taxonomy = Text(required=True, validate=validate.OneOf(WP_TAXONOMIES))


WEBHOOK_DATA: dict[str, type[Schema]] = {
    "post.created": WebhookPostData,
    "post.updated": WebhookPostData,
    "post.published": WebhookPostData,
    "post.deleted": WebhookPostDeletedData,
    "term.created": WebhookTermData,
    "term.updated": WebhookTermData,
    "term.deleted": WebhookTermDeletedData,
}


class WebhookIn(StrictSchema):
    """What the WordPress plugin posts (signed the Standard Webhooks way, see CONTRACT §9.2)."""

    event = Text(required=True, validate=validate.OneOf(WEBHOOK_EVENT_NAMES))
    site_url = Text(required=True, validate=validate.Length(max=2000))
    occurred_at = fields.AwareDateTime(required=True, metadata={"description": "ISO-8601 with a timezone"})
    data = fields.Dict(
        required=True,
        metadata={
            "description": "post.*: {id, type, status, slug, link, title, content, excerpt, modified_gmt, "
            "categories, tags}; post.deleted: {id, type}; term.*: {id, taxonomy, name, slug, parent, "
            "description}; term.deleted: {id, taxonomy}"
        },
    )

    @post_load
    def _data_of_event(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        try:
            data["data"] = WEBHOOK_DATA[data["event"]]().load(data["data"])
        except ValidationError as exc:
            raise ValidationError({"data": exc.messages}) from None
        return data


class WebhookOut(Schema):
    duplicate = fields.Boolean(metadata={"description": "True: this webhook-id was already processed; nothing changed"})
    event = optional(fields.String())
    outcome = optional(
        fields.String(
            metadata={
                "description": "created, updated, deleted, unchanged, or stale (older than the "
                "version held: `data.modified_gmt` before the content's `external_modified`; nothing changed)"
            }
        )
    )
    content_id = optional(fields.Integer(allow_none=True))
    taxonomy_id = optional(fields.Integer(allow_none=True))
