"""Asynchronous work: every AI or sync operation is a job run by its site's actor."""

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import AccountOwned

if TYPE_CHECKING:
    from models.accounts import Site

# `paused`: stopped between items on request; not picked up by actors, not finished (resume queues it).
JOB_STATUSES = ("queued", "running", "paused", "succeeded", "failed", "cancelled")
JOB_REQUESTS = ("cancel", "pause")


class Job(AccountOwned):
    site: fields.ForeignKeyNullableRelation["Site"] = fields.ForeignKeyField(
        "models.Site", on_delete=fields.CASCADE, null=True, related_name=False
    )
    site_id: int | None
    user_id = fields.IntField(null=True)
    kind = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16, default="queued")
    params: Any = fields.JSONField(default=dict)
    progress_done = fields.IntField(default=0)
    progress_total = fields.IntField(default=0)
    result: Any = fields.JSONField(null=True)
    error: Any = fields.JSONField(null=True)
    credits_reserved = fields.IntField(default=0)
    credits_used = fields.IntField(default=0)
    # Items finished so far, so a resumed job never repeats or charges them twice.
    checkpoint: Any = fields.JSONField(default=dict)
    # Control plane: `cancel` (or `pause`) asked for by any process; the owning actor reads it
    # between items, so the request never waits behind an item in flight.
    requested = fields.CharField(max_length=16, null=True)
    # Fencing token of the process that owns the job's site (services/ownership.py): the owner
    # writes it when it takes the job, and its item commits and settlement only apply while the
    # row still holds it, so a stale owner's late write is refused. 0 in a single process.
    fence = fields.BigIntField(default=0)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "job"
        indexes = (("account_id", "status"), ("site_id", "status"), ("status", "created_at"))
