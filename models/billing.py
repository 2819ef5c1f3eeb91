"""The credit ledger and the usage log."""

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.accounts import Account

TRANSACTION_KINDS = ("grant", "purchase", "usage", "refund", "adjustment")


class CreditTransaction(Model):
    """One change of an account's balance. The balance always equals the sum of `amount`."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", on_delete=fields.CASCADE, related_name=False
    )
    account_id: int
    amount = fields.BigIntField()
    balance_after = fields.BigIntField()
    kind = fields.CharField(max_length=16)
    operation = fields.CharField(max_length=64, default="")
    job_id = fields.IntField(null=True, db_index=True)
    description = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "credit_transaction"
        indexes = (("account_id", "created_at"), ("account_id", "kind"))


class UsageLog(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", on_delete=fields.CASCADE, related_name=False
    )
    account_id: int
    site_id = fields.IntField(null=True)
    operation = fields.CharField(max_length=64)
    credits = fields.IntField(default=0)
    model = fields.CharField(max_length=100, default="")
    tokens_in = fields.IntField(default=0)
    tokens_out = fields.IntField(default=0)
    job_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "usage_log"
        indexes = (("account_id", "created_at"), ("account_id", "operation"))
