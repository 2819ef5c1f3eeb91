"""Schemas of /api/v1/jobs/ and of the job-starting endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from models.jobs import JOB_STATUSES
from schemas.common import Id, ListQuery, QueryId, StrictSchema, Text, id_list, ordering_field

JOB_KINDS = (
    "auto_cluster",
    "generate_ideas",
    "generate_content",
    "generate_images",
    "regenerate_image",
    "optimize",
    "linker",
)


class JobOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    site_id = fields.Integer(allow_none=True)
    status = fields.String(metadata={"enum": list(JOB_STATUSES)})
    progress = fields.Dict(metadata={"description": "{done, total}"})
    result = fields.Raw(allow_none=True)
    error = fields.Raw(allow_none=True, metadata={"description": "{code, message}"})
    credits_reserved = fields.Integer()
    credits_used = fields.Integer()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class JobQuery(ListQuery):
    site_id = QueryId()
    status = Text(validate=validate.OneOf(JOB_STATUSES))
    kind = Text(validate=validate.OneOf(JOB_KINDS))
    ordering = ordering_field("created_at")


class WaitQuery(StrictSchema):
    wait = fields.Float(
        load_default=25.0,
        validate=validate.Range(min=0, max=60),
        metadata={"description": "Seconds to wait for the job (0–60): done → 200 with the result, else 202"},
    )


class JobStartedOut(Schema):
    """200: the operation's result fields plus `job`; 202: only `job`."""

    job = fields.Nested(JobOut)


# --- bodies of the operations that start jobs ------------------------------------------------------


class AutoClusterIn(StrictSchema):
    ids = id_list(max_items=200, metadata={"description": "keyword ids (at most 200)"})
    site_id = Id(required=True)
    sector_id = Id(allow_none=True)


class GenerateIdeasIn(StrictSchema):
    ids = id_list(max_items=20, metadata={"description": "cluster ids (at most 20)"})


class ContentIdsIn(StrictSchema):
    content_ids = id_list(max_items=50)


class ContentIdIn(StrictSchema):
    content_id = Id(required=True)


class RegenerateIn(StrictSchema):
    image_id = Id(required=True)
    prompt = Text(validate=validate.Length(min=1, max=4000))
