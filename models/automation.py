"""The seven-stage automation pipeline: per-site config, runs and their log.

A run owns a job (`kind="automation"`): the job holds the money (one reservation, one
settlement), the checkpoint, the control column and the machine status; the run keeps what is
run-specific (trigger, stages, reason, schedule slot) and the one-active-run-per-site rule.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from models.base import SiteOwned

if TYPE_CHECKING:
    from models.jobs import Job

STAGES = ("clustering", "ideas", "tasks", "content", "image_prompts", "images", "publish")
STAGE_STATUSES = ("pending", "running", "completed", "skipped", "failed", "stopped", "cancelled")
BATCH_LIMITS = {"keywords": 200, "clusters": 100, "ideas": 500, "tasks": 100, "contents": 100, "images": 500}
FREQUENCIES = ("hourly", "daily", "weekly")
PUBLISH_STATUSES = ("draft", "publish")
RUN_STATUSES = ("queued", "running", "paused", "completed", "failed", "cancelled")
RUN_TRIGGERS = ("manual", "scheduled")
LOG_LEVELS = ("info", "warning", "error")


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
    job: fields.OneToOneRelation["Job"] = fields.OneToOneField(
        "models.Job", on_delete=fields.CASCADE, related_name=False
    )
    job_id: int
    trigger = fields.CharField(max_length=16, default="manual")
    current_stage = fields.SmallIntField(null=True)
    # Per stage: {number, stage, status, processed, failed, total, credits_used, started_at, finished_at}.
    stages: Any = fields.JSONField(default=list)
    # The item the run processed last: {stage, item {type, id, title}, processed, total, at}.
    current_item: Any = fields.JSONField(null=True)
    reason = fields.CharField(max_length=32, null=True)
    # The due time a scheduled run was started for: unique per site, so a due time starts at
    # most one run, whichever process or restart gets there.
    scheduled_for: datetime | None = fields.DatetimeField(null=True)
    # The site's id while the run is queued, running or paused, NULL after: the database's
    # unique index makes "one active run per site" hold across processes.
    active_site_id = fields.IntField(null=True, unique=True)

    class Meta:
        table = "automation_run"
        unique_together = (("site_id", "scheduled_for"),)
        indexes = (("site_id", "created_at"),)


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
