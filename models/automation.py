"""The seven-stage automation pipeline: per-site config, runs and their log."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.base import SiteOwned

RUN_STATUSES = ("queued", "running", "paused", "completed", "failed", "cancelled")


class AutomationConfig(SiteOwned):
    enabled = fields.BooleanField(default=False)
    schedule: Any = fields.JSONField(default=dict)
    stages: Any = fields.JSONField(default=dict)
    batch: Any = fields.JSONField(default=dict)
    publish_status = fields.CharField(max_length=16, default="draft")
    max_credits_per_run = fields.IntField(null=True)
    next_run_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "automation_config"
        unique_together = (("site_id",),)


class AutomationRun(SiteOwned):
    status = fields.CharField(max_length=16, default="queued")
    trigger = fields.CharField(max_length=16, default="manual")
    current_stage = fields.SmallIntField(null=True)
    stages: Any = fields.JSONField(default=list)
    credits_used = fields.IntField(default=0)
    credits_reserved = fields.IntField(default=0)
    checkpoint: Any = fields.JSONField(default=dict)
    reason = fields.CharField(max_length=32, null=True)
    error = fields.TextField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "automation_run"
        indexes = (("site_id", "status"),)


class AutomationLog(Model):
    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation["AutomationRun"] = fields.ForeignKeyField(
        "models.AutomationRun", on_delete=fields.CASCADE, related_name=False
    )
    run_id: int
    ts = fields.DatetimeField(auto_now_add=True)
    level = fields.CharField(max_length=8, default="info")
    stage = fields.SmallIntField(null=True)
    message = fields.TextField()
    item_id = fields.IntField(null=True)

    class Meta:
        table = "automation_log"
        indexes = (("run_id", "ts"),)
