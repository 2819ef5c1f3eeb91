"""/api/v1/integration/: site integrations (WordPress), their keys and connection checks."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from schemas.common import (
    Bool,
    Id,
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

PLATFORMS = ("wordpress",)
SYNC_STATUSES = ("idle", "syncing", "error")
COLLECTIONS = ("posts", "pages", "categories", "tags", "media", "types")
MAX_CONFIG_BYTES = 64 * 1024


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

    @post_load
    def _normalise(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "base_url" in data:
            try:
                data["base_url"] = _clean_base_url(data["base_url"])
            except ValidationError as exc:
                raise ValidationError({"base_url": exc.messages}) from None
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
