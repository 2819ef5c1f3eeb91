"""Schemas of /api/v1/optimizer/."""

from marshmallow import Schema, fields

from schemas.common import Id, StrictSchema


class AnalyzeIn(StrictSchema):
    content_id = Id(required=True)


class CheckOut(Schema):
    id = fields.String()
    passed = fields.Boolean()
    weight = fields.Integer()
    detail = fields.String()


class AnalysisOut(Schema):
    content_id = fields.Integer()
    score = fields.Integer(metadata={"description": "0–100: the sum of the weights of the passed checks"})
    checks = fields.List(fields.Nested(CheckOut))
    word_count = fields.Integer()
    keyword_density = fields.Float(metadata={"description": "percent"})
    readability = fields.Float(metadata={"description": "Flesch reading ease"})
