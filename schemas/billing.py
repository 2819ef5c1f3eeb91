"""Schemas of /api/v1/billing/: balance, usage, limits and the ledger."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from models.billing import TRANSACTION_KINDS
from schemas.common import ListQuery, QueryId, StrictSchema, Text, filter_on, ordering_field


class BalanceOut(Schema):
    credits = fields.Integer()
    plan = fields.String()
    period_start = fields.DateTime()
    period_end = fields.DateTime()
    used_this_period = fields.Integer()
    reserved = fields.Integer(metadata={"description": "held by queued or running jobs"})


class _Window(ListQuery):
    start = filter_on(fields.DateTime(metadata={"description": "ISO 8601; inclusive"}), "created_at__gte")
    end = filter_on(fields.DateTime(metadata={"description": "ISO 8601; exclusive"}), "created_at__lt")


class UsageOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer(allow_none=True)
    operation = fields.String()
    credits = fields.Integer()
    model = fields.String()
    tokens_in = fields.Integer()
    tokens_out = fields.Integer()
    job_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class UsageQuery(_Window):
    site_id = QueryId()
    operation = Text(validate=validate.Length(min=1, max=64))
    ordering = ordering_field("created_at", "credits")


class TransactionOut(Schema):
    id = fields.Integer()
    amount = fields.Integer()
    balance_after = fields.Integer()
    kind = fields.String()
    operation = fields.String()
    job_id = fields.Integer(allow_none=True)
    description = fields.String()
    created_at = fields.DateTime()


class TransactionQuery(_Window):
    kind = Text(validate=validate.OneOf(TRANSACTION_KINDS))
    ordering = ordering_field("created_at", "amount")


class SummaryQuery(StrictSchema):
    start = fields.DateTime()
    end = fields.DateTime()


class SummaryOut(Schema):
    start = fields.DateTime()
    end = fields.DateTime()
    total_credits = fields.Integer()
    by_operation = fields.List(
        fields.Dict(), metadata={"description": "[{operation, credits, calls, tokens_in, tokens_out}]"}
    )
    by_day = fields.List(fields.Dict(), metadata={"description": "[{date, credits, calls}]"})


class LimitsOut(Schema):
    plan = fields.String()
    limits = fields.Dict(
        metadata={"description": "{credits_per_period, sites, users, keywords_per_site, ai_requests_per_minute}"}
    )
    usage = fields.Dict(metadata={"description": "current use of each limit (keywords: the fullest site)"})
    costs = fields.Dict(metadata={"description": "credit price of each AI operation"})
