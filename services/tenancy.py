"""Accounts, users, sites and sectors: the rules of tenancy, roles and plan limits."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from config.settings import Settings
from models.accounts import Account, Site, SiteSector, User
from models.base import scoped
from models.db import locked_ids, save_changes
from models.jobs import Job
from models.reference import Industry, IndustrySector
from services import principal_cache
from services.auth import normalise_email
from services.errors import Conflict, Duplicate, NotFound, PermissionDenied, PlanLimit, ValidationFailed
from services.events import EventBus
from services.jobs import UNFINISHED
from services.media import delete_images, remove
from services.principal import ROLE_RANK, Principal
from services.security import check_password_rules, hash_password
from services.slugs import create_with_unique_slug

SITE_SLUG_LENGTH = 60
HOST_RE = re.compile(r"^(?=.{1,253}$)(localhost|([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$")


def clean_domain(value: str) -> str:
    """Accept a host or a URL; keep the host, lower-cased."""
    raw = value.strip()
    try:
        host = urlsplit(raw if "://" in raw else "//" + raw).hostname or ""
    except ValueError:  # e.g. an unclosed "[": not a URL the standard library can take apart
        host = ""
    if not HOST_RE.match(host):
        raise ValidationFailed(
            "Enter a domain such as example.com or a URL.", errors={"domain": ["Not a valid domain or URL."]}
        )
    return host


async def site_or_400(caller: Principal, site_id: int) -> Site:
    """A site the caller may use in a body; another account's id is 'not found' (400)."""
    query = Site.filter(id=site_id, account_id=caller.account_id)
    if caller.site_id is not None:
        query = query.filter(id=caller.site_id)
    site = await query.first()
    if site is None:
        raise ValidationFailed("Site not found.", errors={"site_id": ["Site not found."]})
    return site


# --- the caller's rows ---------------------------------------------------------------------------


async def row_or_404(query: QuerySet[Any], row_id: int, what: str) -> Any:
    """The row `row_id` of `query`, or 404 "<What> not found." (another tenant's id is only 'not found')."""
    row = await query.get_or_none(id=row_id)
    if row is None:
        raise not_found(what)
    return row


def not_found(what: str) -> NotFound:
    """The 404 of a row the caller has no access to: "<What> not found."."""
    return NotFound(f"{what[:1].upper()}{what[1:]} not found.")


async def get_owned(model: type[Model], caller: Principal, row_id: int, what: str, *, site_owned: bool = True) -> Any:
    """The caller's row `row_id` of `model`, or 404."""
    return await row_or_404(scoped(model, caller, site_owned=site_owned), row_id, what)


async def split_owned(model: type[Model], caller: Principal, ids: list[int]) -> tuple[list[Any], list[int]]:
    """The caller's rows among `ids` (in the given order, each once) and the ids not found."""
    wanted = list(dict.fromkeys(ids))
    rows = {row.id: row for row in await scoped(model, caller).filter(id__in=wanted)}
    return [rows[i] for i in wanted if i in rows], [i for i in wanted if i not in rows]


async def owned_many(model: type[Model], caller: Principal, ids: list[int], what: str) -> tuple[list[Any], list[int]]:
    """`split_owned`, but 404 when none of the ids is the caller's."""
    rows, missing = await split_owned(model, caller, ids)
    if not rows:
        raise NotFound(f"No {what} found with these ids.")
    return rows, missing


# --- users -----------------------------------------------------------------------------------


def _check_grant(caller: Principal, role: str) -> None:
    if ROLE_RANK[role] > ROLE_RANK[caller.role]:
        raise PermissionDenied(f"A {caller.role} can't grant the {role} role.")


async def _owners_left(account_id: int, excluding: int) -> int:
    return await User.filter(account_id=account_id, role="owner", is_active=True).exclude(id=excluding).count()


@contextlib.asynccontextmanager
async def _account_room(account_id: int) -> AsyncIterator[None]:
    """A transaction holding the account's row locked (PostgreSQL; SQLite runs one transaction at
    a time): the account's sites or users, counted against the plan inside it, stay that many
    until the new one is in. Without it, requests made at once each counted room for theirs."""
    async with in_transaction():
        await locked_ids(Account, [account_id])
        yield


async def create_user(settings: Settings, caller: Principal, data: dict[str, Any]) -> User:
    _check_grant(caller, data["role"])
    email = normalise_email(data["email"])
    check_password_rules(data["password"], email)
    password_hash = await hash_password(data["password"])  # slow on purpose: not inside the lock
    async with _account_room(caller.account_id):
        if await User.filter(account_id=caller.account_id).count() >= settings.plan.users:
            raise PlanLimit(f"The plan allows {settings.plan.users} users.", code="plan_limit")
        if await User.filter(email=email).exists():
            raise Duplicate("A user with this email already exists.", errors={"email": ["Already registered."]})
        try:
            async with in_transaction():  # a savepoint: the email taken meanwhile is a 409, not an aborted lock
                return await User.create(
                    account_id=caller.account_id,
                    email=email,
                    password_hash=password_hash,
                    first_name=data.get("first_name", ""),
                    last_name=data.get("last_name", ""),
                    role=data["role"],
                )
        except IntegrityError:
            raise Duplicate("A user with this email already exists.") from None


USER_FIELDS = ("first_name", "last_name", "role", "is_active")  # what an administrator may change


async def update_user(events: EventBus, caller: Principal, user: User, data: dict[str, Any]) -> User:
    if ROLE_RANK[user.role] > ROLE_RANK[caller.role]:
        raise PermissionDenied(f"A {caller.role} can't change a {user.role}.")
    role = data.get("role", user.role)
    if role != user.role:
        _check_grant(caller, role)
    losing_owner = user.role == "owner" and (role != "owner" or data.get("is_active") is False)
    # In the account's room: two owners demoting each other at once each counted the other.
    async with _account_room(user.account_id):
        if losing_owner and await _owners_left(user.account_id, user.id) == 0:
            raise Conflict("The last owner can't be demoted or deactivated.")
        await save_changes(user, {name: data[name] for name in USER_FIELDS if name in data})
    if data.get("is_active") is False:
        from services.auth import revoke_everything

        await revoke_everything(user.id)
    # Its role or its being active may have changed: cached principals of it go now.
    await principal_cache.announce(events, user_id=user.id)
    return user


async def delete_user(events: EventBus, caller: Principal, user: User) -> None:
    if ROLE_RANK[user.role] > ROLE_RANK[caller.role]:
        raise PermissionDenied(f"A {caller.role} can't delete a {user.role}.")
    # In the account's room: two owners deleting each other at once each counted the other.
    async with _account_room(user.account_id):
        if user.role == "owner" and await _owners_left(user.account_id, user.id) == 0:
            raise Conflict("The last owner can't be deleted.")
        await user.delete()
    await principal_cache.announce(events, user_id=user.id)


# --- sites and sectors --------------------------------------------------------------------------


async def _industry_or_400(industry_id: int | None) -> None:
    if industry_id is not None and not await Industry.exists(id=industry_id):
        raise ValidationFailed("Industry not found.", errors={"industry_id": ["Industry not found."]})


async def create_site(settings: Settings, caller: Principal, data: dict[str, Any]) -> Site:
    domain = clean_domain(data["domain"])
    await _industry_or_400(data.get("industry_id"))
    async with _account_room(caller.account_id):
        if await Site.filter(account_id=caller.account_id).count() >= settings.plan.sites:
            raise PlanLimit(f"The plan allows {settings.plan.sites} sites.")
        # Site slugs name a site in public URLs (publisher/site-definition/?site=), so they are unique across accounts.
        return await create_with_unique_slug(
            Site,
            data["name"],
            Site.all(),
            max_length=SITE_SLUG_LENGTH,
            fallback="site",
            account_id=caller.account_id,
            name=data["name"],
            domain=domain,
            industry_id=data.get("industry_id"),
            is_active=data.get("is_active", True),
        )


async def update_site(site: Site, data: dict[str, Any]) -> Site:
    if "domain" in data:
        data["domain"] = clean_domain(data["domain"])
    if "industry_id" in data:
        await _industry_or_400(data["industry_id"])
    return await save_changes(site, data)


async def delete_site(settings: Settings, site: Site) -> None:
    """Delete the site and everything of it; 409 while a job of the site is unfinished (queued,
    running or paused). Its rows go with the site, so the credits it holds reserved would never be
    settled or refunded, and the item in flight would have nowhere to go: cancel it (or let it
    end) first. The site's row is locked first, so a job made meanwhile is seen or refused. Its
    images' files are removed too."""
    async with in_transaction():
        await locked_ids(Site, [site.id])
        busy = (
            await Job.filter(site_id=site.id, status__in=UNFINISHED)
            .order_by("id")
            .first()
            .values("id", "kind", "status")
        )
        if busy is not None:
            raise Conflict(
                f"Job {busy['id']} ({busy['kind']}) of this site is {busy['status']}: cancel it "
                f"(POST /api/v1/jobs/{busy['id']}/cancel/) or let it end before deleting the site; "
                "its reserved credits are settled when it ends."
            )
        files = await delete_images(settings, "site_id", site.id)
        await site.delete()
    remove(files)


async def create_sector(caller: Principal, data: dict[str, Any]) -> SiteSector:
    site = await site_or_400(caller, data["site_id"])
    name = data.get("name")
    industry_sector_id = data.get("industry_sector_id")
    if industry_sector_id is not None:
        industry_sector = await IndustrySector.get_or_none(id=industry_sector_id)
        if industry_sector is None:
            raise ValidationFailed(
                "Industry sector not found.", errors={"industry_sector_id": ["Industry sector not found."]}
            )
        name = name or industry_sector.name
    if not name:
        raise ValidationFailed(
            "Give a name or an industry_sector_id.", errors={"name": ["Required without industry_sector_id."]}
        )
    if await SiteSector.filter(site_id=site.id, name=name).exists():
        raise Duplicate("The site already has a sector with this name.")
    try:
        return await SiteSector.create(
            account_id=caller.account_id, site=site, industry_sector_id=industry_sector_id, name=name
        )
    except IntegrityError:  # made by a request at the same time, after the check
        raise Duplicate("The site already has a sector with this name.") from None


async def update_sector(sector: SiteSector, data: dict[str, Any]) -> SiteSector:
    if data.get("industry_sector_id") is not None and not await IndustrySector.exists(id=data["industry_sector_id"]):
        raise ValidationFailed(
            "Industry sector not found.", errors={"industry_sector_id": ["Industry sector not found."]}
        )
    if (
        "name" in data
        and await SiteSector.filter(site_id=sector.site_id, name=data["name"]).exclude(id=sector.id).exists()
    ):
        raise Duplicate("The site already has a sector with this name.")
    try:
        await save_changes(sector, data)
    except IntegrityError:  # the name given to another sector at the same time, after the check
        if "name" in data and await SiteSector.filter(site_id=sector.site_id, name=data["name"]).exists():
            raise Duplicate("The site already has a sector with this name.") from None
        raise
    return sector
