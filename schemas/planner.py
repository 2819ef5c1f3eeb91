"""Schemas of /api/v1/planner/: keywords, clusters, ideas and their bulk operations."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from models.planner import (
    CLUSTER_STATUSES,
    CONTENT_STRUCTURES,
    CONTENT_TYPES,
    IDEA_STATUSES,
    KEYWORD_INTENTS,
    KEYWORD_STATUSES,
)
from schemas.common import (
    INT64_MAX,
    Id,
    Int,
    ListQuery,
    QueryId,
    StrictSchema,
    Text,
    filter_on,
    id_list,
    keyword_list,
    ordering_field,
    search_field,
    trimmed,
)


def Volume(**kw: Any) -> Int:
    return Int(minimum=0, maximum=2_000_000_000, **kw)


def Difficulty(**kw: Any) -> Int:
    return Int(minimum=0, maximum=100, **kw)


# --- keywords ----------------------------------------------------------------------------------


class KeywordOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    sector_id = fields.Integer(allow_none=True)
    cluster_id = fields.Integer(allow_none=True)
    seed_keyword_id = fields.Integer(allow_none=True)
    keyword = fields.String()
    volume = fields.Integer()
    difficulty = fields.Integer()
    intent = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class KeywordIn(StrictSchema):
    site_id = Id(required=True)
    sector_id = Id(allow_none=True)
    cluster_id = Id(allow_none=True)
    keyword = trimmed(255, required=True, min_length=1)
    volume = Volume(load_default=0)
    difficulty = Difficulty(load_default=0)
    intent = Text(load_default="informational", validate=validate.OneOf(KEYWORD_INTENTS))
    status = Text(
        validate=validate.OneOf(KEYWORD_STATUSES),
        metadata={"description": "Default: `mapped` with a `cluster_id`, else `new`."},
    )


class KeywordUpdateIn(StrictSchema):
    sector_id = Id(allow_none=True)
    cluster_id = Id(allow_none=True)
    keyword = trimmed(255, min_length=1)
    volume = Volume()
    difficulty = Difficulty()
    intent = Text(validate=validate.OneOf(KEYWORD_INTENTS))
    status = Text(
        validate=validate.OneOf(KEYWORD_STATUSES),
        metadata={
            "description": (
                "Follows the cluster unless chosen: joining a cluster (a new `cluster_id`) makes the keyword "
                "`mapped`, leaving it (`cluster_id: null`) makes it `new`. A `status` sent with a different "
                "value than the stored one wins; the stored value sent back unchanged does not."
            )
        },
    )


class KeywordQuery(ListQuery):
    site_id = QueryId()
    sector_id = QueryId()
    cluster_id = QueryId()
    status = Text(validate=validate.OneOf(KEYWORD_STATUSES))
    intent = Text(validate=validate.OneOf(KEYWORD_INTENTS))
    volume_min = filter_on(Int(minimum=0), "volume__gte")
    volume_max = filter_on(Int(minimum=0), "volume__lte")
    difficulty_min = filter_on(Int(minimum=0, maximum=100), "difficulty__gte")
    difficulty_max = filter_on(Int(minimum=0, maximum=100), "difficulty__lte")
    search = search_field("keyword")
    ordering = ordering_field("keyword", "volume", "difficulty", "created_at")


class BulkIdsIn(StrictSchema):
    ids = id_list()


class BulkStatusIn(StrictSchema):
    ids = id_list()
    status = Text(required=True, validate=validate.OneOf(KEYWORD_STATUSES))


class AddToWorkflowIn(StrictSchema):
    site_id = Id(required=True)
    sector_id = Id(allow_none=True)
    seed_keyword_ids = id_list()


class BulkDeleteOut(Schema):
    deleted = fields.Integer()
    not_found = fields.List(fields.Integer())


class BulkStatusOut(Schema):
    updated = fields.Integer()
    not_found = fields.List(fields.Integer())


class AddToWorkflowOut(Schema):
    created = fields.Integer()
    skipped = fields.Integer()
    keyword_ids = fields.List(fields.Integer())
    not_found = fields.List(fields.Integer())


# --- clusters ----------------------------------------------------------------------------------


class ClusterOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    sector_id = fields.Integer(allow_none=True)
    name = fields.String()
    description = fields.String()
    status = fields.String()
    keywords_count = fields.Integer()
    volume = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ClusterIn(StrictSchema):
    site_id = Id(required=True)
    sector_id = Id(allow_none=True)
    name = trimmed(200, required=True, min_length=1)
    description = trimmed(5000, load_default="")
    status = Text(load_default="new", validate=validate.OneOf(CLUSTER_STATUSES))


class ClusterUpdateIn(StrictSchema):
    sector_id = Id(allow_none=True)
    name = trimmed(200, min_length=1)
    description = trimmed(5000)
    status = Text(validate=validate.OneOf(CLUSTER_STATUSES))


class ClusterQuery(ListQuery):
    site_id = QueryId()
    sector_id = QueryId()
    status = Text(validate=validate.OneOf(CLUSTER_STATUSES))
    # A cluster's volume is the sum of its keywords': a `bigint` column.
    volume_min = filter_on(Int(minimum=0, maximum=INT64_MAX), "volume__gte")
    volume_max = filter_on(Int(minimum=0, maximum=INT64_MAX), "volume__lte")
    search = search_field("name", "description")
    ordering = ordering_field("name", "volume", "keywords_count", "created_at")


# --- ideas -------------------------------------------------------------------------------------


class OutlineSection(StrictSchema):
    heading = trimmed(300, required=True, min_length=1)
    notes = trimmed(5000, load_default="")


class IdeaOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    sector_id = fields.Integer(allow_none=True)
    cluster_id = fields.Integer(allow_none=True)
    title = fields.String()
    description = fields.List(fields.Dict())
    content_type = fields.String()
    content_structure = fields.String()
    target_keywords = fields.List(fields.String())
    estimated_word_count = fields.Integer()
    status = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


def Outline(**kw: Any) -> fields.List:
    return fields.List(fields.Nested(OutlineSection), validate=validate.Length(max=50), **kw)


def WordCount(**kw: Any) -> Int:
    return Int(minimum=100, maximum=20000, **kw)


class IdeaIn(StrictSchema):
    site_id = Id(required=True)
    sector_id = Id(allow_none=True)
    cluster_id = Id(allow_none=True)
    title = trimmed(300, required=True, min_length=1)
    description = Outline(load_default=list)
    content_type = Text(load_default="post", validate=validate.OneOf(CONTENT_TYPES))
    content_structure = Text(load_default="article", validate=validate.OneOf(CONTENT_STRUCTURES))
    target_keywords = keyword_list(load_default=list)
    estimated_word_count = WordCount(load_default=1000)
    status = Text(load_default="new", validate=validate.OneOf(IDEA_STATUSES))


class IdeaUpdateIn(StrictSchema):
    sector_id = Id(allow_none=True)
    cluster_id = Id(allow_none=True)
    title = trimmed(300, min_length=1)
    description = Outline()
    content_type = Text(validate=validate.OneOf(CONTENT_TYPES))
    content_structure = Text(validate=validate.OneOf(CONTENT_STRUCTURES))
    target_keywords = keyword_list()
    estimated_word_count = WordCount()
    status = Text(validate=validate.OneOf(IDEA_STATUSES))


class IdeaQuery(ListQuery):
    site_id = QueryId()
    sector_id = QueryId()
    cluster_id = QueryId()
    status = Text(validate=validate.OneOf(IDEA_STATUSES))
    content_type = Text(validate=validate.OneOf(CONTENT_TYPES))
    search = search_field("title")
    ordering = ordering_field("title", "estimated_word_count", "created_at")


class CreateTasksOut(Schema):
    created = fields.Integer()
    task_ids = fields.List(fields.Integer())
    skipped = fields.List(fields.Integer(), metadata={"description": "ideas not in status new"})
    not_found = fields.List(fields.Integer())
