"""Schemas of /api/v1/publisher/ and of `writer/content/{id}/publish_to_wordpress/`."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from models.jobs import JOB_STATUSES
from models.publisher import POST_STATUSES, RECORD_STATUSES
from schemas.common import (
    Id,
    ListQuery,
    QueryId,
    StrictSchema,
    Text,
    id_list,
    optional,
    ordering_field,
    search_field,
)
from schemas.jobs import JobOut, OperationResult

DESTINATIONS = ("wordpress",)
MAX_PUBLISH_IDS = 100

STATUS_DOC = "The WordPress status of the post: `publish` (default) or `draft` (CONTRACT §16.23)."


def _post_status() -> Text:
    return Text(load_default="publish", validate=validate.OneOf(POST_STATUSES), metadata={"description": STATUS_DOC})


def _destination() -> Text:
    return Text(load_default="wordpress", validate=validate.OneOf(DESTINATIONS))


class PublishOneIn(StrictSchema):
    status = _post_status()
    destination = _destination()


class PublishIn(StrictSchema):
    content_ids = id_list(MAX_PUBLISH_IDS, metadata={"description": "Contents of one site (at most 100)"})
    destination = _destination()
    status = _post_status()


class PublishedItem(Schema):
    content_id = fields.Integer()
    record_id = optional(fields.Integer())
    status = fields.String(metadata={"enum": ["published", "failed"]})
    post_status = optional(fields.String(metadata={"enum": list(POST_STATUSES)}))
    post_id = optional(fields.Integer(metadata={"description": "The WordPress post id (when published)"}))
    url = optional(fields.String())
    created = optional(fields.Boolean(metadata={"description": "false when an existing post was updated"}))
    verified = optional(fields.Boolean(metadata={"description": "The post read back matched what was sent"}))
    error = optional(fields.Dict(metadata={"description": "{code, message} (when failed)"}))


class PublishResult(OperationResult):
    items = fields.List(fields.Nested(PublishedItem), metadata={"description": "One entry per content, in order"})
    not_found = fields.List(fields.Integer(), metadata={"description": "Requested ids that are not yours"})


# --- records ----------------------------------------------------------------------------------------


class RecordOut(Schema):
    id = fields.Integer()
    content_id = fields.Integer()
    site_id = fields.Integer()
    destination = fields.String()
    status = fields.String(metadata={"enum": list(RECORD_STATUSES)})
    post_status = fields.String(metadata={"enum": list(POST_STATUSES)})
    external_id = fields.String(allow_none=True)
    external_url = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    verified = fields.Boolean(
        allow_none=True, metadata={"description": "The post read back matched title, status, terms and image"}
    )
    verification = fields.Dict(metadata={"description": "{checks: {name: {ok, expected, found}}, seo, …}"})
    scheduled_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RecordIn(StrictSchema):
    content_id = Id(required=True)
    destination = _destination()
    status = _post_status()
    scheduled_at = fields.AwareDateTime(
        default_timezone=UTC,
        allow_none=True,
        metadata={
            "description": "When to publish (ISO 8601; UTC when no offset is given). In the future; left out or "
            "null: now."
        },
    )


class RecordQuery(ListQuery):
    site_id = QueryId()
    content_id = QueryId()
    status = Text(validate=validate.OneOf(RECORD_STATUSES))
    search = search_field("external_url")
    ordering = ordering_field("created_at", "scheduled_at", "published_at")


# --- deployments ---------------------------------------------------------------------------------


class DeploymentOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    job_id = fields.Integer(allow_none=True)
    content_ids = fields.List(fields.Integer())
    status = fields.String(metadata={"enum": list(JOB_STATUSES)})
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    summary = fields.Dict(metadata={"description": "{published, failed, verified, not_found} once finished"})
    created_at = fields.DateTime()


class DeploymentQuery(ListQuery):
    site_id = QueryId()
    status = Text(validate=validate.OneOf(JOB_STATUSES))
    ordering = ordering_field("created_at")


# --- status and the site definition -----------------------------------------------------------------


class StatusQuery(StrictSchema):
    job_id = QueryId()
    content_id = QueryId()

    @validates_schema
    def _one_of(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("job_id" in data) == ("content_id" in data):
            raise ValidationError("Give either job_id or content_id.", field_name="job_id")


class StatusOut(Schema):
    record = fields.Nested(RecordOut, allow_none=True, metadata={"description": "The latest record"})
    records = optional(
        fields.List(fields.Nested(RecordOut), metadata={"description": "With job_id: every record of the job"})
    )
    job = fields.Nested(JobOut, allow_none=True)


class SiteDefinitionQuery(StrictSchema):
    site = Text(required=True, validate=validate.Length(min=1, max=80), metadata={"description": "The site's slug"})


class ImageEntry(Schema):
    id = fields.Integer()
    kind = fields.String()
    url = fields.String(allow_none=True)
    alt_text = fields.String()
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)


class ContentEntry(Schema):
    id = fields.Integer()
    slug = fields.String()
    title = fields.String()
    html = fields.String()
    meta = fields.Dict(metadata={"description": "{title, description, keywords}"})
    url = fields.String(allow_none=True, metadata={"description": "Where WordPress shows it"})
    categories = fields.List(fields.String(), metadata={"description": "Category slugs"})
    tags = fields.List(fields.String(), metadata={"description": "Tag slugs"})
    featured_image = fields.Nested(ImageEntry, allow_none=True)
    images = fields.List(fields.Nested(ImageEntry))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class NavigationEntry(Schema):
    name = fields.String()
    slug = fields.String()
    children = fields.List(fields.Dict(), metadata={"description": "Sub-categories, the same shape"})


class SiteDefinitionOut(Schema):
    site = fields.Dict(metadata={"description": "{name, domain, slug}"})
    navigation = fields.List(fields.Nested(NavigationEntry), metadata={"description": "The categories as a tree"})
    posts = fields.List(fields.Nested(ContentEntry))
    pages = fields.List(fields.Nested(ContentEntry))
