"""Schema building blocks shared by every API group: strict bases, list queries, envelopes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

MAX_PAGE_SIZE = 500
MAX_BULK_IDS = 1000


class StrictSchema(Schema):
    """Unknown fields are an error, so a typo never passes silently."""

    class Meta:
        unknown = RAISE


# Column ranges: PostgreSQL rejects an integer outside its column's type (SQLite stores up to
# 64 bits), so every integer a request carries is bounded by the column it reaches.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


# What `Text` refuses, as the document says it (unpaired surrogates can't be sent in UTF-8 JSON).
NO_NUL = r"^[^\x00]*$"


class Text(fields.String):
    """A string both databases can store: no NUL character (PostgreSQL text can't hold one) and
    no unpaired surrogate (not encodable as UTF-8). Every string a request carries is one."""

    def __init__(self, **kwargs: Any) -> None:
        given = kwargs.get("validate")
        validators = given if isinstance(given, list | tuple) else [given]
        if not any(isinstance(v, validate.Regexp) for v in validators):  # a Regexp gives its own pattern
            kwargs["metadata"] = {"pattern": NO_NUL, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    default_error_messages = {"unstorable": "Must not contain NUL characters or unpaired surrogates."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("unstorable")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise self.make_error("unstorable") from None
        return text


class Email(Text, fields.Email):
    """An email address (syntax checked by marshmallow) that is storable `Text`; the document
    gives a pattern within what marshmallow accepts (`format: email` alone allows more)."""

    def __init__(self, **kwargs: Any) -> None:
        pattern = r"^[A-Za-z0-9+_-]{1,30}(\.[A-Za-z0-9+_-]{1,30}){0,3}@([A-Za-z0-9]+\.)+[A-Za-z]{2,24}(?!\n)$"
        kwargs["metadata"] = {"pattern": pattern, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)


class Url(Text, fields.Url):
    """A URL (syntax checked by marshmallow) that is storable `Text`. The document gives a
    pattern within what marshmallow accepts, so a client (or fuzzer) knows what to send."""

    def __init__(self, *, require_tld: bool = True, **kwargs: Any) -> None:
        label = r"[A-Za-z][A-Za-z0-9]*"
        host = rf"({label}\.){'+' if require_tld else '*'}[A-Za-z]{{2,24}}"
        pattern = rf"^https?://{host}(:[1-9][0-9]{{0,3}})?(/[A-Za-z0-9._~-]*)*(?!\n)$"
        kwargs["metadata"] = {"pattern": pattern, **kwargs.get("metadata", {})}
        super().__init__(require_tld=require_tld, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        url = super()._deserialize(value, attr, data, **kwargs)
        # marshmallow's pattern takes any digits for a port and any bracketed host: the URL must
        # also be one the standard library (and so every client here) can take apart.
        try:
            port = urlsplit(url).port
        except ValueError:
            raise self.make_error("invalid") from None
        if port == 0:
            raise self.make_error("invalid")
        return url


class Bool(fields.Boolean):
    """JSON `true`/`false` only: `1`, `0` or `"yes"` is a mistake, not a switch. Every boolean a
    request body carries is one, so the server accepts exactly what the document's `boolean` says."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class QueryBool(Bool):
    """A boolean in a query string: `true` or `false`, as OpenAPI clients serialise one."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value not in ("true", "false"):
            raise self.make_error("invalid")
        return value == "true"


class Int(fields.Integer):
    """An integer within `minimum`..`maximum` (by default a PostgreSQL `integer` column's range;
    pass `maximum=INT64_MAX` for a `bigint`). Every integer a request carries is one, so a value
    the column can't hold is a 400 naming the field, and the bounds are in the OpenAPI document."""

    def __init__(self, *, minimum: int = -INT32_MAX - 1, maximum: int = INT32_MAX, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(min=minimum, max=maximum), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        # marshmallow would truncate 2.5 to 2; an integer field takes whole numbers only.
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def password_field(**kwargs: Any) -> Text:
    """A password `services.security.check_password_rules` accepts, as far as one field can say:
    8–128 characters, not all digits. (Not equal to the email: a cross-field rule.)"""
    return Text(
        validate=[
            validate.Length(min=8, max=128),
            validate.Regexp(r"[\s\S]*\D", error="Must not be all digits."),
        ],
        metadata={"pattern": r"^(?=[\s\S]*\D)[^\x00]*$"},
        **kwargs,
    )


def trimmed(max_length: int, *, required: bool = False, min_length: int = 0, **kw: Any) -> Text:
    return Text(required=required, validate=validate.Length(min=min_length, max=max_length), **kw)


class Id(Int):
    """A positive object id (ids are `integer` columns)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strict", True)
        super().__init__(minimum=1, **kwargs)


class QueryId(Int):
    """A positive id in a query string (strings are parsed)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(minimum=1, **kwargs)


class PathId(StrictSchema):
    """The `{id}` of a detail route (see `server.crud.path_id`)."""

    id = Id(required=True, strict=False)


def id_list(max_items: int = MAX_BULK_IDS, **kwargs: Any) -> fields.List:
    return fields.List(
        Id(),
        required=True,
        validate=validate.Length(min=1, max=max_items),
        **kwargs,
    )


def keyword_list(**kwargs: Any) -> fields.List:
    """Up to 50 keywords, each 1–255 characters."""
    return fields.List(Text(validate=validate.Length(min=1, max=255)), validate=validate.Length(max=50), **kwargs)


class ListQuery(StrictSchema):
    """Pagination, ordering and search: what every GET list takes (CONTRACT §1)."""

    page = Int(load_default=1, minimum=1, maximum=1_000_000)
    page_size = Int(load_default=25, minimum=1, maximum=MAX_PAGE_SIZE)

    @validates_schema
    def _ranges_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        """`x_min` above `x_max` is a mistake, not an empty result."""
        for name, low in data.items():
            if name.endswith("_min") and low is not None:
                high = data.get(name[:-4] + "_max")
                if high is not None and low > high:
                    raise ValidationError(f"Must not be greater than {name[:-4]}_max.", field_name=name)


def ordering_field(*names: str) -> Text:
    choices = [prefix + name for name in names for prefix in ("", "-")]
    return Text(
        validate=validate.OneOf(choices),
        metadata={"description": "Sort by one of: " + ", ".join(names) + " (prefix - to reverse)"},
    )


def search_field(*names: str) -> Text:
    return Text(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Case-insensitive contains over " + ", ".join(names)},
    )


def filter_on(field: fields.Field, lookup: str) -> fields.Field:
    """Mark a query field as an ORM filter with the given lookup (e.g. `volume__gte`)."""
    field.metadata = {**field.metadata, "filter": lookup}
    return field


class IndexOut(Schema):
    name = fields.String()
    version = fields.String()
    links = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "app (the operations page), docs (Swagger UI), redoc, openapi (this document), health"
        },
    )


def optional(field: fields.Field) -> fields.Field:
    """Mark a response field that is left out when it has nothing to say (the response check
    in tests/helpers.py requires every other declared field)."""
    field.metadata = {**field.metadata, "optional": True}
    return field


class NoContent(Schema):
    """204: no body."""


class ErrorSchema(Schema):
    success = fields.Boolean(dump_default=False)
    error = fields.String()
    code = fields.String()
    errors = optional(fields.Raw(metadata={"description": "Per-field messages, when there are any"}))
    required = optional(fields.Integer(metadata={"description": "402: the credits the operation needs"}))
    available = optional(fields.Integer(metadata={"description": "402: the account's balance"}))
    request_id = fields.String()


def error_responses(
    *statuses: int, schema: type[ErrorSchema] = ErrorSchema, **descriptions: str
) -> dict[int, dict[str, Any]]:
    """OpenAPI `responses` for error statuses, all in the error envelope (or an extension of it).

    `descriptions` are keyed `s402="…"`, since keyword names can't be numbers.
    """
    return {
        status: {
            "schema": schema,
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
            "message": optional(fields.String()),
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
