"""Authentication flows: credentials → principal, token pairs, rotation, logout, resets."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from config.settings import Settings
from models.accounts import (
    Account,
    ApiKey,
    DeniedToken,
    PasswordResetToken,
    RefreshToken,
    User,
    WebSession,
)
from models.db import raw_query
from services import ledger, principal_cache
from services.errors import Duplicate, InvalidCredentials, InvalidToken
from services.events import EventBus
from services.modules import modules_from
from services.principal import Principal
from services.security import (
    AccessClaims,
    Crypto,
    check_password_rules,
    hash_password,
    new_token,
    token_hash,
    utcnow,
    verify_password,
)

API_KEY_PREFIX = "ink_"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "access": self.access,
            "refresh": self.refresh,
            "access_expires_at": self.access_expires_at,
            "refresh_expires_at": self.refresh_expires_at,
        }


# --- resolving credentials -------------------------------------------------------------------


# Every Bearer request needs the user, the logout deny-list and the module switches: one
# round trip instead of three (this runs on nearly every request).
BEARER_SQL = """
SELECT u.role,
       EXISTS (SELECT 1 FROM denied_token d WHERE d.jti = {0}) AS denied,
       (SELECT s.value FROM account_setting s WHERE s.account_id = u.account_id AND s.key = 'modules') AS modules
FROM "user" u
WHERE u.id = {1} AND u.account_id = {2} AND u.is_active
"""


async def principal_from_bearer(claims: AccessClaims) -> Principal:
    rows = await raw_query(BEARER_SQL, [claims.jti, claims.user_id, claims.account_id])
    if not rows or rows[0]["denied"]:
        raise InvalidToken()
    stored = rows[0]["modules"]
    if isinstance(stored, str):
        stored = json.loads(stored)
    return Principal(
        kind="user",
        account_id=claims.account_id,
        role=rows[0]["role"],
        user_id=claims.user_id,
        jti=claims.jti,
        access_expires_at=claims.expires_at,
        modules=modules_from(stored or {}),
    )


async def principal_from_api_key(key: str) -> Principal:
    api_key = await ApiKey.get_or_none(key_hash=token_hash(key), revoked_at=None)
    if api_key is None:
        raise InvalidToken("The API key is invalid or has been revoked.")
    await ApiKey.filter(id=api_key.id).update(last_used_at=utcnow())
    return Principal(
        kind="apikey",
        account_id=api_key.account_id,
        role="editor",
        site_id=api_key.site_id,
        api_key_id=api_key.id,
    )


async def principal_from_session(token: str) -> Principal | None:
    session = await WebSession.get_or_none(
        token_hash=token_hash(token), revoked_at=None, expires_at__gt=utcnow()
    ).select_related("user")
    if session is None or not session.user.is_active:
        return None
    return Principal(
        kind="session",
        account_id=session.user.account_id,
        role=session.user.role,
        user_id=session.user.id,
        session_id=session.id,
    )


# --- issuing and rotating -------------------------------------------------------------------


async def issue_pair(crypto: Crypto, settings: Settings, user: User, family: str | None = None) -> TokenPair:
    access, access_expires = crypto.issue_access(user.id, user.account_id)
    refresh = new_token("rt_")
    refresh_expires = utcnow() + timedelta(seconds=settings.refresh_ttl)
    await RefreshToken.create(
        user=user,
        family=family or uuid.uuid4().hex,
        token_hash=token_hash(refresh),
        expires_at=refresh_expires,
    )
    return TokenPair(access, refresh, access_expires, refresh_expires)


async def rotate_refresh(crypto: Crypto, settings: Settings, refresh: str) -> TokenPair:
    """Swap a refresh token for a new pair; a reused one revokes its whole family."""
    now = utcnow()
    reused = False
    async with in_transaction():
        row = await RefreshToken.filter(token_hash=token_hash(refresh)).select_for_update().first()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise InvalidToken("The refresh token is invalid, expired or revoked.")
        # The conditional update claims the token; zero rows means it was used before
        # (or by a concurrent request, which SQLite can't lock out): that is reuse.
        reused = await RefreshToken.filter(id=row.id, used_at=None).update(used_at=now) != 1
        if reused:
            await RefreshToken.filter(family=row.family, revoked_at=None).update(revoked_at=now)
    if reused:  # raised after the commit, so the family stays revoked
        raise InvalidToken("The refresh token was already used; every session of it is revoked.")
    user = await User.get_or_none(id=row.user_id, is_active=True)
    if user is None:
        raise InvalidToken()
    return await issue_pair(crypto, settings, user, family=row.family)


async def deny_access_token(events: EventBus, caller: Principal) -> None:
    if caller.jti and caller.access_expires_at:
        await DeniedToken.get_or_create(jti=caller.jti, defaults={"expires_at": caller.access_expires_at})
        await DeniedToken.filter(expires_at__lt=utcnow()).delete()
        await principal_cache.announce(events, jti=caller.jti)


async def revoke_refresh(user_id: int, refresh: str) -> bool:
    """Revoke the family of the given refresh token if it is the user's."""
    row = await RefreshToken.get_or_none(token_hash=token_hash(refresh), user_id=user_id)
    if row is None:
        return False
    await RefreshToken.filter(family=row.family, revoked_at=None).update(revoked_at=utcnow())
    return True


async def revoke_everything(user_id: int) -> None:
    now = utcnow()
    await RefreshToken.filter(user_id=user_id, revoked_at=None).update(revoked_at=now)
    await WebSession.filter(user_id=user_id, revoked_at=None).update(revoked_at=now)


# --- accounts and passwords ----------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def register(
    settings: Settings,
    *,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    account_name: str | None = None,
) -> tuple[User, Account]:
    email = normalise_email(email)
    check_password_rules(password, email)
    if await User.filter(email=email).exists():
        raise Duplicate("A user with this email already exists.", errors={"email": ["Already registered."]})
    password_hash = await hash_password(password)
    try:
        async with in_transaction():
            account = await Account.create(
                name=account_name or f"{first_name or email.split('@')[0]}'s account",
                plan="free",
                period_start=utcnow(),
            )
            user = await User.create(
                account=account,
                email=email,
                password_hash=password_hash,
                first_name=first_name,
                last_name=last_name,
                role="owner",
            )
            await ledger.grant(account.id, settings.signup_credits, kind="grant", description="Signup credits")
    except IntegrityError:  # the same email registered by a request at the same time, after the check
        raise Duplicate("A user with this email already exists.", errors={"email": ["Already registered."]}) from None
    await account.refresh_from_db()
    return user, account


async def login(email: str, password: str) -> User:
    user = await User.get_or_none(email=normalise_email(email))
    # verify_password hashes against a dummy when there is no user: the same cost either way.
    valid = await verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        raise InvalidCredentials()
    user.last_login = utcnow()
    await user.save(update_fields=["last_login"])
    return user


async def change_password(events: EventBus, user_id: int, old_password: str, new_password: str) -> User:
    user = await User.get(id=user_id)
    if not await verify_password(user.password_hash, old_password):
        raise InvalidCredentials("The current password is wrong.", errors={"old_password": ["Wrong password."]})
    check_password_rules(new_password, user.email)
    user.password_hash = await hash_password(new_password)
    await user.save(update_fields=["password_hash", "updated_at"])
    await revoke_everything(user.id)
    await principal_cache.announce(events, user_id=user.id)
    return user


async def start_password_reset(email: str) -> str | None:
    """Store a single-use reset token for the user, if any; return it for the mail."""
    user = await User.get_or_none(email=normalise_email(email), is_active=True)
    if user is None:
        await hash_password("equalise-timing")  # the same work as when the user exists
        return None
    token = new_token()
    await PasswordResetToken.create(user=user, token_hash=token_hash(token), expires_at=utcnow() + timedelta(hours=1))
    return token


async def confirm_password_reset(events: EventBus, token: str, new_password: str) -> None:
    now = utcnow()
    row = await PasswordResetToken.get_or_none(
        token_hash=token_hash(token), used_at=None, expires_at__gt=now
    ).select_related("user")
    if row is None:
        raise InvalidToken("The reset token is invalid, used or expired.")
    check_password_rules(new_password, row.user.email)
    claimed = await PasswordResetToken.filter(id=row.id, used_at=None).update(used_at=now)
    if claimed != 1:
        raise InvalidToken("The reset token is invalid, used or expired.")
    row.user.password_hash = await hash_password(new_password)
    await row.user.save(update_fields=["password_hash", "updated_at"])
    await revoke_everything(row.user.id)
    await principal_cache.announce(events, user_id=row.user.id)


async def start_session(settings: Settings, user: User) -> tuple[str, str]:
    """Open a browser session; return (session token, CSRF token)."""
    token = new_token()
    await WebSession.create(
        user=user,
        token_hash=token_hash(token),
        expires_at=utcnow() + timedelta(seconds=settings.session_ttl),
    )
    return token, new_token()


async def end_session(session_id: int) -> None:
    await WebSession.filter(id=session_id).update(revoked_at=utcnow())


async def create_api_key(account_id: int, site_id: int, integration_id: int | None = None) -> str:
    """Make a site key; the plain key is returned once and only its hash is kept."""
    key = new_token(API_KEY_PREFIX)
    await ApiKey.create(
        account_id=account_id,
        site_id=site_id,
        integration_id=integration_id,
        prefix=key[:12],
        key_hash=token_hash(key),
    )
    return key
