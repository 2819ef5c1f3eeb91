"""Writing: tasks, content (with kept versions), images and taxonomies."""

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import SiteOwned, TimestampedModel

if TYPE_CHECKING:
    from models.accounts import SiteSector
    from models.planner import Cluster, ContentIdea

TASK_STATUSES = ("queued", "in_progress", "completed", "failed")
CONTENT_STATUSES = ("draft", "review", "published", "archived")
CONTENT_SOURCES = ("ai", "manual", "wordpress")
IMAGE_KINDS = ("featured", "in_article")
IMAGE_STATUSES = ("pending", "generated", "failed")
TAXONOMY_KINDS = ("category", "tag")


class Task(SiteOwned):
    sector: fields.ForeignKeyNullableRelation["SiteSector"] = fields.ForeignKeyField(
        "models.SiteSector", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    sector_id: int | None
    cluster: fields.ForeignKeyNullableRelation["Cluster"] = fields.ForeignKeyField(
        "models.Cluster", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    cluster_id: int | None
    idea: fields.ForeignKeyNullableRelation["ContentIdea"] = fields.ForeignKeyField(
        "models.ContentIdea", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    idea_id: int | None
    title = fields.CharField(max_length=300)
    brief = fields.TextField(default="")
    keywords: Any = fields.JSONField(default=list)
    content_type = fields.CharField(max_length=16, default="post")
    content_structure = fields.CharField(max_length=16, default="article")
    word_count = fields.IntField(default=1000)
    status = fields.CharField(max_length=16, default="queued")
    content_id = fields.IntField(null=True)
    error: str | None = fields.TextField(null=True)

    class Meta:
        table = "task"
        # A cluster's or an idea's tasks (their `?cluster_id=`/`?idea_id=` filters, and the
        # SET NULL when the cluster or idea is deleted) by index, not by reading the table.
        indexes = (("site_id", "status"), ("account_id", "created_at"), ("cluster_id",), ("idea_id",))


class Content(SiteOwned):
    sector: fields.ForeignKeyNullableRelation["SiteSector"] = fields.ForeignKeyField(
        "models.SiteSector", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    sector_id: int | None
    task: fields.ForeignKeyNullableRelation["Task"] = fields.ForeignKeyField(
        "models.Task", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    task_id: int | None
    cluster: fields.ForeignKeyNullableRelation["Cluster"] = fields.ForeignKeyField(
        "models.Cluster", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    cluster_id: int | None
    title = fields.CharField(max_length=300)
    slug = fields.CharField(max_length=320)
    html = fields.TextField(default="")
    meta_title = fields.CharField(max_length=300, default="")
    meta_description = fields.CharField(max_length=500, default="")
    primary_keyword = fields.CharField(max_length=255, default="")
    secondary_keywords: Any = fields.JSONField(default=list)
    word_count = fields.IntField(default=0)
    status = fields.CharField(max_length=16, default="draft")
    source = fields.CharField(max_length=16, default="manual")
    # What it is on the site (a task's `content_type`; `page` or `post` for what a sync brought):
    # a `page` is published to WordPress's pages, everything else to its posts.
    content_type = fields.CharField(max_length=16, default="post")
    external_id = fields.CharField(max_length=64, null=True)
    external_url = fields.CharField(max_length=2000, null=True)
    # WordPress's `modified_gmt` of what the mirror last wrote (synced rows): an older read of the
    # post (a sync page read before a webhook's edit, a delivery retried out of order) loses.
    external_modified = fields.DatetimeField(null=True)
    taxonomy_ids: Any = fields.JSONField(default=list)
    featured_image_id = fields.IntField(null=True)
    seo_score = fields.SmallIntField(null=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "content"
        unique_together = (("site_id", "slug"),)
        # ("task_id", "site_id", "id"): the newest content of a task on its site is read for every
        # generate_content job (services/writer.py): one index lookup, however many contents the site has.
        indexes = (
            ("site_id", "status"),
            ("account_id", "created_at"),
            ("site_id", "external_id"),
            ("task_id", "site_id", "id"),
            ("cluster_id",),  # a cluster's contents; its deletion sets theirs NULL
        )


class ContentVersion(TimestampedModel):
    """A previous state of a content, kept whenever it is replaced."""

    content: fields.ForeignKeyRelation["Content"] = fields.ForeignKeyField(
        "models.Content", on_delete=fields.CASCADE, related_name=False
    )
    content_id: int
    version = fields.IntField()
    title = fields.CharField(max_length=300)
    html = fields.TextField()
    meta_title = fields.CharField(max_length=300, default="")
    meta_description = fields.CharField(max_length=500, default="")
    word_count = fields.IntField(default=0)

    class Meta:
        table = "content_version"
        unique_together = (("content_id", "version"),)


class Image(SiteOwned):
    content: fields.ForeignKeyRelation["Content"] = fields.ForeignKeyField(
        "models.Content", on_delete=fields.CASCADE, related_name=False
    )
    content_id: int
    kind = fields.CharField(max_length=16, default="in_article")
    position = fields.IntField(default=0)
    prompt = fields.TextField(default="")
    alt_text = fields.CharField(max_length=500, default="")
    url = fields.CharField(max_length=2000, null=True)
    file_path = fields.CharField(max_length=500, null=True)
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    status = fields.CharField(max_length=16, default="pending")
    error: str | None = fields.TextField(null=True)

    class Meta:
        table = "image"
        indexes = (("content_id", "position"), ("site_id", "status"))


class Taxonomy(SiteOwned):
    kind = fields.CharField(max_length=16)
    name = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=200)
    parent: fields.ForeignKeyNullableRelation["Taxonomy"] = fields.ForeignKeyField(
        "models.Taxonomy", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    parent_id: int | None
    external_id = fields.CharField(max_length=64, null=True)
    count = fields.IntField(default=0)

    class Meta:
        table = "taxonomy"
        unique_together = (("site_id", "kind", "slug"),)
