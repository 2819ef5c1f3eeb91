"""Schemas of /api/v1/jobs/ and of the job-starting endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from models.jobs import JOB_STATUSES
from schemas.common import (
    Bool,
    ErrorSchema,
    Id,
    ListQuery,
    QueryId,
    StrictSchema,
    Text,
    id_list,
    optional,
    ordering_field,
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
    # The kinds are the registered operations': the jobs route narrows this to them.
    kind = Text()
    ordering = ordering_field("created_at")


WAIT_MAX_S = 60  # the longest a job-starting request waits for its job


class WaitQuery(StrictSchema):
    wait = fields.Float(
        load_default=25.0,
        validate=validate.Range(min=0, max=WAIT_MAX_S),
        metadata={"description": "Seconds to wait for the job (0–60): done → 200 with the result, else 202"},
    )


class JobFailedSchema(ErrorSchema):
    """The error envelope of a job-starting call; a job that failed within the wait adds `job`."""

    job = optional(fields.Nested(JobOut))


class JobAcceptedOut(Schema):
    """202: the job is queued or running; poll `GET /api/v1/jobs/{id}/` or wait on `job:<id>`."""

    job = fields.Nested(JobOut, required=True)


# --- what each operation answers with when it finished within the wait (200) ---------------------
# The operation's result fields plus `job`; each operation names its schema (`result_schema`).


class OperationResult(Schema):
    job = fields.Nested(JobOut, required=True)


class ClusterMade(Schema):
    id = fields.Integer()
    name = fields.String()
    created = fields.Boolean()
    keyword_ids = fields.List(fields.Integer())


class AutoClusterResult(OperationResult):
    clusters = fields.List(fields.Nested(ClusterMade))
    unmapped = fields.List(fields.Integer(), metadata={"description": "keywords the model put in no cluster"})
    not_found = fields.List(
        fields.Integer(),
        metadata={"description": "keywords not found: not the caller's, or deleted while the model clustered"},
    )


class GenerateIdeasResult(OperationResult):
    idea_ids = fields.List(fields.Integer())
    ideas_created = fields.Integer()
    not_found = fields.List(fields.Integer())


class GenerateContentResult(OperationResult):
    content_id = fields.Integer()
    word_count = fields.Integer()


class GenerateImagesResult(OperationResult):
    image_ids = fields.List(fields.Integer(), metadata={"description": "every Image row made"})
    generated = optional(fields.List(fields.Integer(), metadata={"description": "when any image was rendered"}))
    failed = optional(fields.List(fields.Integer(), metadata={"description": "when any image failed"}))
    last_error = optional(fields.Dict(metadata={"description": "{code, message} of the last failed image"}))


class RegenerateImageResult(OperationResult):
    image_id = fields.Integer()
    url = fields.String()


class ContentScore(Schema):
    content_id = fields.Integer()
    score_before = fields.Integer()
    score_after = fields.Integer()
    version = fields.Integer()


class OptimizeResult(OperationResult):
    contents = fields.List(fields.Nested(ContentScore))
    changed = fields.List(
        fields.Integer(),
        metadata={
            "description": "contents whose text or primary keyword was edited while the model rewrote them: "
            "left as the edit made them and not charged (optimize again to rewrite the new text)"
        },
    )


class LinkOut(Schema):
    source_id = fields.Integer()
    target_id = fields.Integer()
    anchor = fields.String()
    href = fields.String()


class ContentLinks(Schema):
    content_id = fields.Integer()
    links = fields.List(fields.Nested(LinkOut))


class LinkerResult(OperationResult):
    contents = fields.List(fields.Nested(ContentLinks))


# --- bodies of the operations that start jobs ------------------------------------------------------


class AutoClusterIn(StrictSchema):
    ids = id_list(max_items=200, metadata={"description": "keyword ids (at most 200)"})
    site_id = Id(required=True)
    sector_id = Id(allow_none=True)


class GenerateIdeasIn(StrictSchema):
    ids = id_list(max_items=20, metadata={"description": "cluster ids (at most 20)"})


class GenerateContentIn(StrictSchema):
    """Optional: no body is `{"regenerate": false}`."""

    regenerate = Bool(
        load_default=False,
        metadata={
            "description": (
                "A task that already has content is a 409 `conflict` unless this is true: then the new "
                "article is stored as the next version of that content (the previous one is kept)."
            )
        },
    )


class ContentIdsIn(StrictSchema):
    content_ids = id_list(max_items=50)


class ContentIdIn(StrictSchema):
    content_id = Id(required=True)


class RegenerateIn(StrictSchema):
    image_id = Id(required=True)
    prompt = Text(validate=validate.Length(min=1, max=4000))
