"""Schemas of /api/v1/auth/: credentials, users, account, sites, sectors, reference data."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from models.accounts import ROLES
from models.planner import KEYWORD_INTENTS
from schemas.common import (
    Bool,
    Email,
    Id,
    Int,
    ListQuery,
    QueryBool,
    QueryId,
    StrictSchema,
    Text,
    filter_on,
    ordering_field,
    password_field,
    search_field,
    trimmed,
)


class RegisterIn(StrictSchema):
    email = Email(required=True, validate=validate.Length(max=254))
    password = password_field(required=True)
    first_name = trimmed(100, load_default="")
    last_name = trimmed(100, load_default="")
    account_name = trimmed(200, min_length=1)


class LoginIn(StrictSchema):
    email = Text(required=True, validate=validate.Length(min=1, max=254))
    password = Text(required=True, validate=validate.Length(min=1, max=128))
    session = Bool(load_default=False)


class RefreshIn(StrictSchema):
    refresh = Text(required=True, validate=validate.Length(min=1, max=200))


class LogoutIn(StrictSchema):
    refresh = Text(validate=validate.Length(min=1, max=200))


class PasswordChangeIn(StrictSchema):
    old_password = Text(required=True, validate=validate.Length(min=1, max=128))
    new_password = password_field(required=True)


class PasswordResetIn(StrictSchema):
    email = Text(required=True, validate=validate.Length(min=1, max=254))


class PasswordResetConfirmIn(StrictSchema):
    token = Text(required=True, validate=validate.Length(min=1, max=200))
    new_password = password_field(required=True)


class UserOut(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    role = fields.String()
    is_active = fields.Boolean()
    last_login = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class AccountOut(Schema):
    id = fields.Integer()
    name = fields.String()
    plan = fields.String()
    credits = fields.Integer()
    created_at = fields.DateTime()


class AccountUpdateIn(StrictSchema):
    name = trimmed(200, required=True, min_length=1)


class TokenPairOut(Schema):
    access = fields.String()
    refresh = fields.String()
    access_expires_at = fields.DateTime()
    refresh_expires_at = fields.DateTime()


class LoginOut(TokenPairOut):
    user = fields.Nested(UserOut)


class RegisterOut(LoginOut):
    account = fields.Nested(AccountOut)


class MessageOut(Schema):
    detail = fields.String()


class RoleOut(Schema):
    name = fields.String()
    rank = fields.Integer()
    permissions = fields.List(fields.String())


class UserCreateIn(StrictSchema):
    email = Email(required=True, validate=validate.Length(max=254))
    password = password_field(required=True)
    first_name = trimmed(100, load_default="")
    last_name = trimmed(100, load_default="")
    role = Text(required=True, validate=validate.OneOf(ROLES))


class UserUpdateIn(StrictSchema):
    first_name = trimmed(100)
    last_name = trimmed(100)
    role = Text(validate=validate.OneOf(ROLES))
    is_active = Bool()


class UserQuery(ListQuery):
    role = Text(validate=validate.OneOf(ROLES))
    is_active = QueryBool()
    search = search_field("email", "first_name", "last_name")
    ordering = ordering_field("email", "created_at", "role")


class SiteOut(Schema):
    id = fields.Integer()
    name = fields.String()
    domain = fields.String()
    industry_id = fields.Integer(allow_none=True)
    is_active = fields.Boolean()
    slug = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class SiteIn(StrictSchema):
    name = trimmed(200, required=True, min_length=1)
    domain = trimmed(2000, required=True, min_length=1)
    industry_id = Id(allow_none=True)
    is_active = Bool(load_default=True)


class SiteUpdateIn(StrictSchema):
    name = trimmed(200, min_length=1)
    domain = trimmed(2000, min_length=1)
    industry_id = Id(allow_none=True)
    is_active = Bool()


class SiteQuery(ListQuery):
    is_active = QueryBool()
    industry_id = QueryId()
    search = search_field("name", "domain")
    ordering = ordering_field("name", "created_at")


class SectorOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    industry_sector_id = fields.Integer(allow_none=True)
    name = fields.String()
    created_at = fields.DateTime()


class SectorIn(StrictSchema):
    site_id = Id(required=True)
    industry_sector_id = Id(allow_none=True)
    name = trimmed(200, min_length=1)


class SectorUpdateIn(StrictSchema):
    name = trimmed(200, min_length=1)
    industry_sector_id = Id(allow_none=True)


class SectorQuery(ListQuery):
    site_id = QueryId()
    search = search_field("name")
    ordering = ordering_field("name", "created_at")


class IndustrySectorOut(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()


class IndustryOut(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()
    sectors = fields.List(fields.Nested(IndustrySectorOut))


class IndustryQuery(ListQuery):
    search = search_field("name")
    ordering = ordering_field("name")


class SeedKeywordOut(Schema):
    id = fields.Integer()
    industry_id = fields.Integer()
    sector_id = fields.Integer()
    keyword = fields.String()
    volume = fields.Integer()
    difficulty = fields.Integer()
    intent = fields.String()


class SeedKeywordQuery(ListQuery):
    industry_id = QueryId()
    sector_id = QueryId()
    intent = Text(validate=validate.OneOf(KEYWORD_INTENTS))
    volume_min = filter_on(Int(minimum=0), "volume__gte")
    volume_max = filter_on(Int(minimum=0), "volume__lte")
    difficulty_min = filter_on(Int(minimum=0, maximum=100), "difficulty__gte")
    difficulty_max = filter_on(Int(minimum=0, maximum=100), "difficulty__lte")
    search = search_field("keyword")
    ordering = ordering_field("keyword", "volume", "difficulty")
