"""Publishing records and deployments (one publish job of a site)."""

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import SiteOwned

if TYPE_CHECKING:
    from models.writer import Content

RECORD_STATUSES = ("pending", "publishing", "published", "failed")
POST_STATUSES = ("publish", "draft")  # the WordPress status a record asks for (CONTRACT §16.23)


class PublishingRecord(SiteOwned):
    content: fields.ForeignKeyRelation["Content"] = fields.ForeignKeyField(
        "models.Content", on_delete=fields.CASCADE, related_name=False
    )
    content_id: int
    destination = fields.CharField(max_length=32, default="wordpress")
    status = fields.CharField(max_length=16, default="pending")
    external_id = fields.CharField(max_length=64, null=True)
    external_url = fields.CharField(max_length=2000, null=True)
    error: str | None = fields.TextField(null=True)
    job_id = fields.IntField(null=True)
    # A marker stored before WordPress is called, so a retry finds the post instead of
    # creating a second one.
    marker = fields.CharField(max_length=64, null=True)
    scheduled_at = fields.DatetimeField(null=True, db_index=True)
    published_at = fields.DatetimeField(null=True)
    post_status = fields.CharField(max_length=16, default="publish")
    # The post read back after publishing matched what was sent (title, status, terms, image);
    # None until it was read back. `verification` holds each check and what WordPress showed.
    verified = fields.BooleanField(null=True)
    verification: Any = fields.JSONField(default=dict)

    class Meta:
        table = "publishing_record"
        indexes = (("content_id", "created_at"), ("status", "scheduled_at"))


class Deployment(SiteOwned):
    job_id = fields.IntField(null=True)
    content_ids: Any = fields.JSONField(default=list)
    status = fields.CharField(max_length=16, default="queued")
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    summary: Any = fields.JSONField(default=dict)

    class Meta:
        table = "deployment"
