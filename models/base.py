"""Shared model pieces: timestamps and the account/site ownership every tenant row carries."""

from typing import TYPE_CHECKING, Any, Protocol

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

if TYPE_CHECKING:
    from models.accounts import Account, Site


class TimestampedModel(Model):
    id = fields.IntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


class AccountOwned(TimestampedModel):
    """A row of one tenant. Every query of the API filters on `account_id` first."""

    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", on_delete=fields.CASCADE, related_name=False
    )
    account_id: int

    class Meta:
        abstract = True


class SiteOwned(AccountOwned):
    """A row of one site; `account_id` is copied from the site so tenancy needs no join."""

    site: fields.ForeignKeyRelation["Site"] = fields.ForeignKeyField(
        "models.Site", on_delete=fields.CASCADE, related_name=False
    )
    site_id: int

    class Meta:
        abstract = True


class Tenant(Protocol):
    """Whose rows a query may see: an account, and for a site-scoped caller (API key) one site."""

    @property
    def account_id(self) -> int: ...

    @property
    def site_id(self) -> int | None: ...


def scope_of(caller: Tenant, *, site_owned: bool = True) -> dict[str, int]:
    """The column filters that make a query the caller's: `scoped` and the list fast path."""
    conditions = {"account_id": caller.account_id}
    if site_owned and caller.site_id is not None:
        conditions["site_id"] = caller.site_id
    return conditions


def scoped(model: type[Model], caller: Tenant, *, site_owned: bool = True) -> QuerySet[Any]:
    """The caller's rows of `model`: their account's, and only their site's for an API key."""
    return model.filter(**scope_of(caller, site_owned=site_owned))
