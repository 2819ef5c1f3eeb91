"""Stored first answers of POSTs sent with an `Idempotency-Key` (CONTRACT §1)."""

from tortoise import fields
from tortoise.models import Model


class IdempotencyRecord(Model):
    id = fields.IntField(primary_key=True)
    # Who sent it: "u:<user id>", "k:<api key id>" or "ip:<address>", plus method and path.
    scope = fields.CharField(max_length=300)
    key = fields.CharField(max_length=255)
    body_hash = fields.CharField(max_length=64)
    state = fields.CharField(max_length=16, default="in_progress")  # in_progress | done
    status = fields.SmallIntField(null=True)
    body = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("scope", "key"),)
