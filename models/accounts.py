"""Accounts (tenants), users, credentials and sites."""

from typing import TYPE_CHECKING

from tortoise import fields

from models.base import AccountOwned, TimestampedModel

if TYPE_CHECKING:
    from models.integration import Integration
    from models.reference import Industry, IndustrySector

ROLES = ("owner", "admin", "editor", "viewer")


class Account(TimestampedModel):
    name = fields.CharField(max_length=200)
    plan = fields.CharField(max_length=32, default="free")
    # The balance; always equal to the sum of the account's credit transactions.
    credits = fields.BigIntField(default=0)
    period_start = fields.DatetimeField(null=True)

    class Meta:
        table = "account"


class User(AccountOwned):
    email = fields.CharField(max_length=254, unique=True)  # stored lower-cased
    password_hash = fields.CharField(max_length=255)
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100, default="")
    role = fields.CharField(max_length=16, default="owner")
    is_active = fields.BooleanField(default=True)
    last_login = fields.DatetimeField(null=True)

    class Meta:
        table = "user"
        indexes = (("account_id", "role"),)


class RefreshToken(TimestampedModel):
    """One refresh token of a rotation family; only its hash is kept."""

    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", on_delete=fields.CASCADE, related_name=False
    )
    user_id: int
    family = fields.CharField(max_length=64, db_index=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_token"
        indexes = (("user_id",),)  # a user's tokens, revoked together (password change, removal)


class DeniedToken(TimestampedModel):
    """An access token `jti` refused until it would have expired anyway (logout)."""

    jti = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "denied_token"


class WebSession(TimestampedModel):
    """A browser session behind the `session` cookie."""

    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", on_delete=fields.CASCADE, related_name=False
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "web_session"
        indexes = (("user_id",),)  # a user's sessions, revoked together


class PasswordResetToken(TimestampedModel):
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", on_delete=fields.CASCADE, related_name=False
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "password_reset_token"


class ApiKey(AccountOwned):
    """A site-scoped key for the WordPress plugin; shown once, kept as a hash."""

    site: fields.ForeignKeyRelation["Site"] = fields.ForeignKeyField(
        "models.Site", on_delete=fields.CASCADE, related_name=False
    )
    site_id: int
    integration: fields.ForeignKeyNullableRelation["Integration"] = fields.ForeignKeyField(
        "models.Integration", on_delete=fields.CASCADE, related_name=False, null=True
    )
    integration_id: int | None
    prefix = fields.CharField(max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"


class Site(AccountOwned):
    name = fields.CharField(max_length=200)
    domain = fields.CharField(max_length=253)
    industry: fields.ForeignKeyNullableRelation["Industry"] = fields.ForeignKeyField(
        "models.Industry", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    industry_id: int | None
    is_active = fields.BooleanField(default=True)
    slug = fields.CharField(max_length=80, unique=True)
    # The WordPress (an integration's base_url) whose post and term ids the site's content
    # carries: kept by services/integration.py, so that an integration for another WordPress can't
    # pour its posts into rows linked by id to the first one's.
    wordpress_url = fields.CharField(max_length=2000, null=True)
    # When the site began following that WordPress: syncs of an earlier one don't make the next
    # sync incremental (null: the site never changed WordPress).
    wordpress_since = fields.DatetimeField(null=True)

    class Meta:
        table = "site"


class SiteSector(AccountOwned):
    site: fields.ForeignKeyRelation["Site"] = fields.ForeignKeyField(
        "models.Site", on_delete=fields.CASCADE, related_name=False
    )
    site_id: int
    industry_sector: fields.ForeignKeyNullableRelation["IndustrySector"] = fields.ForeignKeyField(
        "models.IndustrySector", on_delete=fields.SET_NULL, null=True, related_name=False
    )
    industry_sector_id: int | None
    name = fields.CharField(max_length=200)

    class Meta:
        table = "site_sector"
        unique_together = (("site_id", "name"),)
