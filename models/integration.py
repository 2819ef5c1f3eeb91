"""WordPress integrations of a site, their sync runs and received webhooks."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.base import SiteOwned

SYNC_STATUSES = ("idle", "syncing", "error")
WEBHOOK_EVENTS = (
    "post.created",
    "post.updated",
    "post.deleted",
    "post.published",
    "term.created",
    "term.updated",
    "term.deleted",
)


class Integration(SiteOwned):
    platform = fields.CharField(max_length=32, default="wordpress")
    base_url = fields.CharField(max_length=2000)
    username = fields.CharField(max_length=200, default="")
    app_password_enc = fields.TextField(null=True)  # Fernet token
    webhook_secret_enc = fields.TextField(null=True)  # Fernet token of `whsec_…`
    is_active = fields.BooleanField(default=True)
    sync_enabled = fields.BooleanField(default=True)
    last_sync_at = fields.DatetimeField(null=True)
    sync_status = fields.CharField(max_length=16, default="idle")
    structure: Any = fields.JSONField(default=dict)
    config: Any = fields.JSONField(default=dict)
    # The `site_url` of the last delivery the plugin signed: where the plugin really runs.
    plugin_site_url = fields.CharField(max_length=2000, null=True)
    # The address WordPress gives itself (`home_url()`, the `site_url` of the plugin's deliveries)
    # when it is not on base_url's host: behind a proxy, or reached here by an internal name.
    home_url = fields.CharField(max_length=2000, null=True)

    class Meta:
        table = "integration"


class SyncRun(Model):
    id = fields.IntField(primary_key=True)
    integration: fields.ForeignKeyRelation["Integration"] = fields.ForeignKeyField(
        "models.Integration", on_delete=fields.CASCADE, related_name=False
    )
    integration_id: int
    job_id = fields.IntField(null=True)
    status = fields.CharField(max_length=16, default="running")
    stage = fields.CharField(max_length=32, default="")
    done = fields.IntField(default=0)
    total = fields.IntField(default=0)
    items: Any = fields.JSONField(default=dict)
    # The highest WordPress id each list had when this sync read its ids ({"posts": n, "pages": m}):
    # the next incremental sync fetches the posts above it that its window left out.
    highest_ids: Any = fields.JSONField(default=dict)
    # When the reads this run's result rests on began, if before its own start: a run that went on
    # from a failed one's cursors has that one's (the next incremental sync reads from there).
    read_from = fields.DatetimeField(null=True)
    error = fields.TextField(null=True)
    started_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sync_run"
        indexes = (("integration_id", "started_at"),)


class WebhookEvent(Model):
    id = fields.IntField(primary_key=True)
    integration: fields.ForeignKeyRelation["Integration"] = fields.ForeignKeyField(
        "models.Integration", on_delete=fields.CASCADE, related_name=False
    )
    integration_id: int
    webhook_id = fields.CharField(max_length=255)
    event = fields.CharField(max_length=32, default="")
    status = fields.CharField(max_length=16)  # processed | rejected
    error = fields.CharField(max_length=500, null=True)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_event"
        indexes = (("integration_id", "webhook_id"), ("integration_id", "received_at"))
