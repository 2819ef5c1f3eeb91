"""Schemas of /api/v1/writer/: tasks, content, images and taxonomies."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from models.planner import CONTENT_STRUCTURES, CONTENT_TYPES
from models.writer import CONTENT_SOURCES, CONTENT_STATUSES, IMAGE_KINDS, IMAGE_STATUSES, TASK_STATUSES, TAXONOMY_KINDS
from schemas.common import (
    Id,
    Int,
    ListQuery,
    QueryId,
    StrictSchema,
    Text,
    keyword_list,
    ordering_field,
    search_field,
    trimmed,
)

# Articles are long, but a 5 MB body is not an article: 1 MB of HTML is the cap.
MAX_HTML = 1_000_000


# --- tasks -------------------------------------------------------------------------------------


class TaskOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    sector_id = fields.Integer(allow_none=True)
    cluster_id = fields.Integer(allow_none=True)
    idea_id = fields.Integer(allow_none=True)
    title = fields.String()
    brief = fields.String()
    keywords = fields.List(fields.String())
    content_type = fields.String()
    content_structure = fields.String()
    word_count = fields.Integer()
    status = fields.String()
    content_id = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TaskIn(StrictSchema):
    site_id = Id(required=True)
    sector_id = Id(allow_none=True)
    cluster_id = Id(allow_none=True)
    idea_id = Id(allow_none=True)
    title = trimmed(300, required=True, min_length=1)
    brief = trimmed(20000, load_default="")
    keywords = keyword_list(load_default=list)
    content_type = Text(load_default="post", validate=validate.OneOf(CONTENT_TYPES))
    content_structure = Text(load_default="article", validate=validate.OneOf(CONTENT_STRUCTURES))
    word_count = Int(load_default=1000, minimum=100, maximum=20000)


class TaskUpdateIn(StrictSchema):
    sector_id = Id(allow_none=True)
    cluster_id = Id(allow_none=True)
    title = trimmed(300, min_length=1)
    brief = trimmed(20000)
    keywords = keyword_list()
    content_type = Text(validate=validate.OneOf(CONTENT_TYPES))
    content_structure = Text(validate=validate.OneOf(CONTENT_STRUCTURES))
    word_count = Int(minimum=100, maximum=20000)
    status = Text(validate=validate.OneOf(TASK_STATUSES))


class TaskBulkIn(StrictSchema):
    tasks = fields.List(fields.Nested(TaskIn), required=True, validate=validate.Length(min=1, max=500))


class TaskBulkOut(Schema):
    created = fields.Integer()
    task_ids = fields.List(fields.Integer())


class TaskQuery(ListQuery):
    site_id = QueryId()
    sector_id = QueryId()
    cluster_id = QueryId()
    idea_id = QueryId()
    status = Text(validate=validate.OneOf(TASK_STATUSES))
    content_type = Text(validate=validate.OneOf(CONTENT_TYPES))
    search = search_field("title")
    ordering = ordering_field("title", "word_count", "created_at")


# --- content -----------------------------------------------------------------------------------


class ContentOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    sector_id = fields.Integer(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    cluster_id = fields.Integer(allow_none=True)
    title = fields.String()
    slug = fields.String()
    html = fields.String()
    meta_title = fields.String()
    meta_description = fields.String()
    primary_keyword = fields.String()
    secondary_keywords = fields.List(fields.String())
    word_count = fields.Integer()
    status = fields.String()
    source = fields.String()
    content_type = fields.String(
        metadata={"description": "`page` is published to WordPress's pages, every other type to its posts."}
    )
    external_id = fields.String(allow_none=True)
    external_url = fields.String(allow_none=True)
    external_modified = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "Synced content: WordPress's modification time of the version held here. A read of "
            "the post older than this (a sync page, a late webhook delivery) changes nothing."
        },
    )
    taxonomy_ids = fields.List(fields.Integer())
    featured_image_id = fields.Integer(allow_none=True)
    seo_score = fields.Integer(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class _ContentFields(StrictSchema):
    sector_id = Id(allow_none=True)
    cluster_id = Id(allow_none=True)
    html = Text(validate=validate.Length(max=MAX_HTML))
    meta_title = trimmed(300)
    meta_description = trimmed(500)
    primary_keyword = trimmed(255)
    secondary_keywords = keyword_list()
    status = Text(validate=validate.OneOf(CONTENT_STATUSES))
    taxonomy_ids = fields.List(Id(), validate=validate.Length(max=100))
    content_type = Text(
        validate=validate.OneOf(CONTENT_TYPES),
        metadata={
            "description": "Default: its task's `content_type`, else `post`. Once the content is on WordPress "
            "(`external_id`), it can't move between a page and a post (400)."
        },
    )


class ContentIn(_ContentFields):
    site_id = Id(required=True)
    task_id = Id(allow_none=True)
    title = trimmed(300, required=True, min_length=1)


class ContentUpdateIn(_ContentFields):
    title = trimmed(300, min_length=1)


class ContentWithWarningsOut(ContentOut):
    warnings = fields.List(Text())


class ContentQuery(ListQuery):
    site_id = QueryId()
    sector_id = QueryId()
    cluster_id = QueryId()
    task_id = QueryId()
    status = Text(validate=validate.OneOf(CONTENT_STATUSES))
    source = Text(validate=validate.OneOf(CONTENT_SOURCES))
    content_type = Text(validate=validate.OneOf(CONTENT_TYPES))
    search = search_field("title", "primary_keyword")
    ordering = ordering_field("title", "word_count", "seo_score", "created_at", "updated_at")


# --- images and taxonomies ---------------------------------------------------------------------


class ImageOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    content_id = fields.Integer()
    kind = fields.String()
    position = fields.Integer()
    prompt = fields.String()
    alt_text = fields.String()
    url = fields.String(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    status = fields.String()
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ImageQuery(ListQuery):
    site_id = QueryId()
    content_id = QueryId()
    kind = Text(validate=validate.OneOf(IMAGE_KINDS))
    status = Text(validate=validate.OneOf(IMAGE_STATUSES))
    ordering = ordering_field("position", "created_at")


class TaxonomyOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    slug = fields.String()
    parent_id = fields.Integer(allow_none=True)
    external_id = fields.String(allow_none=True)
    count = fields.Integer()
    created_at = fields.DateTime()


class TaxonomyQuery(ListQuery):
    site_id = QueryId()
    kind = Text(validate=validate.OneOf(TAXONOMY_KINDS))
    search = search_field("name", "slug")
    ordering = ordering_field("name", "count", "created_at")
