"""Schemas of /api/v1/automation/ (CONTRACT §12): input and output of each endpoint."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from models.automation import (
    BATCH_LIMITS,
    FREQUENCIES,
    LOG_LEVELS,
    PUBLISH_STATUSES,
    RUN_STATUSES,
    RUN_TRIGGERS,
    STAGE_STATUSES,
    STAGES,
)
from schemas.common import Bool, ErrorSchema, Int, ListQuery, QueryId, StrictSchema, Text, optional, ordering_field

MAX_CREDITS = 10_000_000


# --- query strings ------------------------------------------------------------------------------


class SiteQuery(StrictSchema):
    site_id = QueryId(required=True, metadata={"description": "The site (of the caller's account)"})


class RunQuery(SiteQuery):
    run_id = QueryId(required=True, metadata={"description": "A run of that site"})


class HistoryQuery(ListQuery):
    site_id = QueryId(required=True)
    ordering = ordering_field("created_at")


class LogsQuery(ListQuery):
    site_id = QueryId(required=True)
    run_id = QueryId(required=True)
    level = Text(validate=validate.OneOf(LOG_LEVELS))
    ordering = ordering_field("ts")


# --- config ---------------------------------------------------------------------------------------


class ScheduleIn(StrictSchema):
    frequency = Text(validate=validate.OneOf(FREQUENCIES))
    time = Text(
        validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Must be HH:MM (UTC, 24-hour)."),
        metadata={"description": "HH:MM, UTC; hourly runs use its minute"},
    )
    weekday = Int(strict=True, minimum=0, maximum=6, metadata={"description": "0 = Monday … 6 = Sunday"})


StagesIn = StrictSchema.from_dict({name: Bool() for name in STAGES}, name="AutomationStagesIn")
BatchIn = StrictSchema.from_dict(
    {name: Int(strict=True, minimum=1, maximum=limit) for name, limit in BATCH_LIMITS.items()},
    name="AutomationBatchIn",
)


class ConfigIn(StrictSchema):
    """Any subset of the config; nested objects are merged key by key."""

    enabled = Bool(metadata={"description": "Whether the scheduler starts runs (run_now works either way)"})
    schedule = fields.Nested(ScheduleIn)
    stages = fields.Nested(StagesIn)
    batch = fields.Nested(BatchIn)
    publish_status = Text(validate=validate.OneOf(PUBLISH_STATUSES))
    max_credits_per_run = Int(strict=True, allow_none=True, minimum=0, maximum=MAX_CREDITS)


class ConfigOut(Schema):
    site_id = fields.Integer()
    enabled = fields.Boolean()
    schedule = fields.Dict(metadata={"description": "{frequency, time, weekday}"})
    stages = fields.Dict(metadata={"description": "stage name → enabled"})
    batch = fields.Dict(metadata={"description": "{keywords, clusters, ideas, tasks, contents, images}"})
    publish_status = fields.String(metadata={"enum": list(PUBLISH_STATUSES)})
    max_credits_per_run = fields.Integer(allow_none=True)
    next_run_at = fields.DateTime(allow_none=True, metadata={"description": "When the scheduler starts the next run"})


# --- runs -------------------------------------------------------------------------------------------


class StageOut(Schema):
    number = fields.Integer(metadata={"description": "1–7"})
    stage = fields.String(metadata={"enum": list(STAGES)})
    status = fields.String(metadata={"enum": list(STAGE_STATUSES)})
    processed = fields.Integer(metadata={"description": "Input items done (failed ones included)"})
    failed = fields.Integer()
    total = fields.Integer(metadata={"description": "Input items the stage took (≤ its batch size)"})
    credits_used = fields.Integer()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class RunOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    job_id = fields.Integer(metadata={"description": "The job holding the run's credits and checkpoint"})
    status = fields.String(metadata={"enum": list(RUN_STATUSES)})
    trigger = fields.String(metadata={"enum": list(RUN_TRIGGERS)})
    current_stage = fields.String(allow_none=True, metadata={"enum": list(STAGES)})
    stages = fields.List(fields.Nested(StageOut))
    credits_reserved = fields.Integer()
    credits_used = fields.Integer()
    reason = fields.String(allow_none=True, metadata={"description": "credit_cap | stage_failed | null"})
    error = fields.Dict(allow_none=True, metadata={"description": "{code, message} of a failed run"})
    scheduled_for = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class RunNowOut(Schema):
    run = fields.Nested(RunOut, required=True)


RunResult = Schema.from_dict(
    {name: fields.Dict(metadata={"description": f"What stage {name} reported"}) for name in STAGES},
    name="AutomationRunResult",
)
RunResult.__doc__ = "The run's job result: per stage, what its operations reported (e.g. the ids they made)."


class ItemOut(Schema):
    type = fields.String(metadata={"enum": ["keywords", "cluster", "idea", "task", "content", "image"]})
    id = fields.Integer(allow_none=True)
    title = fields.String()


class ProcessingOut(Schema):
    stage = fields.String(metadata={"enum": list(STAGES)})
    number = fields.Integer()
    item = fields.Nested(ItemOut, allow_none=True, metadata={"description": "The item processed last"})
    processed = fields.Integer()
    total = fields.Integer()
    eta_seconds = fields.Integer(allow_none=True, metadata={"description": "At the stage's pace so far"})


class OverviewStageOut(Schema):
    number = fields.Integer()
    stage = fields.String(metadata={"enum": list(STAGES)})
    enabled = fields.Boolean()
    waiting = fields.Integer(metadata={"description": "Items waiting for this stage now"})


class OverviewOut(Schema):
    site_id = fields.Integer()
    stages = fields.List(fields.Nested(OverviewStageOut))


class LogOut(Schema):
    ts = fields.DateTime()
    level = fields.String(metadata={"enum": list(LOG_LEVELS)})
    stage = fields.String(allow_none=True, metadata={"enum": list(STAGES)})
    message = fields.String()
    item_id = fields.Integer(allow_none=True)


class EstimateStageOut(Schema):
    number = fields.Integer()
    stage = fields.String(metadata={"enum": list(STAGES)})
    items = fields.Integer()
    credits = fields.Integer()


class RunNowErrorSchema(ErrorSchema):
    """The error envelope of run_now; its 402 adds the per-stage `estimate`."""

    estimate = optional(fields.List(fields.Nested(EstimateStageOut)))


class EstimateOut(Schema):
    stages = fields.List(fields.Nested(EstimateStageOut))
    total = fields.Integer()
    required = fields.Integer(metadata={"description": "What a run reserves: total capped by max_credits_per_run"})
    max_credits_per_run = fields.Integer(allow_none=True)
    balance = fields.Integer()
    sufficient = fields.Boolean()
