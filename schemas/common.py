"""Schema building blocks shared by every API group: strict bases, list queries, envelopes."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

MAX_PAGE_SIZE = 500
MAX_BULK_IDS = 1000


class StrictSchema(Schema):
    """Unknown fields are an error, so a typo never passes silently."""

    class Meta:
        unknown = RAISE


def trimmed(max_length: int, *, required: bool = False, min_length: int = 0, **kw: Any) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=min_length, max=max_length), **kw)


class Id(fields.Integer):
    """A positive object id."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strict", True)
        super().__init__(validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


class QueryId(fields.Integer):
    """A positive id in a query string (strings are parsed)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


def id_list(max_items: int = MAX_BULK_IDS, **kwargs: Any) -> fields.List:
    return fields.List(
        Id(),
        required=True,
        validate=validate.Length(min=1, max=max_items),
        **kwargs,
    )


def keyword_list(**kwargs: Any) -> fields.List:
    """Up to 50 keywords, each 1–255 characters."""
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=255)), validate=validate.Length(max=50), **kwargs
    )


class ListQuery(StrictSchema):
    """Pagination, ordering and search: what every GET list takes (CONTRACT §1)."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))

    @validates_schema
    def _ranges_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        """`x_min` above `x_max` is a mistake, not an empty result."""
        for name, low in data.items():
            if name.endswith("_min") and low is not None:
                high = data.get(name[:-4] + "_max")
                if high is not None and low > high:
                    raise ValidationError(f"Must not be greater than {name[:-4]}_max.", field_name=name)


def ordering_field(*names: str) -> fields.String:
    choices = [prefix + name for name in names for prefix in ("", "-")]
    return fields.String(
        validate=validate.OneOf(choices),
        metadata={"description": "Sort by one of: " + ", ".join(names) + " (prefix - to reverse)"},
    )


def search_field(*names: str) -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Case-insensitive contains over " + ", ".join(names)},
    )


def filter_on(field: fields.Field, lookup: str) -> fields.Field:
    """Mark a query field as an ORM filter with the given lookup (e.g. `volume__gte`)."""
    field.metadata = {**field.metadata, "filter": lookup}
    return field


class NoContent(Schema):
    """204: no body."""


class ErrorSchema(Schema):
    success = fields.Boolean(dump_default=False)
    error = fields.String()
    code = fields.String()
    errors = fields.Raw()
    request_id = fields.String()


def error_responses(*statuses: int, **descriptions: str) -> dict[int, dict[str, Any]]:
    """OpenAPI `responses` for error statuses, all in the error envelope.

    `descriptions` are keyed `s402="…"`, since keyword names can't be numbers.
    """
    return {
        status: {
            "schema": ErrorSchema,
            **({"description": descriptions[f"s{status}"]} if f"s{status}" in descriptions else {}),
        }
        for status in statuses
    }


def envelope(data_schema: Schema | type[Schema] | fields.Field, name: str) -> type[Schema]:
    """The success envelope around `data_schema`, for the OpenAPI document."""
    data = data_schema if isinstance(data_schema, fields.Field) else fields.Nested(data_schema)
    return Schema.from_dict(
        {
            "success": fields.Boolean(),
            "data": data,
            "message": fields.String(),
            "request_id": fields.String(),
        },
        name=name,
    )


def page_envelope(item_schema: Schema | type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "success": fields.Boolean(),
            "count": fields.Integer(),
            "next": fields.String(allow_none=True),
            "previous": fields.String(allow_none=True),
            "results": fields.List(fields.Nested(item_schema)),
            "request_id": fields.String(),
        },
        name=name,
    )
