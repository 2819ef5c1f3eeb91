"""Schemas of /api/v1/system/."""

from marshmallow import Schema, fields


class HealthCheckOut(Schema):
    ok = fields.Boolean()
    latency_ms = fields.Float()
    error = fields.String()


class HealthOut(Schema):
    status = fields.String(metadata={"enum": ["ok", "degraded", "down"]})
    version = fields.String()
    uptime_s = fields.Float()
    checks = fields.Dict(
        metadata={
            "description": "database {ok, latency_ms}; redis {ok, latency_ms} or 'not configured'; "
            "jobs {queued, running}"
        }
    )
