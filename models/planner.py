"""Keyword planning: keywords, clusters and content ideas of a site."""

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from models.base import SiteOwned

if TYPE_CHECKING:
    from models.accounts import Site, SiteSector
    from models.reference import SeedKeyword

KEYWORD_INTENTS = ("informational", "commercial", "transactional", "navigational")
KEYWORD_STATUSES = ("new", "mapped", "archived")
CLUSTER_STATUSES = ("new", "ideas_generated", "archived")
IDEA_STATUSES = ("new", "queued", "completed")
CONTENT_TYPES = ("post", "page", "product", "service", "taxonomy")
CONTENT_STRUCTURES = (
    "article",
    "guide",
    "listicle",
    "how_to",
    "comparison",
    "review",
    "landing_page",
)


class Keyword(SiteOwned):
    sector: fields.ForeignKeyNullableRelation["SiteSector"] = fields.ForeignKeyField(
        "models.SiteSector", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    sector_id: int | None
    cluster: fields.ForeignKeyNullableRelation["Cluster"] = fields.ForeignKeyField(
        "models.Cluster", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    cluster_id: int | None
    seed_keyword: fields.ForeignKeyNullableRelation["SeedKeyword"] = fields.ForeignKeyField(
        "models.SeedKeyword", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    seed_keyword_id: int | None
    keyword = fields.CharField(max_length=255)
    # Lower-cased `keyword`: what per-site uniqueness is decided on.
    keyword_key = fields.CharField(max_length=255)
    volume = fields.IntField(default=0)
    difficulty = fields.SmallIntField(default=0)
    intent = fields.CharField(max_length=16, default="informational")
    status = fields.CharField(max_length=16, default="new")

    class Meta:
        table = "keyword"
        unique_together = (("site_id", "keyword_key"),)
        indexes = (
            ("account_id", "site_id", "volume"),
            ("site_id", "status"),
            ("account_id", "created_at"),
            ("cluster_id", "status"),
        )


class KeywordTally(Model):
    """How many keywords a site has: the sum of its rows here.

    Kept by database triggers on `keyword` (migration 6), never by application code, so every
    path that adds or removes keywords (bulk statements and cascades included) keeps it right,
    and the plan's keywords-per-site check reads a few rows instead of counting the site's
    keywords. On PostgreSQL a site has up to eight rows, each connection adding to its own
    (`pg_backend_pid() % 8`): concurrent writes to one site then rarely wait for each other's
    commit on the same row. A stripe may go negative; only the sum means anything."""

    id = fields.IntField(primary_key=True)
    site: fields.ForeignKeyRelation["Site"] = fields.ForeignKeyField(
        "models.Site", on_delete=fields.CASCADE, related_name=False
    )
    site_id: int
    stripe = fields.SmallIntField()
    n = fields.IntField(default=0)

    class Meta:
        table = "keyword_tally"
        unique_together = (("site_id", "stripe"),)


class Cluster(SiteOwned):
    sector: fields.ForeignKeyNullableRelation["SiteSector"] = fields.ForeignKeyField(
        "models.SiteSector", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    sector_id: int | None
    name = fields.CharField(max_length=200)
    name_key = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    status = fields.CharField(max_length=20, default="new")
    # Kept by the planner service whenever keywords join, leave or are deleted.
    keywords_count = fields.IntField(default=0)
    volume = fields.BigIntField(default=0)

    class Meta:
        table = "cluster"
        unique_together = (("site_id", "name_key"),)
        indexes = (("account_id", "created_at"),)


class ContentIdea(SiteOwned):
    sector: fields.ForeignKeyNullableRelation["SiteSector"] = fields.ForeignKeyField(
        "models.SiteSector", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    sector_id: int | None
    cluster: fields.ForeignKeyNullableRelation["Cluster"] = fields.ForeignKeyField(
        "models.Cluster", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    cluster_id: int | None
    title = fields.CharField(max_length=300)
    description: Any = fields.JSONField(default=list)
    content_type = fields.CharField(max_length=16, default="post")
    content_structure = fields.CharField(max_length=16, default="article")
    target_keywords: Any = fields.JSONField(default=list)
    estimated_word_count = fields.IntField(default=1000)
    status = fields.CharField(max_length=16, default="new")

    class Meta:
        table = "content_idea"
        indexes = (("site_id", "status"), ("account_id", "created_at"), ("cluster_id",))
